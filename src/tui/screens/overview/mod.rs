//! The overview screen, a cockpit: one pane per store with the figures of
//! `opsdeck overview` (coloured by the context's thresholds, each with a
//! sparkline of its recent values), what costs the most right now, and the
//! latest audit records, laid out by the body's size. Each pane's key opens
//! its screen. Panes live in `panes/`; `pane.rs` says how to add one.

pub mod pane;
pub mod panes;

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::audit::AuditEntry;
use crate::drills::status::LastDrill;
use crate::health::overview::{self, Overview};
use crate::jobs::health::JobsHealth;
use crate::keys::store::{self as keys_store, Expiring};
use crate::migrations::Summary;
use crate::tui::cmd::Cmd;
use crate::tui::keymap::{def, ActionDef};
use crate::tui::msg::Msg as AppMsg;
use crate::tui::text;
use crate::tui::widgets::sparkline::Series;
use pane::{Data, PANES};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::collections::BTreeMap;

/// Values kept per figure for its sparkline.
const HISTORY: usize = 120;

/// The audit records read for the pane are those of the last week.
const AUDIT_DAYS: i64 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Opens the screen of a pane.
    Open(ScreenId),
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(
        Action::Open(ScreenId::Tenants),
        "open_tenants",
        "tenants",
        "t",
    ),
    def(Action::Open(ScreenId::Cache), "open_cache", "cache", "c"),
    def(Action::Open(ScreenId::Audit), "open_audit", "audit", "a"),
    def(
        Action::Open(ScreenId::Queries),
        "open_queries",
        "queries",
        "Q",
    ),
    def(Action::Open(ScreenId::Keys), "open_keys", "api keys", "K"),
    def(
        Action::Open(ScreenId::Migrations),
        "open_migrations",
        "migrations",
        "M",
    ),
    def(Action::Open(ScreenId::Jobs), "open_jobs", "jobs", "J"),
    def(Action::Open(ScreenId::Drills), "open_drills", "drills", "D"),
];

#[derive(Debug)]
pub enum Msg {
    Loaded {
        gen: u64,
        result: crate::Result<Box<Overview>>,
        audit: Result<Vec<AuditEntry>, String>,
        keys: Result<Option<Expiring>, String>,
        migrations: Result<Option<Summary>, String>,
        jobs: Box<Result<Option<JobsHealth>, String>>,
        drill: Result<Option<LastDrill>, String>,
    },
}

pub struct OverviewScreen {
    state: LoadState,
    gen: u64,
    current: Option<Overview>,
    audit: Result<Vec<AuditEntry>, String>,
    keys: Result<Option<Expiring>, String>,
    migrations: Result<Option<Summary>, String>,
    jobs: Result<Option<JobsHealth>, String>,
    drill: Result<Option<LastDrill>, String>,
    series: BTreeMap<&'static str, Series>,
    /// A collection is running: refreshes wait for it instead of piling up
    /// (a slow server must not have every tick cancel the one before).
    in_flight: bool,
}

impl Default for OverviewScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl OverviewScreen {
    pub fn new() -> OverviewScreen {
        OverviewScreen {
            state: LoadState::Idle,
            gen: 0,
            current: None,
            audit: Ok(Vec::new()),
            keys: Ok(None),
            migrations: Ok(None),
            jobs: Ok(None),
            drill: Ok(None),
            series: BTreeMap::new(),
            in_flight: false,
        }
    }

    pub fn current(&self) -> Option<&Overview> {
        self.current.as_ref()
    }

    pub fn series(&self, key: &str) -> Option<&Series> {
        self.series.get(key)
    }

    fn load(&mut self) -> Vec<Cmd> {
        self.in_flight = true;
        self.gen = crate::tui::next_gen();
        if self.current.is_none() {
            self.state = LoadState::Loading;
        }
        let gen = self.gen;
        vec![Cmd::task(
            "overview.collect",
            Some("overview".into()),
            move |cx| async move {
                let s = &cx.session;
                let audit = async {
                    let since = chrono::Utc::now() - chrono::Duration::days(AUDIT_DAYS);
                    let mut v = s.safety().await.audit().list(Some(since), None).await?;
                    v.truncate(panes::audit::LATEST);
                    Ok::<_, crate::Error>(v)
                };
                let keys = async {
                    if !s.has_pg() {
                        return Ok(None);
                    }
                    let pg = s.pg().await?;
                    let (map, settings) = (&s.ctx.schema, &s.ctx.api_keys);
                    keys_store::expiring(&pg, map, settings, panes::keys::FIRST).await
                };
                let migrations = async {
                    if !s.has_pg() {
                        return Ok(None);
                    }
                    let pg = s.pg().await?;
                    let statuses = crate::migrations::status(&pg, &s.ctx.migrations, None).await?;
                    Ok::<_, crate::Error>(
                        (!statuses.is_empty())
                            .then(|| crate::migrations::summary(&statuses, chrono::Utc::now())),
                    )
                };
                let jobs = async {
                    let backends = crate::jobs::Backends::of(s).await?;
                    crate::jobs::health::collect(&backends, &s.ctx.jobs).await
                };
                let drill = async {
                    if !s.has_pg() {
                        return Ok(None);
                    }
                    let pg = s.pg().await?;
                    let local = crate::drills::history::local_file(&s.paths.data_dir);
                    crate::drills::status::last(Some(&pg), &local, s.ctx.drills.interval_days).await
                };
                let (result, audit, keys, migrations, jobs, drill) =
                    tokio::join!(overview::collect(s), audit, keys, migrations, jobs, drill);
                AppMsg::Screen(ScreenMsg::Overview(Msg::Loaded {
                    gen,
                    result: result.map(Box::new),
                    audit: audit.map_err(|e| e.to_string()),
                    keys: keys.map_err(|e| e.to_string()),
                    migrations: migrations.map_err(|e| e.to_string()),
                    jobs: Box::new(jobs.map_err(|e| e.to_string())),
                    drill: drill.map_err(|e| e.to_string()),
                }))
            },
        )]
    }

    /// Applies a snapshot: TPS and the Redis window from the previous one,
    /// then one point per figure.
    pub fn apply(&mut self, mut snapshot: Overview, cx: &Cx) {
        if let Some(prev) = &self.current {
            snapshot.window_since(prev);
        }
        for f in snapshot.figures(&cx.context.thresholds) {
            if let Some(v) = f.value {
                self.series
                    .entry(f.key)
                    .or_insert_with(|| Series::new(HISTORY))
                    .push(v);
            }
        }
        self.current = Some(snapshot);
        self.state = LoadState::Loaded(cx.now);
    }

    /// The audit pane's entries, newest first.
    pub fn set_audit(&mut self, audit: Result<Vec<AuditEntry>, String>) {
        self.audit = audit;
    }

    /// The migrations pane's summary.
    pub fn set_migrations(&mut self, m: Result<Option<Summary>, String>) {
        self.migrations = m;
    }

    /// The jobs pane's figures.
    pub fn set_jobs(&mut self, jobs: Result<Option<JobsHealth>, String>) {
        self.jobs = jobs;
    }

    /// The drills pane's last drill.
    pub fn set_drill(&mut self, d: Result<Option<LastDrill>, String>) {
        self.drill = d;
    }

    /// The keys pane's figure.
    pub fn set_keys(&mut self, keys: Result<Option<Expiring>, String>) {
        self.keys = keys;
    }
}

impl Screen for OverviewScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Overview
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

    fn resume(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.load()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Overview(Msg::Loaded {
            gen,
            result,
            audit,
            keys,
            migrations,
            jobs,
            drill,
        }) = msg
        else {
            return Vec::new();
        };
        if gen != self.gen {
            return Vec::new();
        }
        self.in_flight = false;
        self.audit = audit;
        self.keys = keys;
        self.migrations = migrations;
        let jobs = *jobs;
        if let Ok(Some(j)) = &jobs {
            self.series
                .entry("failed_jobs")
                .or_insert_with(|| Series::new(HISTORY))
                .push(j.failed as f64);
        }
        self.jobs = jobs;
        self.drill = drill;
        match result {
            Ok(snapshot) => self.apply(*snapshot, cx),
            Err(e) => self.state = LoadState::Error(e.to_string()),
        }
        Vec::new()
    }

    fn action(&mut self, act: ScreenAction, _cx: &Cx) -> Vec<Cmd> {
        let ScreenAction::Overview(Action::Open(id)) = act else {
            return Vec::new();
        };
        vec![Cmd::Show(id)]
    }

    fn enabled(&self, act: ScreenAction, cx: &Cx) -> bool {
        let ScreenAction::Overview(Action::Open(id)) = act else {
            return false;
        };
        match id {
            ScreenId::Tenants
            | ScreenId::Keys
            | ScreenId::Migrations
            | ScreenId::Queries
            | ScreenId::Indexes
            | ScreenId::Drills => cx.context.has_pg,
            ScreenId::Cache => cx.context.has_redis,
            ScreenId::Jobs => cx.context.has_pg || cx.context.has_redis,
            ScreenId::Overview | ScreenId::Audit => true,
        }
    }

    fn load_state(&self) -> &LoadState {
        &self.state
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        let theme = &cx.env.theme;
        let mut notes: Vec<Line> = Vec::new();
        if let LoadState::Error(e) = &self.state {
            notes.push(text::line(e, theme.error()));
        }
        let Some(ov) = &self.current else {
            if notes.is_empty() {
                notes.push(Line::styled("collecting…", theme.muted()));
            }
            frame.render_widget(Paragraph::new(notes), area);
            return;
        };
        if !cx.context.has_pg && !cx.context.has_redis {
            notes.push(Line::styled(
                "nothing to watch: pass --pg / --redis or add pg and redis to the context",
                theme.warn(),
            ));
        }
        let [notes_area, panes_area] = Layout::vertical([
            Constraint::Length(u16::try_from(notes.len()).unwrap_or(0)),
            Constraint::Min(0),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(notes), notes_area);
        let figures = ov.figures(&cx.context.thresholds);
        let data = Data {
            overview: ov,
            figures: &figures,
            series: &self.series,
            audit: &self.audit,
            keys: &self.keys,
            migrations: &self.migrations,
            jobs: &self.jobs,
            drill: &self.drill,
        };
        // A pane that wants no rows has nothing to say here (no job system).
        let shown: Vec<_> = PANES
            .iter()
            .filter(|p| p.shown(cx))
            .map(|p| (*p, p.rows(&data)))
            .filter(|(_, rows)| *rows > 0)
            .collect();
        for (i, rect) in pane::layout(panes_area, &shown) {
            let p = shown[i].0;
            let inner = pane::frame_pane(frame, rect, p, cx);
            p.render(frame, inner, &data, cx);
        }
    }
}
