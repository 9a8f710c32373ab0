//! `:queries`: tabs for the slow statements (pg_stat_statements, by default
//! what ran since the previous refresh), the live sessions and the blocking
//! tree; auto refresh of the open tab only (at most two statements a
//! refresh), `o`/`O` to sort, `/` to filter, Enter for the plan tree of a
//! statement or the detail of a session, `c`/`K` to cancel/terminate the
//! selected session through the confirm popup.

mod rows;
mod view;

pub use rows::Tab;

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::error::Result;
use crate::queries::{
    self, activity::ActiveQuery, signal, stat_statements, ExplainTarget, Explained, LockNode, Pss,
    SessionRow, Signal, SignalPlan, Signalled, SlowQuery, Statement,
};
use crate::safety::Mutation;
use crate::tui::cmd::{Cmd, PendingOp};
use crate::tui::keymap::{def, ActionDef, Global};
use crate::tui::msg::Msg as AppMsg;
use crate::tui::widgets::detail::Detail;
use ratatui::layout::Rect;
use ratatui::Frame;
use rows::Rows;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Slow,
    Active,
    Locks,
    NextTab,
    Delta,
    Cancel,
    Terminate,
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(Action::Slow, "slow", "slow", "1"),
    def(Action::Active, "active", "active", "2"),
    def(Action::Locks, "locks", "locks", "3"),
    def(Action::NextTab, "next_tab", "next tab", "tab"),
    def(Action::Delta, "delta", "delta/totals", "d"),
    def(Action::Cancel, "cancel", "cancel query", "c"),
    def(Action::Terminate, "terminate", "terminate", "K"),
];

/// Statements fetched a refresh: the delta needs those of the previous one.
const SLOW_LIMIT: u32 = 200;
/// Sessions fetched a refresh (max_connections is rarely above this).
const ACTIVE_LIMIT: u32 = 500;

#[derive(Debug)]
pub enum Msg {
    Slow {
        gen: u64,
        result: Result<(Pss, Vec<Statement>)>,
    },
    Active {
        gen: u64,
        result: Result<Vec<SessionRow>>,
    },
    Locks {
        gen: u64,
        result: Result<Vec<LockNode>>,
    },
    Plan {
        gen: u64,
        result: Box<Result<Explained>>,
    },
    Planned {
        gen: u64,
        result: Box<Result<SignalPlan>>,
    },
    Signalled(Result<Signalled>),
}

fn wrap(m: Msg) -> AppMsg {
    AppMsg::Screen(ScreenMsg::Queries(m))
}

/// What Enter opened under the list.
pub enum Pane {
    Plan {
        gen: u64,
        state: LoadState,
        plan: Option<Explained>,
        scroll: usize,
    },
    Session(Detail),
}

pub struct QueriesScreen {
    tab: Tab,
    state: LoadState,
    gen: u64,
    in_flight: bool,
    pss: Option<Pss>,
    rows: Rows,
    pane: Option<Pane>,
    planning: u64,
}

impl Default for QueriesScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl QueriesScreen {
    pub fn new() -> QueriesScreen {
        QueriesScreen {
            tab: Tab::Slow,
            state: LoadState::Idle,
            gen: 0,
            in_flight: false,
            pss: None,
            rows: Rows::default(),
            pane: None,
            planning: 0,
        }
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    pub fn rows(&self) -> &Rows {
        &self.rows
    }

    pub fn pane(&self) -> Option<&Pane> {
        self.pane.as_ref()
    }

    fn switch(&mut self, tab: Tab) -> Vec<Cmd> {
        if tab == self.tab {
            return Vec::new();
        }
        self.tab = tab;
        self.pane = None;
        self.rows.selected = 0;
        self.state = LoadState::Loading;
        // The other tab's reply is stale now.
        self.in_flight = false;
        self.load()
    }

    fn load(&mut self) -> Vec<Cmd> {
        self.in_flight = true;
        self.gen = crate::tui::next_gen();
        if matches!(self.state, LoadState::Idle) {
            self.state = LoadState::Loading;
        }
        let gen = self.gen;
        vec![match self.tab {
            Tab::Slow => {
                let (pss, sort) = (self.pss.clone(), self.rows.sort);
                Cmd::task(
                    "queries.slow",
                    Some("queries".into()),
                    move |cx| async move {
                        let result = async {
                            let pg = cx.session.pg().await?;
                            let pss = match pss {
                                Some(p) => p,
                                None => stat_statements::locate(&pg).await?,
                            };
                            let q = SlowQuery {
                                sort,
                                limit: SLOW_LIMIT,
                            };
                            let rows = stat_statements::slow(&pg, &pss, q).await?;
                            Ok((pss, rows))
                        }
                        .await;
                        wrap(Msg::Slow { gen, result })
                    },
                )
            }
            Tab::Active => Cmd::task(
                "queries.active",
                Some("queries".into()),
                move |cx| async move {
                    let q = ActiveQuery {
                        include_idle: false,
                        include_own: false,
                        limit: ACTIVE_LIMIT,
                    };
                    let result = async { queries::active(&*cx.session.pg().await?, q).await }.await;
                    wrap(Msg::Active { gen, result })
                },
            ),
            Tab::Locks => Cmd::task(
                "queries.locks",
                Some("queries".into()),
                move |cx| async move {
                    let result = async { queries::lock_tree(&*cx.session.pg().await?).await }.await;
                    wrap(Msg::Locks { gen, result })
                },
            ),
        }]
    }

    fn open(&mut self) -> Option<Vec<Cmd>> {
        match self.tab {
            Tab::Slow => {
                let st = self.rows.selected_statement()?;
                let target = ExplainTarget::QueryId(st.queryid.clone());
                let gen = crate::tui::next_gen();
                self.pane = Some(Pane::Plan {
                    gen,
                    state: LoadState::Loading,
                    plan: None,
                    scroll: 0,
                });
                Some(vec![Cmd::task(
                    "queries.explain",
                    Some("queries:plan".into()),
                    move |cx| async move {
                        // Its own session: the explain is a transaction of several statements.
                        let result = async {
                            queries::explain(&cx.pg_cancellable().await?, &target, false).await
                        }
                        .await;
                        wrap(Msg::Plan {
                            gen,
                            result: Box::new(result),
                        })
                    },
                )])
            }
            Tab::Active | Tab::Locks => {
                let s = self.rows.selected_session(self.tab)?;
                let value = serde_json::to_value(s).unwrap_or_default();
                self.pane = Some(Pane::Session(Detail::from_json(&value)));
                Some(Vec::new())
            }
        }
    }

    fn plan_signal(&mut self, sig: Signal) -> Vec<Cmd> {
        let Some(pid) = self.rows.selected_session(self.tab).map(|s| s.pid) else {
            return Vec::new();
        };
        let gen = crate::tui::next_gen();
        self.planning = gen;
        vec![Cmd::task(
            "queries.signal_plan",
            Some("queries:signal".into()),
            move |cx| async move {
                let result =
                    async { signal::plan(&*cx.session.pg().await?, sig, pid, false).await }.await;
                wrap(Msg::Planned {
                    gen,
                    result: Box::new(result),
                })
            },
        )]
    }

    fn planned(&mut self, gen: u64, result: Result<SignalPlan>) -> Vec<Cmd> {
        if gen != self.planning {
            return Vec::new();
        }
        match result {
            Err(e) => vec![Cmd::Status(Err(e.to_string()))],
            Ok(plan) => {
                let label = format!("{} {}", plan.intent().action, plan.intent().target);
                vec![Cmd::Confirm(PendingOp::new(
                    plan,
                    label,
                    |cx, approved| async move {
                        let r = match cx.session.pg().await {
                            Ok(pg) => signal::apply(&pg, approved).await,
                            Err(e) => Err(e),
                        };
                        wrap(Msg::Signalled(r))
                    },
                ))]
            }
        }
    }

    fn signalled(&mut self, r: Result<Signalled>) -> Vec<Cmd> {
        let status = match r {
            Ok(s) if s.signalled => Ok(format!("{} sent to pid {}", s.action.action(), s.pid)),
            Ok(s) => Err(format!("pid {} had ended; nothing was signalled", s.pid)),
            Err(e) => Err(e.to_string()),
        };
        let mut cmds = vec![Cmd::Status(status)];
        self.in_flight = false;
        cmds.extend(self.load());
        cmds
    }

    fn pane_nav(&mut self, nav: Global) -> Option<Vec<Cmd>> {
        let pane = self.pane.as_mut()?;
        if nav == Global::Back {
            self.pane = None;
            return Some(vec![Cmd::Abort("queries:plan".into())]);
        }
        match pane {
            Pane::Session(d) => d.nav(nav).then(Vec::new),
            Pane::Plan { scroll, plan, .. } => {
                let max = plan.as_ref().map_or(0, |p| p.nodes.len().saturating_sub(1));
                *scroll = match nav {
                    Global::Down => (*scroll + 1).min(max),
                    Global::Up => scroll.saturating_sub(1),
                    Global::Top => 0,
                    Global::Bottom => max,
                    _ => return None,
                };
                Some(Vec::new())
            }
        }
    }
}

impl Screen for QueriesScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Queries
    }

    fn title(&self) -> String {
        view::title(self)
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        if self.in_flight {
            return Vec::new();
        }
        self.load()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Queries(m) = msg else {
            return Vec::new();
        };
        let loaded = |s: &mut Self, gen: u64, err: Option<String>| {
            if gen != s.gen {
                return false;
            }
            s.in_flight = false;
            s.state = match err {
                Some(e) => LoadState::Error(e),
                None => LoadState::Loaded(cx.now),
            };
            true
        };
        match m {
            Msg::Slow { gen, result } => match result {
                Ok((pss, rows)) => {
                    if loaded(self, gen, None) {
                        self.pss = Some(pss);
                        self.rows.set_slow(rows, cx.now);
                    }
                }
                Err(e) => {
                    loaded(self, gen, Some(e.to_string()));
                }
            },
            Msg::Active { gen, result } => match result {
                Ok(rows) => {
                    if loaded(self, gen, None) {
                        self.rows.set_active(rows);
                    }
                }
                Err(e) => {
                    loaded(self, gen, Some(e.to_string()));
                }
            },
            Msg::Locks { gen, result } => match result {
                Ok(rows) => {
                    if loaded(self, gen, None) {
                        self.rows.set_locks(rows);
                    }
                }
                Err(e) => {
                    loaded(self, gen, Some(e.to_string()));
                }
            },
            Msg::Plan { gen, result } => {
                if let Some(Pane::Plan {
                    gen: want,
                    state,
                    plan,
                    ..
                }) = &mut self.pane
                {
                    if *want == gen {
                        match *result {
                            Ok(p) => {
                                *plan = Some(p);
                                *state = LoadState::Loaded(cx.now);
                            }
                            Err(e) => *state = LoadState::Error(e.to_string()),
                        }
                    }
                }
            }
            Msg::Planned { gen, result } => return self.planned(gen, *result),
            Msg::Signalled(r) => return self.signalled(r),
        }
        Vec::new()
    }

    fn action(&mut self, act: ScreenAction, _cx: &Cx) -> Vec<Cmd> {
        let ScreenAction::Queries(act) = act else {
            return Vec::new();
        };
        match act {
            Action::Slow => self.switch(Tab::Slow),
            Action::Active => self.switch(Tab::Active),
            Action::Locks => self.switch(Tab::Locks),
            Action::NextTab => self.switch(self.tab.next()),
            Action::Delta => {
                self.rows.delta = !self.rows.delta;
                Vec::new()
            }
            Action::Cancel => self.plan_signal(Signal::Cancel),
            Action::Terminate => self.plan_signal(Signal::Terminate),
        }
    }

    fn enabled(&self, act: ScreenAction, _cx: &Cx) -> bool {
        let ScreenAction::Queries(act) = act else {
            return false;
        };
        match act {
            Action::Slow | Action::Active | Action::Locks | Action::NextTab => true,
            Action::Delta => self.tab == Tab::Slow,
            Action::Cancel | Action::Terminate => self.rows.selected_session(self.tab).is_some(),
        }
    }

    fn nav(&mut self, nav: Global, cx: &Cx) -> Option<Vec<Cmd>> {
        if let Some(cmds) = self.pane_nav(nav) {
            return Some(cmds);
        }
        match nav {
            Global::Enter => self.open(),
            Global::Back => None,
            Global::Left => Some(self.switch(self.tab.prev())),
            Global::Right => Some(self.switch(self.tab.next())),
            Global::Sort | Global::SortReverse => {
                let server_order = self.rows.cycle_sort(self.tab, nav == Global::SortReverse);
                if server_order && !self.in_flight {
                    return Some(self.load());
                }
                Some(Vec::new())
            }
            other => self
                .rows
                .nav(self.tab, other, usize::from(cx.body_rows).saturating_sub(3))
                .then(Vec::new),
        }
    }

    fn filter(&mut self, text: &str, _cx: &Cx) -> Option<Vec<Cmd>> {
        self.rows.set_filter(text);
        Some(Vec::new())
    }

    fn filter_text(&self) -> Option<&str> {
        Some(self.rows.filter())
    }

    fn load_state(&self) -> &LoadState {
        &self.state
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        view::render(self, frame, area, cx);
    }
}
