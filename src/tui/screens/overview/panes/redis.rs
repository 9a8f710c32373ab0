//! Redis: memory against maxmemory, evictions, hit ratio and ops/s over
//! the window (opsdeck's own commands left out), connected clients.

use super::super::pane::{Data, Pane, Width};
use super::figure_rows;
use crate::tui::screens::{Cx, ScreenId};
use ratatui::layout::Rect;
use ratatui::Frame;

pub struct Redis;

const KEYS: &[&str] = &[
    "redis_memory",
    "redis_hit",
    "redis_ops",
    "redis_evictions",
    "redis_clients",
];

impl Pane for Redis {
    fn title(&self) -> &'static str {
        "Redis"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Cache)
    }

    fn width(&self) -> Width {
        Width::Half
    }

    fn shown(&self, cx: &Cx) -> bool {
        cx.context.has_redis
    }

    fn rows(&self, data: &Data) -> u16 {
        match data.overview.redis {
            Some(_) => KEYS.len() as u16,
            None => 1,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let problem = data
            .overview
            .redis_error
            .as_ref()
            .map(|e| format!("down: {e}"));
        figure_rows(frame, area, data, KEYS, problem.as_deref(), cx);
    }
}
