//! `:migrations`: what `opsdeck migrations status` reads, problems first
//! (stuck, dirty, in progress, mismatched, out of order), then each tool's
//! history, newest first, in the shared paged table.

use super::{Cx, LoadState, Screen, ScreenId, ScreenMsg};
use crate::health::overview::Level;
use crate::migrations::{self, ProblemKind, ToolStatus};
use crate::session::Session;
use crate::tui::cmd::{BoxFuture, Cmd};
use crate::tui::keymap::Global;
use crate::tui::msg::Msg as AppMsg;
use crate::tui::widgets::table::{
    self, Anchor, Column, Keyed, Page, PageRequest, PagedSource, PagedTable, TableRow,
};
use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use std::sync::Arc;

pub type Msg = table::Msg<MigrationRow>;

#[derive(Debug, Clone)]
pub struct MigrationRow {
    pub tool: &'static str,
    /// A problem's kind; `latest` or `applied` for the history.
    pub state: &'static str,
    pub migration: String,
    pub at: Option<DateTime<Utc>>,
    pub detail: String,
    pub level: Option<Level>,
}

impl TableRow for MigrationRow {
    fn cells(&self) -> Vec<String> {
        vec![
            self.state.to_string(),
            self.migration.clone(),
            self.tool.to_string(),
            self.at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default(),
            self.detail.clone(),
        ]
    }

    fn level(&self) -> Option<Level> {
        self.level
    }
}

fn level(kind: ProblemKind) -> Level {
    match kind {
        ProblemKind::Stuck | ProblemKind::Dirty | ProblemKind::Mismatched => Level::Error,
        ProblemKind::InProgress | ProblemKind::OutOfOrder => Level::Warn,
    }
}

/// Problems of every tool first, then each tool's history, newest first.
pub fn rows(statuses: &[ToolStatus]) -> Vec<MigrationRow> {
    let problems = statuses.iter().flat_map(|s| {
        s.problems.iter().map(move |p| MigrationRow {
            tool: s.tool.as_str(),
            state: p.kind.as_str(),
            migration: p.migration.clone(),
            at: p.since,
            detail: p.detail.clone(),
            level: Some(level(p.kind)),
        })
    });
    let history = statuses.iter().flat_map(|s| {
        s.history
            .iter()
            .rev()
            .enumerate()
            .map(move |(i, a)| MigrationRow {
                tool: s.tool.as_str(),
                state: if i == 0 { "latest" } else { "applied" },
                migration: a.name.clone(),
                at: a.at,
                detail: if i == 0 {
                    format!("{} applied; {}", s.applied_count, s.table)
                } else {
                    String::new()
                },
                level: None,
            })
    });
    problems.chain(history).collect()
}

/// The history is small and read whole; the row's index is its cursor.
pub struct MigrationsSource;

impl PagedSource for MigrationsSource {
    type Row = MigrationRow;

    fn fetch(
        &self,
        session: Arc<Session>,
        req: PageRequest,
    ) -> BoxFuture<crate::Result<Page<MigrationRow>>> {
        Box::pin(async move {
            let pg = session.pg().await?;
            let statuses = migrations::status(&pg, &session.ctx.migrations, None).await?;
            Ok(page(rows(&statuses), &req))
        })
    }
}

pub fn page(mut all: Vec<MigrationRow>, req: &PageRequest) -> Page<MigrationRow> {
    let needle = req.filter.to_lowercase();
    if !needle.is_empty() {
        all.retain(|r| {
            [r.tool, r.state, &r.migration, &r.detail]
                .iter()
                .any(|f| f.to_lowercase().contains(&needle))
        });
    }
    let total = all.len();
    let index = |c: &str| c.parse::<usize>().unwrap_or(0);
    let (from, to) = match &req.anchor {
        Anchor::First => (0, req.limit),
        Anchor::After(c) => (index(c) + 1, index(c) + 1 + req.limit),
        Anchor::Before(c) => (index(c).saturating_sub(req.limit), index(c)),
        Anchor::Last => (total.saturating_sub(req.limit), total),
    };
    let rows = all
        .into_iter()
        .enumerate()
        .skip(from)
        .take(to.min(total).saturating_sub(from))
        .map(|(i, row)| Keyed {
            cursor: i.to_string(),
            row,
        })
        .collect();
    Page {
        rows,
        total: Some(total as u64),
    }
}

pub struct MigrationsScreen {
    table: PagedTable<MigrationsSource>,
}

impl Default for MigrationsScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl MigrationsScreen {
    pub fn new() -> MigrationsScreen {
        let columns = vec![
            // As wide as "out_of_order"; the state and the migration say
            // the most, so they stay in a narrow terminal.
            Column::new("state", None, Constraint::Length(12)),
            Column::new("migration", None, Constraint::Min(20)),
            Column::new("tool", None, Constraint::Length(15)),
            Column::new("at", None, Constraint::Length(16)).optional(),
            Column::new("detail", None, Constraint::Min(10)).optional(),
        ];
        MigrationsScreen {
            table: PagedTable::new("migrations", MigrationsSource, columns, |m| {
                AppMsg::Screen(ScreenMsg::Migrations(m))
            }),
        }
    }
}

impl Screen for MigrationsScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Migrations
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.reload()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Migrations(m) = msg else {
            return Vec::new();
        };
        self.table.update(m, cx).1
    }

    fn nav(&mut self, nav: Global, cx: &Cx) -> Option<Vec<Cmd>> {
        self.table.nav(nav, cx)
    }

    fn filter(&mut self, text: &str, _cx: &Cx) -> Option<Vec<Cmd>> {
        Some(self.table.set_filter(text))
    }

    fn filter_text(&self) -> Option<&str> {
        Some(self.table.filter_text())
    }

    fn load_state(&self) -> &LoadState {
        self.table.state()
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        self.table.render(frame, area, cx);
    }
}
