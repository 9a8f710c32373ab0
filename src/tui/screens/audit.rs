//! `:audit`: opsdeck's own audit log (what `opsdeck audit list` prints),
//! newest first, in the shared paged table; Enter shows one entry in full.

use super::{Cx, LoadState, Screen, ScreenId, ScreenMsg};
use crate::audit::{AuditEntry, Outcome};
use crate::health::overview::Level;
use crate::session::Session;
use crate::tui::cmd::{BoxFuture, Cmd};
use crate::tui::keymap::Global;
use crate::tui::msg::Msg as AppMsg;
use crate::tui::widgets::detail::Detail;
use crate::tui::widgets::table::{
    self, Anchor, Column, Keyed, Page, PageRequest, PagedSource, PagedTable, TableRow,
};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;
use std::sync::Arc;

pub type Msg = table::Msg<AuditEntry>;

impl TableRow for AuditEntry {
    fn cells(&self) -> Vec<String> {
        vec![
            self.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            self.action.clone(),
            self.target.clone(),
            self.outcome.as_str().to_string(),
            self.actor.clone(),
            self.duration_ms
                .map(|d| format!("{d}ms"))
                .unwrap_or_default(),
        ]
    }

    fn level(&self) -> Option<Level> {
        match self.outcome {
            Outcome::Ok => None,
            Outcome::Refused | Outcome::Cancelled | Outcome::Incomplete => Some(Level::Warn),
            Outcome::Aborted => Some(Level::Error),
            Outcome::Error => Some(Level::Error),
        }
    }
}

/// The audit log is read whole (it is the same read `audit list` does) and
/// paged here, with the op id as the cursor.
pub struct AuditSource;

impl PagedSource for AuditSource {
    type Row = AuditEntry;

    fn fetch(
        &self,
        session: Arc<Session>,
        req: PageRequest,
    ) -> BoxFuture<crate::Result<Page<AuditEntry>>> {
        Box::pin(async move {
            let entries = session.safety().await.audit().list(None, None).await?;
            Ok(page(entries, &req))
        })
    }
}

/// Filters, sorts and cuts one page out of the whole list.
pub fn page(mut entries: Vec<AuditEntry>, req: &PageRequest) -> Page<AuditEntry> {
    let needle = req.filter.to_lowercase();
    if !needle.is_empty() {
        entries.retain(|e| {
            [
                &e.action,
                &e.target,
                &e.actor,
                &e.context,
                e.outcome.as_str(),
            ]
            .iter()
            .any(|f| f.to_lowercase().contains(&needle))
        });
    }
    let (column, desc) = req
        .sort
        .as_ref()
        .map_or(("started_at", true), |s| (s.column, s.desc));
    entries.sort_by(|a, b| {
        let ord = match column {
            "action" => a.action.cmp(&b.action),
            "target" => a.target.cmp(&b.target),
            "outcome" => a.outcome.as_str().cmp(b.outcome.as_str()),
            _ => a.started_at.cmp(&b.started_at),
        }
        .then_with(|| a.op_id.cmp(&b.op_id));
        if desc {
            ord.reverse()
        } else {
            ord
        }
    });
    let total = entries.len();
    let pos = |c: &str| entries.iter().position(|e| e.op_id == c);
    let (from, to) = match &req.anchor {
        Anchor::First => (0, req.limit),
        Anchor::After(c) => {
            let p = pos(c).map_or(0, |p| p + 1);
            (p, p + req.limit)
        }
        Anchor::Before(c) => {
            let p = pos(c).unwrap_or(0);
            (p.saturating_sub(req.limit), p)
        }
        Anchor::Last => (total.saturating_sub(req.limit), total),
    };
    let rows = entries
        .into_iter()
        .skip(from)
        .take(to.min(total).saturating_sub(from))
        .map(|e| Keyed {
            cursor: e.op_id.clone(),
            row: e,
        })
        .collect();
    Page {
        rows,
        total: Some(total as u64),
    }
}

pub struct AuditScreen {
    table: PagedTable<AuditSource>,
    detail: Option<Detail>,
}

impl Default for AuditScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl AuditScreen {
    pub fn new() -> AuditScreen {
        let columns = vec![
            Column::new("started", Some("started_at"), Constraint::Length(19)).optional(),
            // As wide as the longest action name ("cache.invalidate").
            Column::new("action", Some("action"), Constraint::Min(16)),
            Column::new("target", Some("target"), Constraint::Min(8)),
            Column::new("outcome", Some("outcome"), Constraint::Length(10)),
            Column::new("actor", None, Constraint::Min(8)),
            Column::new("took", None, Constraint::Length(8)).optional(),
        ];
        AuditScreen {
            table: PagedTable::new("audit", AuditSource, columns, |m| {
                AppMsg::Screen(ScreenMsg::Audit(m))
            }),
            detail: None,
        }
    }

    pub fn table(&self) -> &PagedTable<AuditSource> {
        &self.table
    }
}

impl Screen for AuditScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Audit
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.reload()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Audit(m) = msg else {
            return Vec::new();
        };
        self.table.update(m, cx).1
    }

    fn enter_hint(&self) -> Option<&'static str> {
        match (&self.detail, self.table.selected()) {
            (Some(_), _) => Some("close"),
            (None, Some(_)) => Some("details"),
            (None, None) => None,
        }
    }

    fn nav(&mut self, nav: Global, cx: &Cx) -> Option<Vec<Cmd>> {
        if let Some(d) = &mut self.detail {
            return match nav {
                Global::Back | Global::Enter => {
                    self.detail = None;
                    Some(Vec::new())
                }
                other => d.nav(other).then(Vec::new),
            };
        }
        if nav == Global::Enter {
            let entry = self.table.selected()?;
            let value = serde_json::to_value(entry).unwrap_or_default();
            self.detail = Some(Detail::from_json(&value));
            return Some(Vec::new());
        }
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
        let Some(detail) = &self.detail else {
            self.table.render(frame, area, cx);
            return;
        };
        let theme = &cx.env.theme;
        if area.height < 14 {
            detail.render(frame, area, theme);
            return;
        }
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(40), Constraint::Percentage(60)]).areas(area);
        self.table.render(frame, top, cx);
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.border(false))
            .title(" entry ");
        let inner = block.inner(bottom);
        frame.render_widget(block, bottom);
        detail.render(frame, inner, theme);
    }
}
