//! `:tenants`: the tenants list on the shared paged table (keyset pages from
//! the core, so 1,000,000 tenants scroll in bounded memory), `/` to search
//! (`status:NAME` filters by status), `o`/`O` to sort, Enter for the detail
//! pane, `s`/`r` to suspend/resume through the confirm popup, `L` for the
//! tenancy lint findings, `K` for the tenant's API keys.

mod figures;
mod source;
mod views;

pub use source::{parse_filter, TenantLine, TenantSource};

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::error::Result;
use crate::health::overview::Level;
use crate::safety::Mutation;
use crate::tenants::{self, Change, Finding, StatusAction, StatusChange, TenantDetail};
use crate::tui::cmd::{Cmd, PendingOp};
use crate::tui::keymap::{def, ActionDef, Global};
use crate::tui::msg::Msg as AppMsg;
use crate::tui::text::{clean, cleaned};
use crate::tui::widgets::detail::Detail;
use crate::tui::widgets::table::{self, Column, PagedTable};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Suspend,
    Resume,
    Lint,
    Keys,
    Figures,
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(Action::Suspend, "suspend", "suspend", "s"),
    def(Action::Resume, "resume", "resume", "r"),
    def(Action::Lint, "lint", "tenancy lint", "L"),
    def(Action::Keys, "keys", "api keys", "K"),
    def(Action::Figures, "figures", "sizes", "z"),
];

#[derive(Debug)]
pub enum Msg {
    Table(table::Msg<TenantLine>),
    /// Figures for the loaded rows (and what they are read from).
    Figures {
        gen: u64,
        result: Result<(
            std::sync::Arc<tenants::figures::Sources>,
            Vec<tenants::figures::TenantFigures>,
        )>,
    },
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
    figures: figures::Figures,
}

/// The list's columns; with `figures`, the optional figure columns too.
fn columns(figures: bool) -> Vec<Column> {
    let mut c = vec![
        Column::new("slug", Some("slug"), Constraint::Min(10)),
        Column::new("name", Some("name"), Constraint::Min(12)),
        Column::new("plan", None, Constraint::Length(10)).optional(),
        Column::new("status", None, Constraint::Length(9)),
        Column::new("created", Some("created_at"), Constraint::Length(10)),
        Column::new("id", Some("id"), Constraint::Length(12)),
    ];
    if figures {
        c.push(Column::new("rows", None, Constraint::Length(7)).optional());
        c.push(Column::new("size≈", None, Constraint::Length(10)).optional());
        c.push(Column::new("active", None, Constraint::Length(10)).optional());
    }
    c
}

impl Default for TenantsScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl TenantsScreen {
    pub fn new() -> TenantsScreen {
        TenantsScreen {
            table: PagedTable::new("tenants", TenantSource, columns(false), |m| {
                wrap(Msg::Table(m))
            }),
            view: View::List,
            planning: 0,
            figures: figures::Figures::default(),
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
                    // Exact counts can run long: on a connection of this task's own,
                    // so Esc or leaving the screen cancels them on the server.
                    let pg = cx.pg_cancellable().await?;
                    // An unreachable Redis is a note in the detail, not a failed detail.
                    let (redis, note) = match s.ctx.redis.is_some() {
                        true => match s.redis().await {
                            Ok(r) => (Some(r), None),
                            Err(e) => (None, Some(format!("cache keys: {e}"))),
                        },
                        false => (None, None),
                    };
                    let mut d = tenants::show_with(
                        &pg,
                        redis.as_ref(),
                        &s.ctx.schema,
                        &s.ctx.cache,
                        &s.ctx.api_keys,
                        &s.ctx.jobs,
                        &id,
                    )
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
                let result =
                    async { tenants::lint(&cx.pg_cancellable().await?, &s.ctx.schema).await }.await;
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
            Ok(Change::Needed(plan)) => {
                let intent = plan.intent();
                let label = format!("{} {}", intent.action, intent.target);
                vec![Cmd::Confirm(PendingOp::new(
                    plan,
                    label,
                    move |cx, approved| async move {
                        // On the task's own connection: Esc cancels the running
                        // statement on the server and the change rolls back.
                        let r = match cx.pg_cancellable().await {
                            Ok(pg) => tenants::apply(&pg, approved, cx.stop()).await,
                            Err(e) => Err(e),
                        };
                        wrap(Msg::Changed(Box::new(r)))
                    },
                ))]
            }
        }
    }

    /// The selected tenant's API keys, on the keys screen (Esc comes back).
    fn keys(&self) -> Vec<Cmd> {
        let Some(t) = self.table.selected() else {
            return Vec::new();
        };
        let label = t.slug.clone().unwrap_or_else(|| t.id.clone());
        let screen = super::keys::KeysScreen::for_tenant(t.id.clone(), label);
        vec![Cmd::Push(Box::new(screen))]
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
        let block = pane_block(&pane.title, theme);
        let inner = block.inner(area);
        frame.render_widget(block, area);
        match (&pane.state, &pane.body) {
            (LoadState::Error(e), _) => frame.render_widget(
                Paragraph::new(clean(e))
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
            Msg::Table(t) => {
                let mut cmds = self.table.update(t, cx).1;
                cmds.extend(self.fill_figures());
                cmds
            }
            Msg::Figures { gen, result } => self.figures_arrived(gen, result),
            Msg::Detail { gen, result } => {
                if let View::Detail { pane, .. } = &mut self.view {
                    if let (Ok(d), true) = (&*result, gen == pane.gen) {
                        pane.title = match &d.slug {
                            Some(slug) => format!(" tenant {} · {slug} ", d.id),
                            None => format!(" tenant {} ", d.id),
                        };
                    }
                    let figures = &self.figures;
                    let detail = (*result)
                        .map(|d| views::detail(&d, figures.of(&d.id), figures.sources.as_deref()));
                    Self::fill(pane, gen, detail, cx);
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
        let ScreenAction::Tenants(act) = act else {
            return Vec::new();
        };
        match act {
            Action::Suspend => self.plan(StatusAction::Suspend),
            Action::Resume => self.plan(StatusAction::Resume),
            Action::Lint => self.load_lint(),
            Action::Keys => self.keys(),
            Action::Figures => self.toggle_figures(),
        }
    }

    fn enabled(&self, act: ScreenAction, _cx: &Cx) -> bool {
        let ScreenAction::Tenants(act) = act else {
            return false;
        };
        match act {
            Action::Suspend | Action::Resume => {
                !matches!(self.view, View::Lint(_)) && self.table.selected().is_some()
            }
            Action::Lint => true,
            Action::Keys => !matches!(self.view, View::Lint(_)) && self.table.selected().is_some(),
            Action::Figures => matches!(self.view, View::List),
        }
    }

    fn enter_hint(&self) -> Option<&'static str> {
        match (&self.view, self.table.selected()) {
            (View::List, Some(_)) => Some("details"),
            _ => None,
        }
    }

    fn nav(&mut self, nav: Global, cx: &Cx) -> Option<Vec<Cmd>> {
        let (pane, key) = match &mut self.view {
            View::Detail { pane, .. } => (Some(pane), "tenants:detail"),
            View::Lint(pane) => (Some(pane), "tenants:lint"),
            View::List => (None, ""),
        };
        if let Some(pane) = pane {
            return match nav {
                Global::Back => {
                    // A detail or lint still running stops on the server too.
                    self.view = View::List;
                    Some(vec![Cmd::Abort(key.into())])
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
            View::Detail { pane, .. } => match split(area) {
                Some([top, bottom]) => {
                    self.table.render(frame, top, cx);
                    Self::render_pane(pane, frame, bottom, cx);
                }
                None => Self::render_pane(pane, frame, area, cx),
            },
        }
    }
}

/// The list above the detail, when the body is tall enough for both to be
/// useful; else the detail takes the body (its sections need the rows).
fn split(body: Rect) -> Option<[Rect; 2]> {
    (body.height >= DETAIL_WITH_LIST)
        .then(|| Layout::vertical([Constraint::Length(8), Constraint::Min(0)]).areas(body))
}

/// Body rows from which the detail keeps a few rows of the list above it.
const DETAIL_WITH_LIST: u16 = 30;

fn pane_block<'a>(title: &str, theme: &crate::tui::theme::Theme) -> Block<'a> {
    Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border(false))
        .title(cleaned(title))
}
