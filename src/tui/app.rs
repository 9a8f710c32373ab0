//! The app state and the pure `update`: every event and every task result
//! arrives as a [`Msg`]; `update` changes the state and returns the effects
//! ([`Cmd`]) for the runtime. No I/O happens here, so state tests drive it
//! directly.

use super::cmd::{Cmd, PendingOp};
use super::command_bar::{BarOutcome, Command, CommandBar};
use super::env::Env;
use super::keymap::{Global, Key};
use super::msg::{ConnInfo, ContextInfo, Msg, PgInfo};
use super::popups::confirm::{Answer, ConfirmPopup};
use super::popups::secret::SecretPopup;
use super::screens::{Cx, LoadState, Screen, ScreenId};
use super::widgets::progress::Progress;
use crate::safety::Approval;
use crate::session::Session;
use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, MouseEvent, MouseEventKind};
use std::time::{Duration, Instant};

pub enum Mode {
    Normal,
    Command(CommandBar),
    Filter(String),
    Help,
}

pub enum Popup {
    Confirm(ConfirmPopup),
    Secret(SecretPopup),
    Progress(Progress),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConnState {
    Connecting,
    Up(ConnInfo),
    Lost {
        reason: String,
        attempt: u32,
        retry_at: Instant,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub text: String,
    pub error: bool,
    pub at: Instant,
}

const HISTORY: usize = 50;

pub struct App {
    pub env: Env,
    pub context: ContextInfo,
    /// Session epoch: bumped by the runtime on every new session; replies
    /// from an older one are dropped.
    pub epoch: u64,
    pub conn: ConnState,
    stack: Vec<Box<dyn Screen>>,
    pub mode: Mode,
    pub popup: Option<Popup>,
    pub status: Option<Status>,
    pub paused: bool,
    pub now: Instant,
    pub size: (u16, u16),
    pub quit: bool,
    pub history: Vec<String>,
    /// Whether the last message changed anything worth drawing.
    pub dirty: bool,
    refreshed_at: Instant,
    probed_at: Instant,
}

/// Builds the screens' view of the app from disjoint fields, so a screen can
/// be borrowed mutably at the same time.
fn cx<'a>(
    env: &'a Env,
    context: &'a ContextInfo,
    now: Instant,
    size: (u16, u16),
    focused: bool,
) -> Cx<'a> {
    Cx {
        env,
        context,
        now,
        body_rows: body_rows(size),
        focused,
    }
}

/// Rows inside the body's border: the terminal minus header, banner, status
/// line, footer and the border itself.
pub fn body_rows(size: (u16, u16)) -> u16 {
    size.1.saturating_sub(6)
}

pub fn backoff(attempt: u32) -> Duration {
    Duration::from_secs((1u64 << attempt.min(5)).min(30))
}

impl App {
    /// The app on the overview, plus the first effects (load it, probe the connections).
    pub fn new(env: Env, context: ContextInfo, now: Instant, size: (u16, u16)) -> (App, Vec<Cmd>) {
        App::with_screen(env, context, now, size, ScreenId::Overview.build())
    }

    /// The app on a given first screen (render tests start from a screen with data).
    pub fn with_screen(
        env: Env,
        context: ContextInfo,
        now: Instant,
        size: (u16, u16),
        first: Box<dyn Screen>,
    ) -> (App, Vec<Cmd>) {
        let mut app = App {
            env,
            context,
            epoch: 0,
            conn: ConnState::Connecting,
            stack: Vec::new(),
            mode: Mode::Normal,
            popup: None,
            status: None,
            paused: false,
            now,
            size,
            quit: false,
            history: Vec::new(),
            dirty: true,
            refreshed_at: now,
            probed_at: now,
        };
        app.stack.push(first);
        let cmds = app.enter_top();
        let mut all = app.absorb(cmds);
        all.push(probe());
        (app, all)
    }

    pub fn screen(&self) -> Option<&dyn Screen> {
        self.stack.last().map(|s| s.as_ref())
    }

    pub fn screen_ids(&self) -> Vec<ScreenId> {
        self.stack.iter().map(|s| s.id()).collect()
    }

    pub fn cx(&self) -> Cx<'_> {
        let focused = self.popup.is_none() && !matches!(self.mode, Mode::Help);
        cx(&self.env, &self.context, self.now, self.size, focused)
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Cmd> {
        self.dirty = true;
        let cmds = match msg {
            Msg::Key(k) if k.kind == KeyEventKind::Release => {
                self.dirty = false;
                Vec::new()
            }
            Msg::Key(k) => self.on_key(k),
            Msg::Mouse(m) => self.on_mouse(m),
            Msg::Resize(w, h) => {
                self.size = (w, h);
                Vec::new()
            }
            Msg::Tick(now) => self.on_tick(now),
            Msg::Reply { epoch, key, msg } => {
                let mut closed = false;
                if let (Some(Popup::Progress(p)), Some(k)) = (&self.popup, &key) {
                    if &p.key == k {
                        self.popup = None;
                        closed = true;
                    }
                }
                if epoch != self.epoch {
                    tracing::debug!(
                        "dropped a reply from session epoch {epoch} (now {})",
                        self.epoch
                    );
                    self.dirty = closed;
                    return Vec::new();
                }
                return self.update(*msg);
            }
            Msg::Screen(m) => {
                let target = m.target();
                let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
                match self.stack.iter_mut().rev().find(|s| s.id() == target) {
                    Some(screen) => screen.update(m, &cx(env, context, now, size, true)),
                    None => {
                        self.dirty = false;
                        Vec::new()
                    }
                }
            }
            Msg::Connected(r) => self.on_connected(r),
            Msg::ContextReady { epoch, info } => self.on_context(epoch, info),
            Msg::ContextFailed(e) => {
                self.set_status(Err(e));
                Vec::new()
            }
            Msg::Progress {
                key,
                done,
                total,
                note,
            } => {
                if let Some(Popup::Progress(p)) = &mut self.popup {
                    if p.key == key {
                        p.set(done, total, note);
                    }
                }
                Vec::new()
            }
            Msg::Status(r) => {
                self.set_status(r);
                Vec::new()
            }
        };
        self.absorb(cmds)
    }

    fn set_status(&mut self, r: std::result::Result<String, String>) {
        let (text, error) = match r {
            Ok(t) => (t, false),
            Err(t) => (t, true),
        };
        self.status = Some(Status {
            text,
            error,
            at: self.now,
        });
    }

    /// Takes the UI effects (popups, pushes, status) and hands back the rest
    /// for the runtime.
    pub fn absorb(&mut self, cmds: Vec<Cmd>) -> Vec<Cmd> {
        let mut out = Vec::new();
        for cmd in cmds {
            match cmd {
                Cmd::Confirm(op) => {
                    self.popup = Some(Popup::Confirm(ConfirmPopup::new(
                        op,
                        self.context.read_only,
                    )))
                }
                Cmd::ShowSecret { title, secret } => {
                    self.popup = Some(Popup::Secret(SecretPopup::new(title, secret)))
                }
                Cmd::Progress { key, label } => {
                    self.popup = Some(Popup::Progress(Progress::new(key, label, self.now)))
                }
                Cmd::Push(screen) => {
                    self.stack.push(screen);
                    let more = self.enter_top();
                    out.extend(self.absorb(more));
                }
                Cmd::Status(r) => self.set_status(r),
                other => out.push(other),
            }
        }
        out
    }

    fn enter_top(&mut self) -> Vec<Cmd> {
        self.refreshed_at = self.now;
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        match self.stack.last_mut() {
            Some(s) => s.enter(&cx(env, context, now, size, true)),
            None => Vec::new(),
        }
    }

    fn refresh_top(&mut self) -> Vec<Cmd> {
        self.refreshed_at = self.now;
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        match self.stack.last_mut() {
            Some(s) => s.refresh(&cx(env, context, now, size, true)),
            None => Vec::new(),
        }
    }

    /// Shows a screen: back to it when it is open, else opens it on top.
    fn show(&mut self, id: ScreenId) -> Vec<Cmd> {
        if let Some(pos) = self.stack.iter().position(|s| s.id() == id) {
            self.stack.truncate(pos + 1);
            return self.refresh_top();
        }
        self.stack.push(id.build());
        self.enter_top()
    }

    fn on_key(&mut self, ev: KeyEvent) -> Vec<Cmd> {
        if let Some(popup) = self.popup.take() {
            return self.popup_key(popup, ev);
        }
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => {}
            Mode::Help => return Vec::new(),
            Mode::Command(mut bar) => {
                return match bar.key(ev, &self.env.contexts, &self.history) {
                    BarOutcome::Open => {
                        self.mode = Mode::Command(bar);
                        Vec::new()
                    }
                    BarOutcome::Closed => Vec::new(),
                    BarOutcome::Run(text) => self.run_command(text),
                }
            }
            Mode::Filter(text) => return self.filter_key(text, ev),
        }
        let key = Key::from_event(&ev);
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        let Some(screen) = self.stack.last_mut() else {
            return Vec::new();
        };
        let cx = cx(env, context, now, size, true);
        if let Some(action) = env.keymap.screen(screen.id().name(), &key) {
            if screen.enabled(action, &cx) {
                return screen.action(action, &cx);
            }
            let msg = format!("{action} is not available here now");
            self.set_status(Err(msg));
            return Vec::new();
        }
        let Some(global) = env.keymap.global(&key) else {
            self.dirty = false;
            return Vec::new();
        };
        match global {
            Global::Quit => {
                self.quit = true;
                Vec::new()
            }
            Global::Help => {
                self.mode = Mode::Help;
                Vec::new()
            }
            Global::Command => {
                self.mode = Mode::Command(CommandBar::default());
                Vec::new()
            }
            Global::Filter => {
                match screen.filter_text() {
                    Some(current) => self.mode = Mode::Filter(current.to_string()),
                    None => self.set_status(Err("nothing to filter on this screen".into())),
                }
                Vec::new()
            }
            Global::Back => match screen.nav(Global::Back, &cx) {
                Some(cmds) => cmds,
                None if self.stack.len() > 1 => {
                    self.stack.pop();
                    self.refresh_top()
                }
                None => Vec::new(),
            },
            Global::Refresh => self.refresh_top(),
            Global::Pause => {
                self.paused = !self.paused;
                Vec::new()
            }
            nav => screen.nav(nav, &cx).unwrap_or_default(),
        }
    }

    fn filter_key(&mut self, mut text: String, ev: KeyEvent) -> Vec<Cmd> {
        let keep_open = match ev.code {
            KeyCode::Esc => {
                text.clear();
                false
            }
            KeyCode::Enter => false,
            KeyCode::Backspace => {
                text.pop();
                true
            }
            KeyCode::Char(c) => {
                text.push(c);
                true
            }
            _ => true,
        };
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        let cmds = match self.stack.last_mut() {
            Some(s) => s
                .filter(&text, &cx(env, context, now, size, true))
                .unwrap_or_default(),
            None => Vec::new(),
        };
        if keep_open {
            self.mode = Mode::Filter(text);
        }
        cmds
    }

    fn popup_key(&mut self, popup: Popup, ev: KeyEvent) -> Vec<Cmd> {
        match popup {
            Popup::Confirm(c) => match c.key(ev) {
                (Some(c), _) => {
                    self.popup = Some(Popup::Confirm(c));
                    Vec::new()
                }
                (None, Answer::Approved(op, approval)) => self.run_op(op, approval),
                (None, _) => {
                    self.set_status(Ok("cancelled; nothing was changed".into()));
                    Vec::new()
                }
            },
            Popup::Secret(s) => {
                let (s, cmds) = s.key(ev);
                self.popup = s.map(Popup::Secret);
                cmds
            }
            Popup::Progress(mut p) => {
                let cancel = Key::from_event(&ev) == Key::new(KeyCode::Esc, ev.modifiers)
                    || self.env.keymap.global(&Key::from_event(&ev)) == Some(Global::Back);
                let cmds = if cancel && !p.cancelling {
                    p.cancelling = true;
                    vec![Cmd::Abort(p.key.clone())]
                } else {
                    Vec::new()
                };
                self.popup = Some(Popup::Progress(p));
                cmds
            }
        }
    }

    /// Authorizes through the safety layer, then runs the operation with the
    /// guard, behind a progress view that can cancel it.
    fn run_op(&mut self, op: PendingOp, approval: Approval) -> Vec<Cmd> {
        let key = format!("op:{}:{}", op.intent.action, super::next_gen());
        let PendingOp { intent, label, run } = op;
        self.popup = Some(Popup::Progress(Progress::new(key.clone(), label, self.now)));
        vec![Cmd::task("operation", Some(key), move |cx| async move {
            let safety = cx.session.safety().await;
            match safety.authorize(intent, approval).await {
                Ok(guard) => run(cx, guard).await,
                Err(e) => Msg::Status(Err(e.to_string())),
            }
        })]
    }

    fn run_command(&mut self, text: String) -> Vec<Cmd> {
        if text.is_empty() {
            return Vec::new();
        }
        if self.history.last() != Some(&text) {
            self.history.push(text.clone());
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        match Command::parse(&text, &self.env.contexts) {
            Ok(Command::Quit) => {
                self.quit = true;
                Vec::new()
            }
            Ok(Command::Screen(id)) => self.show(id),
            Ok(Command::Ctx(name)) => {
                self.set_status(Ok(format!("switching to context {name}…")));
                vec![Cmd::SwitchContext(name)]
            }
            Err(e) => {
                self.set_status(Err(e));
                Vec::new()
            }
        }
    }

    fn on_mouse(&mut self, m: MouseEvent) -> Vec<Cmd> {
        let nav = match m.kind {
            MouseEventKind::ScrollDown => Global::Down,
            MouseEventKind::ScrollUp => Global::Up,
            _ => {
                self.dirty = false;
                return Vec::new();
            }
        };
        if self.popup.is_some() || !matches!(self.mode, Mode::Normal) {
            return Vec::new();
        }
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        match self.stack.last_mut() {
            Some(s) => s
                .nav(nav, &cx(env, context, now, size, true))
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Cmd> {
        self.now = now;
        let mut cmds = Vec::new();
        if let ConnState::Lost { retry_at, .. } = &self.conn {
            if now >= *retry_at {
                // Wait for this attempt's probe before scheduling another.
                if let ConnState::Lost {
                    retry_at, attempt, ..
                } = &mut self.conn
                {
                    *retry_at = now + backoff(*attempt + 1);
                }
                cmds.push(Cmd::Reconnect);
            }
        }
        let every = self.screen().and_then(|s| s.refresh_every(&self.cx()));
        let loading = self
            .screen()
            .is_some_and(|s| *s.load_state() == LoadState::Loading);
        if let Some(every) = every {
            if !self.paused && !loading && now.saturating_duration_since(self.refreshed_at) >= every
            {
                cmds.extend(self.refresh_top());
            }
            if matches!(self.conn, ConnState::Up(_))
                && now.saturating_duration_since(self.probed_at) >= every
            {
                self.probed_at = now;
                cmds.push(probe());
            }
        }
        cmds
    }

    fn on_connected(&mut self, r: std::result::Result<ConnInfo, String>) -> Vec<Cmd> {
        self.probed_at = self.now;
        match r {
            Ok(info) => {
                let was_lost = matches!(self.conn, ConnState::Lost { .. });
                self.conn = ConnState::Up(info);
                if was_lost {
                    self.set_status(Ok("reconnected".into()));
                    return self.refresh_top();
                }
            }
            Err(reason) => {
                let attempt = match &self.conn {
                    ConnState::Lost { attempt, .. } => attempt + 1,
                    _ => 0,
                };
                tracing::warn!("connection lost: {reason}");
                self.conn = ConnState::Lost {
                    reason,
                    attempt,
                    retry_at: self.now + backoff(attempt),
                };
            }
        }
        Vec::new()
    }

    /// A new session is in place: for another context, rebuild every open
    /// screen; after a reconnect, probe and keep them.
    fn on_context(&mut self, epoch: u64, info: ContextInfo) -> Vec<Cmd> {
        self.epoch = epoch;
        let mut cmds = vec![probe()];
        if info.name != self.context.name {
            self.set_status(Ok(format!("context {}", info.name)));
            self.context = info;
            self.conn = ConnState::Connecting;
            self.popup = None;
            let ids = self.screen_ids();
            self.stack = ids.into_iter().map(ScreenId::build).collect();
            cmds.extend(self.enter_top());
        } else {
            self.context = info;
        }
        cmds
    }
}

/// Checks the connections of the current session; the answer sets the
/// header's connection state.
pub fn probe() -> Cmd {
    Cmd::task("probe", Some("probe".into()), |cx| async move {
        Msg::Connected(probe_session(&cx.session).await)
    })
}

async fn probe_session(session: &Session) -> std::result::Result<ConnInfo, String> {
    let mut info = ConnInfo::default();
    if session.has_pg() {
        let pg = session.pg().await.map_err(|e| e.to_string())?;
        if pg.is_closed() {
            return Err("the Postgres connection was closed".into());
        }
        info.pg = Some(PgInfo {
            target: pg.target.clone(),
            server_version: pg.server_version.clone(),
            role: pg.role.clone(),
        });
    }
    if session.ctx.redis.is_some() {
        let redis = session.redis().await.map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut redis.routed())
            .await
            .map_err(|e| format!("redis: {e}"))?;
        info.redis = Some(redis.target.clone());
    }
    Ok(info)
}
