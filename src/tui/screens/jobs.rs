//! `:jobs`: the queues of every job system found (counts per state, oldest
//! waiting, failure rate, dead-letter depth, a sparkline of failed jobs over
//! the refreshes seen), failed jobs grouped by normalized error, and a job's
//! detail (payload pretty-printed, stack, history). `r` retries and `x`
//! discards the selected group or job, through the confirm popup and a
//! cancellable progress view.

mod view;

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::error::Result;
use crate::jobs::bulk::Outcome;
use crate::jobs::group::{ErrorGroup, Grouper};
use crate::jobs::plan::{self, DiscardPlan, RetryPlan, Selection};
use crate::jobs::{self as core, Filter, Job, JobSource, QueueSummary, SourceKind, State};
use crate::safety::Mutation;
use crate::session::Session;
use crate::tui::cmd::{Cmd, PendingOp, TaskCx};
use crate::tui::keymap::{def, ActionDef, Global};
use crate::tui::msg::Msg as AppMsg;
use crate::tui::widgets::detail::Detail;
use futures_util::StreamExt;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::collections::{BTreeMap, VecDeque};

/// Failed jobs read per source for the grouping.
pub const SCAN: u64 = 20_000;
/// Refreshes a queue's failure sparkline remembers.
pub const HISTORY: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Retry,
    Discard,
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(Action::Retry, "retry", "retry", "r"),
    def(Action::Discard, "discard", "discard", "x"),
];

/// What one load reads.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub queues: Vec<QueueSummary>,
    pub groups: Vec<ErrorGroup>,
    /// Failed jobs read for the groups.
    pub scanned: u64,
}

#[derive(Debug)]
pub enum Msg {
    Loaded {
        gen: u64,
        result: Result<Box<Loaded>>,
    },
    Shown {
        gen: u64,
        result: Result<Option<Box<Job>>>,
    },
    Done(Box<Result<Outcome>>),
}

fn wrap(m: Msg) -> AppMsg {
    AppMsg::Screen(ScreenMsg::Jobs(m))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Queues,
    Errors,
    Detail,
}

pub struct JobsScreen {
    state: LoadState,
    gen: u64,
    data: Loaded,
    history: BTreeMap<(SourceKind, String), VecDeque<i64>>,
    view: View,
    queue_sel: usize,
    group_sel: usize,
    /// Groups shown only for this queue (Enter on a queue).
    queue_filter: Option<(SourceKind, String)>,
    detail_gen: u64,
    detail: Option<(Box<Job>, Detail)>,
}

impl Default for JobsScreen {
    fn default() -> Self {
        Self::new()
    }
}

async fn sources(s: &Session) -> Result<Vec<Box<dyn JobSource>>> {
    let backends = core::Backends::of(s).await?;
    core::detect_all(&backends, &s.ctx.jobs).await
}

/// Queues and failure groups of every source, read concurrently.
pub async fn load(s: &Session) -> Result<Loaded> {
    let all = sources(s).await?;
    if all.is_empty() {
        return Err(core::registry::none_found());
    }
    let queues = futures_util::future::join_all(all.iter().map(|x| x.queues()));
    let filter = Filter {
        state: Some(State::Failed),
        limit: Some(SCAN),
        ..Filter::default()
    };
    let groups = async {
        let mut g = Grouper::new();
        for source in &all {
            let mut jobs = source.list(&filter);
            while let Some(j) = jobs.next().await {
                g.add(&j?);
            }
        }
        Ok::<_, crate::Error>(g)
    };
    let (queues, groups) = tokio::join!(queues, groups);
    let mut out = Loaded::default();
    for q in queues {
        out.queues.extend(q?);
    }
    let g = groups?;
    out.scanned = g.scanned;
    out.groups = g.finish();
    Ok(out)
}

impl JobsScreen {
    pub fn new() -> JobsScreen {
        JobsScreen {
            state: LoadState::Idle,
            gen: 0,
            data: Loaded::default(),
            history: BTreeMap::new(),
            view: View::Queues,
            queue_sel: 0,
            group_sel: 0,
            queue_filter: None,
            detail_gen: 0,
            detail: None,
        }
    }

    pub fn view(&self) -> View {
        self.view
    }

    fn load(&mut self) -> Vec<Cmd> {
        self.gen = crate::tui::next_gen();
        let gen = self.gen;
        if self.state == LoadState::Idle {
            self.state = LoadState::Loading;
        }
        vec![Cmd::task(
            "jobs",
            Some("jobs".into()),
            move |cx| async move {
                let result = load(&cx.session).await.map(Box::new);
                wrap(Msg::Loaded { gen, result })
            },
        )]
    }

    /// Applies a load: the figures, one sparkline point per queue.
    pub fn apply(&mut self, loaded: Loaded, cx: &Cx) {
        for q in &loaded.queues {
            let h = self.history.entry((q.source, q.queue.clone())).or_default();
            h.push_back(q.counts.failed);
            while h.len() > HISTORY {
                h.pop_front();
            }
        }
        self.data = loaded;
        self.queue_sel = self.queue_sel.min(self.data.queues.len().saturating_sub(1));
        self.group_sel = self.group_sel.min(self.groups().len().saturating_sub(1));
        self.state = LoadState::Loaded(cx.now);
    }

    /// The groups shown: all, or those of the queue opened.
    pub fn groups(&self) -> Vec<&ErrorGroup> {
        self.data
            .groups
            .iter()
            .filter(|g| {
                self.queue_filter
                    .as_ref()
                    .is_none_or(|(s, q)| g.source == *s && g.queues.contains(q))
            })
            .collect()
    }

    fn selected_group(&self) -> Option<&ErrorGroup> {
        self.groups().get(self.group_sel).copied()
    }

    /// Opens `job` as the detail (tests and the detail task's reply).
    pub fn show_job(&mut self, job: Job) {
        let d = view::detail(&job);
        self.detail = Some((Box::new(job), d));
        self.view = View::Detail;
    }

    fn open_group(&mut self) -> Vec<Cmd> {
        let Some(g) = self.selected_group() else {
            return Vec::new();
        };
        let (Some(id), kind) = (g.sample_ids.first().cloned(), g.source) else {
            return Vec::new();
        };
        self.detail_gen = crate::tui::next_gen();
        let gen = self.detail_gen;
        vec![Cmd::task(
            "jobs",
            Some("jobs:show".into()),
            move |cx| async move {
                let result = async {
                    let all = sources(&cx.session).await?;
                    let source = core::pick(&all, Some(kind))?;
                    Ok(source.show(&id).await?.map(Box::new))
                }
                .await;
                wrap(Msg::Shown { gen, result })
            },
        )]
    }

    /// The selection `r`/`x` act on here: the job in the detail, else every
    /// failed job of the selected group.
    fn selection(&self) -> Option<(SourceKind, Selection, u64)> {
        match self.view {
            View::Detail => self.detail.as_ref().map(|(j, _)| {
                (
                    j.source,
                    Selection::Ids {
                        ids: vec![j.id.clone()],
                    },
                    1,
                )
            }),
            View::Errors => self.selected_group().map(|g| {
                (
                    g.source,
                    Selection::AllFailed {
                        queue: self.queue_filter.as_ref().map(|(_, q)| q.clone()),
                        error_like: None,
                        pattern: Some(g.pattern.clone()),
                    },
                    g.count.max(0) as u64,
                )
            }),
            View::Queues => None,
        }
    }

    fn change(&self, action: Action) -> Vec<Cmd> {
        let Some((kind, selection, matched)) = self.selection() else {
            return Vec::new();
        };
        let total = Some(matched);
        match action {
            Action::Retry => confirm(
                RetryPlan::new(kind, selection, Some(matched)),
                move |cx, approved| async move {
                    let r = run_write(&cx, kind, total, |source, stop, progress| {
                        Box::pin(plan::execute_retry(source, approved, stop, progress))
                    })
                    .await;
                    wrap(Msg::Done(Box::new(r)))
                },
            ),
            Action::Discard => confirm(
                DiscardPlan::new(kind, selection, Some(matched)),
                move |cx, approved| async move {
                    let r = run_write(&cx, kind, total, |source, stop, progress| {
                        Box::pin(plan::execute_discard(source, approved, stop, progress))
                    })
                    .await;
                    wrap(Msg::Done(Box::new(r)))
                },
            ),
        }
    }
}

type Write<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Outcome>> + Send + 'a>>;

/// Finds the plan's source in the task and runs the change on it, its
/// progress going to the progress view.
async fn run_write<F>(
    cx: &TaskCx,
    kind: SourceKind,
    total: Option<u64>,
    write: F,
) -> Result<Outcome>
where
    F: for<'a> FnOnce(
        &'a dyn JobSource,
        &'a crate::stop::Stop,
        Box<dyn FnMut(&crate::jobs::bulk::Progress) + Send + 'a>,
    ) -> Write<'a>,
{
    let all = sources(&cx.session).await?;
    let source = core::pick(&all, Some(kind))?;
    let progress = Box::new(|p: &crate::jobs::bulk::Progress| {
        cx.progress(
            p.done,
            total,
            format!("{} batches, {} skipped", p.batches, p.skipped),
        );
    });
    write(source, cx.stop(), progress).await
}

fn confirm<P, F, Fut>(plan: P, run: F) -> Vec<Cmd>
where
    P: Mutation,
    F: FnOnce(TaskCx, crate::safety::Authorized<P>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = AppMsg> + Send + 'static,
{
    let intent = plan.intent();
    let label = format!("{} {}", intent.action, intent.target);
    vec![Cmd::Confirm(PendingOp::new(plan, label, run))]
}

impl Screen for JobsScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Jobs
    }

    fn title(&self) -> String {
        match (self.view, &self.queue_filter) {
            (View::Queues, _) => "jobs · queues".into(),
            (View::Errors, Some((_, q))) => format!("jobs · failures in {q}"),
            (View::Errors, None) => "jobs · failures by error".into(),
            (View::Detail, _) => match &self.detail {
                Some((j, _)) => format!("jobs · {} {}", j.queue, j.id),
                None => "jobs · job".into(),
            },
        }
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.load()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Jobs(m) = msg else {
            return Vec::new();
        };
        match m {
            Msg::Loaded { gen, result } => {
                if gen == self.gen {
                    match result {
                        Ok(l) => self.apply(*l, cx),
                        Err(e) => self.state = LoadState::Error(e.to_string()),
                    }
                }
                Vec::new()
            }
            Msg::Shown { gen, result } => {
                if gen != self.detail_gen {
                    return Vec::new();
                }
                match result {
                    Ok(Some(j)) => {
                        self.show_job(*j);
                        Vec::new()
                    }
                    Ok(None) => vec![Cmd::Status(Err(
                        "the job is gone (completed or discarded since)".into(),
                    ))],
                    Err(e) => vec![Cmd::Status(Err(e.to_string()))],
                }
            }
            Msg::Done(r) => {
                let status = match *r {
                    Ok(o) if o.cancelled => Ok(format!("cancelled after {} jobs", o.done)),
                    Ok(o) => Ok(format!(
                        "{} jobs done ({}), {} skipped",
                        o.done, o.source, o.skipped
                    )),
                    Err(e) => Err(e.to_string()),
                };
                if self.view == View::Detail {
                    self.view = View::Errors;
                    self.detail = None;
                }
                let mut cmds = vec![Cmd::Status(status)];
                cmds.extend(self.load());
                cmds
            }
        }
    }

    fn action(&mut self, action: ScreenAction, cx: &Cx) -> Vec<Cmd> {
        let ScreenAction::Jobs(a) = action else {
            return Vec::new();
        };
        if !self.enabled(action, cx) {
            return Vec::new();
        }
        self.change(a)
    }

    fn enabled(&self, action: ScreenAction, cx: &Cx) -> bool {
        matches!(action, ScreenAction::Jobs(_))
            && !cx.context.read_only
            && self.selection().is_some()
    }

    fn nav(&mut self, nav: Global, _cx: &Cx) -> Option<Vec<Cmd>> {
        let (sel, len) = match self.view {
            View::Queues => (&mut self.queue_sel, self.data.queues.len()),
            View::Errors => {
                let len = self.groups().len();
                (&mut self.group_sel, len)
            }
            View::Detail => {
                return match nav {
                    Global::Back => {
                        self.view = View::Errors;
                        self.detail = None;
                        Some(Vec::new())
                    }
                    other => self
                        .detail
                        .as_mut()
                        .and_then(|(_, d)| d.nav(other).then(Vec::new)),
                };
            }
        };
        let last = len.saturating_sub(1);
        match nav {
            Global::Up => *sel = sel.saturating_sub(1),
            Global::Down => *sel = (*sel + 1).min(last),
            Global::Top => *sel = 0,
            Global::Bottom => *sel = last,
            Global::PageUp => *sel = sel.saturating_sub(10),
            Global::PageDown => *sel = (*sel + 10).min(last),
            Global::Right if self.view == View::Queues => self.view = View::Errors,
            Global::Left if self.view == View::Errors => {
                self.view = View::Queues;
                self.queue_filter = None;
            }
            Global::Enter if self.view == View::Queues => {
                let q = self.data.queues.get(self.queue_sel)?;
                self.queue_filter = Some((q.source, q.queue.clone()));
                self.group_sel = 0;
                self.view = View::Errors;
            }
            Global::Enter => return Some(self.open_group()),
            Global::Back if self.view == View::Errors => {
                self.view = View::Queues;
                self.queue_filter = None;
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    fn enter_hint(&self) -> Option<&'static str> {
        match self.view {
            View::Queues => Some("failures of this queue"),
            View::Errors => Some("newest job of the group"),
            View::Detail => None,
        }
    }

    fn load_state(&self) -> &LoadState {
        &self.state
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        view::render(self, frame, area, cx);
    }
}

/// Reads for the view.
impl JobsScreen {
    pub(crate) fn load_state_ref(&self) -> &LoadState {
        &self.state
    }

    pub(crate) fn data(&self) -> &Loaded {
        &self.data
    }

    pub(crate) fn history(&self, q: &QueueSummary) -> Option<&VecDeque<i64>> {
        self.history.get(&(q.source, q.queue.clone()))
    }

    pub(crate) fn queue_sel(&self) -> usize {
        self.queue_sel
    }

    pub(crate) fn group_sel(&self) -> usize {
        self.group_sel
    }

    pub(crate) fn detail_pane(&self) -> Option<&Detail> {
        self.detail.as_ref().map(|(_, d)| d)
    }
}
