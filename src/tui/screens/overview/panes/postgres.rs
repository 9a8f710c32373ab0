//! Postgres: connections and sessions by state, TPS, cache hit, the
//! longest transaction, blocked sessions, replication lag, database size.

use super::super::pane::{Data, Pane, Width};
use super::figure_rows;
use crate::tui::screens::{Cx, ScreenId};
use ratatui::layout::Rect;
use ratatui::Frame;

pub struct Postgres;

/// Most telling first: a short body shows the head of the list.
const KEYS: &[&str] = &[
    "connections",
    "tps",
    "cache_hit",
    "longest_transaction",
    "blocked_sessions",
    "sessions",
    "replication_lag",
    "database_size",
];

impl Pane for Postgres {
    fn title(&self) -> &'static str {
        "Postgres"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Tenants)
    }

    fn width(&self) -> Width {
        Width::Half
    }

    fn shown(&self, cx: &Cx) -> bool {
        cx.context.has_pg
    }

    fn rows(&self, data: &Data) -> u16 {
        match data.overview.postgres {
            Some(_) => KEYS.len() as u16,
            None => 1,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let problem = data
            .overview
            .postgres_error
            .as_ref()
            .map(|e| format!("down: {e}"));
        figure_rows(frame, area, data, KEYS, problem.as_deref(), cx);
    }
}
