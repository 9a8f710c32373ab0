//! `:tenants`: the tenants list on the shared paged table (keyset pages from
//! the core, so 1,000,000 tenants scroll in bounded memory), `/` to search
//! (`status:NAME` filters by status), `o`/`O` to sort, Enter for the detail
//! pane, `s`/`r` to suspend/resume through the confirm popup, `L` for the
//! tenancy lint findings.

mod views;

use super::{Cx, LoadState, Screen, ScreenId, ScreenMsg};
use crate::error::Result;
use crate::health::overview::Level;
use crate::session::Session;
use crate::tenants::{
    self, Change, Finding, ListQuery, SortField, StatusAction, StatusChange, TenantDetail,
    TenantRow,
};
use crate::tui::cmd::{BoxFuture, Cmd, PendingOp};
use crate::tui::keymap::{action, ActionDef, Global, ScreenAction};
use crate::tui::msg::Msg as AppMsg;
use crate::tui::widgets::detail::Detail;
use crate::tui::widgets::table::{
    self, Anchor, Column, Keyed, Page, PageRequest, PagedSource, PagedTable, TableRow,
};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use std::sync::Arc;

pub const ACTIONS: &[ActionDef<ScreenAction>] = &[
    action("suspend", "suspend", "s"),
    action("resume", "resume", "r"),
    action("lint", "tenancy lint", "L"),
];

#[derive(Debug)]
pub enum Msg {
    Table(table::Msg<TenantRow>),
    // Boxed: replies are rare and large; the app's message stays small.
    Detail {
        gen: u64,
        result: Box<Result<TenantDetail>>,
    },
    Lint {
        gen: u64,
        result: Result<Vec<Finding>>,
    },
    Planned {
        gen: u64,
        result: Box<Result<Change>>,
    },
    Changed(Box<Result<StatusChange>>),
}

fn wrap(m: Msg) -> AppMsg {
    AppMsg::Screen(ScreenMsg::Tenants(m))
}

impl TableRow for TenantRow {
    fn cells(&self) -> Vec<String> {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            o(&self.slug),
            o(&self.name),
            o(&self.plan),
            o(&self.status),
            self.created_at
                .as_deref()
                .map(|c| c.chars().take(10).collect())
                .unwrap_or_default(),
            self.id.clone(),
        ]
    }
}

/// `status:NAME` words set the status filter; the rest is the search text.
pub fn parse_filter(text: &str) -> (Option<String>, Option<String>) {
    let mut status = None;
    let mut words = Vec::new();
    for w in text.split_whitespace() {
        match w.strip_prefix("status:") {
            Some(s) if !s.is_empty() => status = Some(s.to_string()),
            _ => words.push(w),
        }
    }
    let search = (!words.is_empty()).then(|| words.join(" "));
    (status, search)
}

/// Pages come from `tenants::page` by keyset cursor, without the per-row
/// size counts (those are bounded but add up over a 200-row page; the
/// detail pane has exact counts). Totals are the planner's estimate.
pub struct TenantSource;

impl PagedSource for TenantSource {
    type Row = TenantRow;

    fn fetch(&self, session: Arc<Session>, req: PageRequest) -> BoxFuture<Result<Page<TenantRow>>> {
        Box::pin(async move {
            let pg = session.pg().await?;
            let (status, search) = parse_filter(&req.filter);
            let (sort, desc) = match &req.sort {
                Some(s) => (s.column.parse::<SortField>()?, s.desc),
                None => (SortField::Id, false),
            };
            let mut q = ListQuery {
                status,
                search,
                sort,
                desc,
                limit: req.limit,
                ..ListQuery::default()
            };
            let whole_count = match req.anchor {
                Anchor::First => true,
                Anchor::After(c) => {
                    q.after = Some(c);
                    false
                }
                Anchor::Before(c) => {
                    q.before = Some(c);
                    false
                }
                Anchor::Last => {
                    q.from_end = true;
                    true
                }
            };
            let page = tenants::page(&pg, &session.ctx.schema, &q).await?;
            // A short first page is the whole answer; otherwise the planner's
            // estimate (no scan) when the table starts over at either end.
            let total = match (whole_count, page.rows.len() < req.limit) {
                (true, true) => Some(page.rows.len() as u64),
                (true, _) => tenants::list::estimated_count(&pg, &session.ctx.schema, &q).await?,
                (false, _) => None,
            };
            let rows = page
                .cursors
                .into_iter()
                .zip(page.rows)
                .map(|(cursor, row)| Keyed { cursor, row })
                .collect();
            Ok(Page { rows, total })
        })
    }
}

/// A pane over the list: its own load state and generation.
struct Pane {
    gen: u64,
    state: LoadState,
    body: Option<Detail>,
    title: String,
}

impl Pane {
    fn loading(title: String) -> Pane {
        Pane {
            gen: crate::tui::next_gen(),
            state: LoadState::Loading,
            body: None,
            title,
        }
    }
}

enum View {
    List,
    Detail { id: String, pane: Pane },
    Lint(Pane),
}

pub struct TenantsScreen {
    table: PagedTable<TenantSource>,
    view: View,
    planning: u64,
}

impl Default for TenantsScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl TenantsScreen {
    pub fn new() -> TenantsScreen {
        let columns = vec![
            Column::new("slug", Some("slug"), Constraint::Min(10)),
            Column::new("name", Some("name"), Constraint::Min(12)),
            Column::new("plan", None, Constraint::Length(10)),
            Column::new("status", None, Constraint::Length(9)),
            Column::new("created", Some("created_at"), Constraint::Length(10)),
            Column::new("id", Some("id"), Constraint::Length(12)),
        ];
        TenantsScreen {
            table: PagedTable::new("tenants", TenantSource, columns, |m| wrap(Msg::Table(m))),
            view: View::List,
            planning: 0,
        }
    }

    pub fn table(&self) -> &PagedTable<TenantSource> {
        &self.table
    }

    /// Whether the detail pane or the lint view is open.
    pub fn showing(&self) -> &'static str {
        match self.view {
            View::List => "list",
            View::Detail { .. } => "detail",
            View::Lint(_) => "lint",
        }
    }

    fn load_detail(&mut self, id: String) -> Vec<Cmd> {
        let pane = Pane::loading(format!(" tenant {id} "));
        let gen = pane.gen;
        self.view = View::Detail {
            id: id.clone(),
            pane,
        };
        vec![Cmd::task(
            "tenants.show",
            Some("tenants:detail".into()),
            move |cx| async move {
                let s = cx.session.clone();
                let result = async {
                    let pg = s.pg().await?;
                    // An unreachable Redis is a note in the detail, not a failed detail.
                    let (redis, note) = match s.ctx.redis.is_some() {
                        true => match s.redis().await {
                            Ok(r) => (Some(r), None),
                            Err(e) => (None, Some(format!("cache keys: {e}"))),
                        },
                        false => (None, None),
                    };
                    let mut d =
                        tenants::show(&pg, redis.as_ref(), &s.ctx.schema, &s.ctx.cache, &id)
                            .await?;
                    d.notes.extend(note);
                    Ok(d)
                }
                .await;
                wrap(Msg::Detail {
                    gen,
                    result: Box::new(result),
                })
            },
        )]
    }

    fn load_lint(&mut self) -> Vec<Cmd> {
        let pane = Pane::loading(" tenancy lint ".into());
        let gen = pane.gen;
        self.view = View::Lint(pane);
        vec![Cmd::task(
            "tenants.lint",
            Some("tenants:lint".into()),
            move |cx| async move {
                let s = cx.session.clone();
                let result = async { tenants::lint(&*s.pg().await?, &s.ctx.schema).await }.await;
                wrap(Msg::Lint { gen, result })
            },
        )]
    }

    fn plan(&mut self, act: StatusAction) -> Vec<Cmd> {
        let Some(row) = self.table.selected() else {
            return Vec::new();
        };
        let id = row.id.clone();
        let gen = crate::tui::next_gen();
        self.planning = gen;
        vec![Cmd::task(
            "tenants.plan",
            Some("tenants:plan".into()),
            move |cx| async move {
                let s = cx.session.clone();
                let result =
                    async { tenants::plan(&*s.pg().await?, &s.ctx.schema, &id, act).await }.await;
                wrap(Msg::Planned {
                    gen,
                    result: Box::new(result),
                })
            },
        )]
    }

    fn planned(&mut self, gen: u64, result: Result<Change>) -> Vec<Cmd> {
        if gen != self.planning {
            return Vec::new();
        }
        match result {
            Err(e) => vec![Cmd::Status(Err(e.to_string()))],
            Ok(Change::Already(c)) => vec![Cmd::Status(Ok(c.note.unwrap_or_default()))],
            Ok(Change::Needed(planned)) => {
                let label = format!("{} {}", planned.intent.action, planned.intent.target);
                vec![Cmd::Confirm(PendingOp::new(
                    planned.intent.clone(),
                    label,
                    move |cx, guard| async move {
                        let r = tenants::apply(&cx.session.ctx, guard, planned).await;
                        wrap(Msg::Changed(Box::new(r)))
                    },
                ))]
            }
        }
    }

    fn changed(&mut self, r: Result<StatusChange>) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::Status(match &r {
            Ok(c) => Ok(format!(
                "tenant {} is now {}",
                c.slug.as_deref().unwrap_or(&c.id),
                c.to
            )),
            Err(e) => Err(e.to_string()),
        })];
        cmds.extend(self.table.reload());
        if let (Ok(c), View::Detail { id, .. }) = (&r, &self.view) {
            if *id == c.id {
                cmds.extend(self.load_detail(c.id.clone()));
            }
        }
        cmds
    }

    fn fill(pane: &mut Pane, gen: u64, body: Result<Detail>, cx: &Cx) {
        if gen != pane.gen {
            return;
        }
        match body {
            Ok(d) => {
                pane.body = Some(d);
                pane.state = LoadState::Loaded(cx.now);
            }
            Err(e) => pane.state = LoadState::Error(e.to_string()),
        }
    }

    fn render_pane(pane: &Pane, frame: &mut Frame, area: Rect, cx: &Cx) {
        let theme = &cx.env.theme;
        let block = Block::default()
            .borders(Borders::TOP)
            .border_style(theme.border(false))
            .title(pane.title.clone());
        let inner = block.inner(area);
        frame.render_widget(block, area);
        match (&pane.state, &pane.body) {
            (LoadState::Error(e), _) => frame.render_widget(
                Paragraph::new(e.as_str())
                    .style(theme.level(Level::Error))
                    .wrap(Wrap { trim: false }),
                inner,
            ),
            (_, Some(d)) => d.render(frame, inner, theme),
            _ => frame.render_widget(Paragraph::new("loading…").style(theme.muted()), inner),
        }
    }
}

impl Screen for TenantsScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Tenants
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        let mut cmds = self.table.reload();
        match &self.view {
            View::Detail { id, .. } => {
                let id = id.clone();
                cmds.extend(self.load_detail(id));
            }
            View::Lint(_) => cmds.extend(self.load_lint()),
            View::List => {}
        }
        cmds
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Tenants(m) = msg else {
            return Vec::new();
        };
        match m {
            Msg::Table(t) => self.table.update(t, cx).1,
            Msg::Detail { gen, result } => {
                if let View::Detail { pane, .. } = &mut self.view {
                    Self::fill(pane, gen, (*result).map(|d| views::detail(&d)), cx);
                }
                Vec::new()
            }
            Msg::Lint { gen, result } => {
                if let View::Lint(pane) = &mut self.view {
                    if let Ok(f) = &result {
                        pane.title = format!(" tenancy lint: {} finding(s) ", f.len());
                    }
                    Self::fill(pane, gen, result.map(|f| views::lint(&f)), cx);
                }
                Vec::new()
            }
            Msg::Planned { gen, result } => self.planned(gen, *result),
            Msg::Changed(r) => self.changed(*r),
        }
    }

    fn action(&mut self, act: ScreenAction, _cx: &Cx) -> Vec<Cmd> {
        match act {
            "suspend" => self.plan(StatusAction::Suspend),
            "resume" => self.plan(StatusAction::Resume),
            "lint" => self.load_lint(),
            _ => Vec::new(),
        }
    }

    fn enabled(&self, act: ScreenAction, _cx: &Cx) -> bool {
        match act {
            "suspend" | "resume" => {
                !matches!(self.view, View::Lint(_)) && self.table.selected().is_some()
            }
            _ => true,
        }
    }

    fn nav(&mut self, nav: Global, cx: &Cx) -> Option<Vec<Cmd>> {
        let pane = match &mut self.view {
            View::Detail { pane, .. } | View::Lint(pane) => Some(pane),
            View::List => None,
        };
        if let Some(pane) = pane {
            return match nav {
                Global::Back => {
                    self.view = View::List;
                    Some(Vec::new())
                }
                other => pane
                    .body
                    .as_mut()
                    .and_then(|d| d.nav(other).then(Vec::new))
                    .or_else(|| (other == Global::Enter).then(Vec::new)),
            };
        }
        if nav == Global::Enter {
            let id = self.table.selected()?.id.clone();
            return Some(self.load_detail(id));
        }
        self.table.nav(nav, cx)
    }

    fn filter(&mut self, text: &str, _cx: &Cx) -> Option<Vec<Cmd>> {
        self.view = View::List;
        Some(self.table.set_filter(text))
    }

    fn filter_text(&self) -> Option<&str> {
        Some(self.table.filter_text())
    }

    fn load_state(&self) -> &LoadState {
        match &self.view {
            View::Lint(p) => &p.state,
            _ => self.table.state(),
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        match &self.view {
            View::List => self.table.render(frame, area, cx),
            View::Lint(pane) => Self::render_pane(pane, frame, area, cx),
            View::Detail { pane, .. } => {
                if area.height < 14 {
                    Self::render_pane(pane, frame, area, cx);
                    return;
                }
                let [top, bottom] =
                    Layout::vertical([Constraint::Percentage(35), Constraint::Percentage(65)])
                        .areas(area);
                self.table.render(frame, top, cx);
                Self::render_pane(pane, frame, bottom, cx);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn status_words_filter_by_status() {
        assert_eq!(parse_filter(""), (None, None));
        assert_eq!(
            parse_filter("status:suspended acme co"),
            (Some("suspended".into()), Some("acme co".into()))
        );
        assert_eq!(parse_filter("status:"), (None, Some("status:".into())));
    }
}
