//! `:drills`: the restore drill history, newest first; Enter shows a
//! drill's results by check; `n` starts a drill with the context's settings
//! (the newest archive in drills.dump_dir, else a fresh dump) behind the
//! confirm popup and a progress view per phase that Esc cancels.

mod view;

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::drills::{self, DrillPlan, DrillReport, DrillRequest, Progress};
use crate::error::Result;
use crate::tui::cmd::{Cmd, PendingOp};
use crate::tui::keymap::{def, ActionDef, Global};
use crate::tui::msg::Msg as AppMsg;
use ratatui::layout::Rect;
use ratatui::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Run,
}

pub const ACTIONS: &[ActionDef<Action>] = &[def(Action::Run, "run", "run a drill", "n")];

#[derive(Debug)]
pub enum Msg {
    Loaded {
        gen: u64,
        result: Result<Vec<DrillReport>>,
    },
    Planned(Box<Result<DrillPlan>>),
    Finished(Box<Result<DrillReport>>),
}

fn wrap(m: Msg) -> AppMsg {
    AppMsg::Screen(ScreenMsg::Drills(m))
}

pub struct DrillsScreen {
    state: LoadState,
    gen: u64,
    rows: Vec<DrillReport>,
    selected: usize,
    /// The drill whose results are shown (Enter), by index into `rows`.
    open: Option<usize>,
    /// The check under the cursor in the results.
    check: usize,
}

impl Default for DrillsScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl DrillsScreen {
    pub fn new() -> DrillsScreen {
        DrillsScreen {
            state: LoadState::Idle,
            gen: 0,
            rows: Vec::new(),
            selected: 0,
            open: None,
            check: 0,
        }
    }

    pub fn rows(&self) -> &[DrillReport] {
        &self.rows
    }

    pub fn open(&self) -> Option<&DrillReport> {
        self.open.and_then(|i| self.rows.get(i))
    }

    /// Shows `rows` as loaded (render tests, and the reply of a load).
    pub fn set_rows(&mut self, rows: Vec<DrillReport>, cx: &Cx) {
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.open = self.open.filter(|i| *i < self.rows.len());
        self.state = LoadState::Loaded(cx.now);
    }

    /// Opens the results of the selected drill.
    pub fn open_selected(&mut self) {
        if self.selected < self.rows.len() {
            self.open = Some(self.selected);
            self.check = 0;
        }
    }

    fn load(&mut self) -> Vec<Cmd> {
        self.gen = crate::tui::next_gen();
        if self.rows.is_empty() {
            self.state = LoadState::Loading;
        }
        let gen = self.gen;
        vec![Cmd::task(
            "drills.list",
            Some("drills".into()),
            move |cx| async move {
                let s = &cx.session;
                let local = drills::history::local_file(&s.paths.data_dir);
                let result = async {
                    let pg = if s.has_pg() {
                        Some(s.pg().await?)
                    } else {
                        None
                    };
                    drills::history::list(pg.as_deref(), &local).await
                }
                .await;
                wrap(Msg::Loaded { gen, result })
            },
        )]
    }

    fn plan(&self) -> Vec<Cmd> {
        vec![Cmd::task(
            "drills.plan",
            Some("drills:plan".into()),
            |cx| async move {
                let s = &cx.session;
                let result = async {
                    let pg = s.pg().await?;
                    drills::plan(&s.ctx.drills, DrillRequest::default(), &pg.target)
                }
                .await;
                wrap(Msg::Planned(Box::new(result)))
            },
        )]
    }

    fn confirm(plan: DrillPlan) -> Vec<Cmd> {
        let label = format!("restore drill into {}", plan.target.describe());
        vec![Cmd::Confirm(PendingOp::new(
            plan,
            label,
            |cx, approved| async move {
                let s = cx.session.clone();
                let result = async {
                    let pg = s.pg().await?;
                    let env = drills::DrillEnv {
                        source: &pg,
                        source_login: crate::conn::child::ChildLogin::for_context(&s.ctx).await?,
                        settings: &s.ctx.drills,
                        schema: &s.ctx.schema,
                        history_file: drills::history::local_file(&s.paths.data_dir),
                        operator: crate::audit::Actor::current(Some(pg.role.clone())).os,
                        context: s.ctx.name.clone(),
                    };
                    let on = |p: Progress| {
                        let total = (p.total > 0).then_some(p.total);
                        cx.progress(p.done, total, format!("{}: {}", p.phase.as_str(), p.label));
                    };
                    drills::run(&env, approved, cx.stop(), &on).await
                }
                .await;
                wrap(Msg::Finished(Box::new(result)))
            },
        ))]
    }
}

impl Screen for DrillsScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Drills
    }

    fn title(&self) -> String {
        match self.open() {
            Some(r) => format!(
                "drills · {} {}",
                r.id.map_or("-".into(), |i| i.to_string()),
                r.status.as_str()
            ),
            None => "drills".into(),
        }
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.load()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Drills(m) = msg else {
            return Vec::new();
        };
        match m {
            Msg::Loaded { gen, result } => {
                if gen == self.gen {
                    match result {
                        Ok(rows) => self.set_rows(rows, cx),
                        Err(e) => self.state = LoadState::Error(e.to_string()),
                    }
                }
                Vec::new()
            }
            Msg::Planned(result) => match *result {
                Ok(plan) => Self::confirm(plan),
                Err(e) => vec![Cmd::Status(Err(e.to_string()))],
            },
            Msg::Finished(result) => {
                let status = match *result {
                    Ok(r) => Ok(format!(
                        "drill {} {}: RTO {}, {} of {} checks ok",
                        r.id.map_or("-".into(), |i| i.to_string()),
                        r.status.as_str(),
                        crate::units::millis(r.rto_ms as f64),
                        r.checks.iter().filter(|c| c.passed()).count(),
                        r.checks.len()
                    )),
                    Err(e) => Err(format!("drill: {e}")),
                };
                self.selected = 0;
                self.open = None;
                let mut cmds = vec![Cmd::Status(status)];
                cmds.extend(self.load());
                cmds
            }
        }
    }

    fn action(&mut self, act: ScreenAction, _cx: &Cx) -> Vec<Cmd> {
        let ScreenAction::Drills(Action::Run) = act else {
            return Vec::new();
        };
        self.plan()
    }

    fn enabled(&self, act: ScreenAction, cx: &Cx) -> bool {
        let ScreenAction::Drills(Action::Run) = act else {
            return false;
        };
        cx.context.has_pg && !cx.context.read_only
    }

    fn nav(&mut self, nav: Global, _cx: &Cx) -> Option<Vec<Cmd>> {
        let (cursor, len) = match self.open() {
            Some(r) => {
                let n = r.checks.len();
                (&mut self.check, n)
            }
            None => (&mut self.selected, self.rows.len()),
        };
        let last = len.saturating_sub(1);
        match nav {
            Global::Back if self.open.is_some() => self.open = None,
            Global::Back => return None,
            Global::Enter if self.open.is_none() => self.open_selected(),
            Global::Up => *cursor = cursor.saturating_sub(1),
            Global::Down => *cursor = (*cursor + 1).min(last),
            Global::Top => *cursor = 0,
            Global::Bottom => *cursor = last,
            Global::PageUp => *cursor = cursor.saturating_sub(10),
            Global::PageDown => *cursor = (*cursor + 10).min(last),
            _ => return None,
        }
        Some(Vec::new())
    }

    fn enter_hint(&self) -> Option<&'static str> {
        (self.open.is_none() && !self.rows.is_empty()).then_some("results")
    }

    fn load_state(&self) -> &LoadState {
        &self.state
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        match self.open() {
            Some(r) => view::results(frame, area, r, self.check, cx),
            None => view::history(frame, area, &self.rows, self.selected, &self.state, cx),
        }
    }
}
