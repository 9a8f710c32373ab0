//! `:indexes`: what `opsdeck indexes suggest` and `opsdeck indexes lint`
//! report, in the shared paged table: each suggestion with, under it, one
//! row per statement it serves with the cost before and after; then the
//! lint findings. `y` copies the row's SQL (create_sql, fix_sql) by OSC 52;
//! `c` builds the selected suggestion (CREATE INDEX CONCURRENTLY) through
//! the confirm popup, with progress from pg_stat_progress_create_index and
//! Esc to cancel (the leftover is dropped).

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::advisor::{self, create, lint, Advice, SuggestOptions, Suggestion};
use crate::conn::Secret;
use crate::health::overview::Level;
use crate::session::Session;
use crate::tui::cmd::{BoxFuture, Cmd, PendingOp};
use crate::tui::keymap::{def, ActionDef, Global};
use crate::tui::msg::Msg as AppMsg;
use crate::tui::widgets::table::{
    self, Anchor, Column, Keyed, Page, PageRequest, PagedSource, PagedTable, TableRow,
};
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;
use std::sync::Arc;

/// The workload threshold, as `indexes suggest` has it by default.
const MIN_CALLS: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Copy,
    Create,
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(Action::Copy, "copy", "copy SQL", "y"),
    def(Action::Create, "create", "create index", "c"),
];

#[derive(Debug)]
pub enum Msg {
    Table(table::Msg<IndexRow>),
    Created(Box<crate::Result<advisor::Created>>),
}

#[derive(Debug, Clone)]
pub struct IndexRow {
    /// `suggest`, `statement`, or a lint kind.
    pub kind: String,
    pub name: String,
    pub table: String,
    /// Generic-plan cost before → after (the best statement's for a suggestion).
    pub cost: String,
    pub detail: String,
    /// What `y` copies.
    pub sql: String,
    /// The suggestion a `suggest` row is (for `c`).
    pub suggestion: Option<Box<Suggestion>>,
    pub level: Option<Level>,
}

impl TableRow for IndexRow {
    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.clone(),
            self.name.clone(),
            self.cost.clone(),
            self.table.clone(),
            self.detail.clone(),
        ]
    }

    fn level(&self) -> Option<Level> {
        self.level
    }
}

fn cost(v: f64) -> String {
    format!("{v:.1}")
}

fn before_after(before: f64, after: Option<f64>) -> String {
    let after = after.map(cost).unwrap_or_else(|| "?".into());
    format!("{} → {after}", cost(before))
}

/// Suggestions, each followed by its statements, then lint findings;
/// first, without HypoPG, how to install it (`hint`).
pub fn rows(advice: &Advice, findings: &[advisor::Finding], hint: Option<String>) -> Vec<IndexRow> {
    let mut out = Vec::new();
    if let Some(h) = hint {
        out.push(IndexRow {
            kind: "note".into(),
            name: "HypoPG not installed".into(),
            table: String::new(),
            cost: String::new(),
            detail: h,
            sql: "CREATE EXTENSION hypopg;".into(),
            suggestion: None,
            level: Some(Level::Warn),
        });
    }
    for s in &advice.suggestions {
        let cut = s
            .best_ratio()
            .map(|r| format!("up to {r:.0}x cheaper"))
            .unwrap_or_else(|| "not verified (heuristic)".into());
        out.push(IndexRow {
            kind: "suggest".into(),
            name: s.name.clone(),
            table: s.table.clone(),
            cost: s
                .queries
                .first()
                .map(|q| before_after(q.cost_before, q.cost_after))
                .unwrap_or_default(),
            detail: format!(
                "{} ({}) · {cut} · {}",
                s.columns.join(", "),
                s.method,
                s.reason
            ),
            sql: s.create_sql.clone(),
            suggestion: Some(Box::new(s.clone())),
            level: Some(Level::Warn),
        });
        for q in &s.queries {
            out.push(IndexRow {
                kind: "  statement".into(),
                name: q.query.split_whitespace().collect::<Vec<_>>().join(" "),
                table: s.table.clone(),
                cost: before_after(q.cost_before, q.cost_after),
                detail: format!("{} calls · queryid {}", q.calls, q.queryid),
                sql: q.query.clone(),
                suggestion: None,
                level: None,
            });
        }
    }
    for f in findings {
        out.push(IndexRow {
            kind: f.kind.as_str().to_string(),
            name: f.index.clone().unwrap_or_else(|| f.columns.join(", ")),
            table: f.table.clone(),
            cost: String::new(),
            detail: f.detail.clone(),
            sql: f.fix_sql.clone(),
            suggestion: None,
            level: Some(Level::Warn),
        });
    }
    out
}

/// Everything is computed whole (a few dozen rows); the index is the cursor.
pub struct IndexesSource;

impl PagedSource for IndexesSource {
    type Row = IndexRow;

    fn fetch(
        &self,
        session: Arc<Session>,
        req: PageRequest,
    ) -> BoxFuture<crate::Result<Page<IndexRow>>> {
        Box::pin(async move {
            // The verification is one transaction: a session of its own.
            let own = session.pg_dedicated().await?;
            let shared = session.pg().await?;
            let opts = SuggestOptions {
                min_calls: MIN_CALLS,
                table: None,
            };
            let (advice, report) =
                tokio::try_join!(advisor::suggest(&own, &opts), lint::lint(&shared))?;
            let hint = (!advice.hypopg).then(|| advisor::hypo::install_hint(own.caps.major()));
            Ok(page(rows(&advice, &report.findings, hint), &req))
        })
    }
}

pub fn page(mut all: Vec<IndexRow>, req: &PageRequest) -> Page<IndexRow> {
    let needle = req.filter.to_lowercase();
    if !needle.is_empty() {
        all.retain(|r| {
            [&r.kind, &r.name, &r.table, &r.detail]
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

pub struct IndexesScreen {
    table: PagedTable<IndexesSource>,
}

impl Default for IndexesScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl IndexesScreen {
    pub fn new() -> IndexesScreen {
        let columns = vec![
            Column::new("kind", None, Constraint::Length(11)),
            Column::new("name", None, Constraint::Min(12)),
            Column::new("cost", None, Constraint::Length(15)),
            Column::new("table", None, Constraint::Length(16)).optional(),
            Column::new("detail", None, Constraint::Min(24)).optional(),
        ];
        IndexesScreen {
            table: PagedTable::new("indexes", IndexesSource, columns, |m| {
                AppMsg::Screen(ScreenMsg::Indexes(Msg::Table(m)))
            }),
        }
    }

    fn create(&self) -> Vec<Cmd> {
        let Some(s) = self.table.selected().and_then(|r| r.suggestion.clone()) else {
            return Vec::new();
        };
        let plan = create::plan_for(&s);
        let label = format!("CREATE INDEX CONCURRENTLY {}", s.name);
        vec![Cmd::Confirm(PendingOp::new(
            plan,
            label,
            |cx, approved| async move {
                let result = async {
                    let pg = cx.pg_cancellable().await?;
                    let watcher = cx.session.pg_dedicated().await?;
                    create::apply(&pg, &watcher, approved, cx.stop(), |p| {
                        let done = p.fraction().map(|f| (f * 1000.0) as u64).unwrap_or(0);
                        cx.progress(done, p.fraction().map(|_| 1000), p.describe());
                    })
                    .await
                }
                .await;
                AppMsg::Screen(ScreenMsg::Indexes(Msg::Created(Box::new(result))))
            },
        ))]
    }
}

impl Screen for IndexesScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Indexes
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.reload()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Indexes(m) = msg else {
            return Vec::new();
        };
        match m {
            Msg::Table(m) => self.table.update(m, cx).1,
            Msg::Created(r) => {
                let status = match *r {
                    Ok(c) => Ok(format!("index {} built in {} ms", c.index, c.duration_ms)),
                    Err(e) => Err(e.to_string()),
                };
                let mut cmds = vec![Cmd::Status(status)];
                cmds.extend(self.table.reload());
                cmds
            }
        }
    }

    fn action(&mut self, act: ScreenAction, _cx: &Cx) -> Vec<Cmd> {
        let ScreenAction::Indexes(act) = act else {
            return Vec::new();
        };
        match act {
            Action::Copy => match self.table.selected() {
                Some(r) => vec![
                    Cmd::Clipboard(Secret::new(r.sql.clone())),
                    Cmd::Status(Ok("SQL copied to the clipboard (OSC 52)".into())),
                ],
                None => Vec::new(),
            },
            Action::Create => self.create(),
        }
    }

    fn enabled(&self, act: ScreenAction, cx: &Cx) -> bool {
        let ScreenAction::Indexes(act) = act else {
            return false;
        };
        let selected = self.table.selected();
        match act {
            Action::Copy => selected.is_some(),
            Action::Create => {
                !cx.context.read_only && selected.is_some_and(|r| r.suggestion.is_some())
            }
        }
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

    /// Suggesting plans every statement of the workload: not on every tick.
    fn refresh_every(&self, _cx: &Cx) -> Option<std::time::Duration> {
        None
    }
}
