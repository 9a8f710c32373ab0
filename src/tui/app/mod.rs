//! The app state and the pure `update`: every event and every task result
//! arrives as a [`Msg`]; `update` changes the state and returns the effects
//! ([`Cmd`]) for the runtime. No I/O happens here, so state tests drive it
//! directly.

mod input;
mod stack;
pub mod status;

use super::cmd::Cmd;
use super::command_bar::CommandBar;
use super::env::Env;
use super::msg::{ConnInfo, ContextInfo, Msg, PgInfo};
use super::popups::confirm::ConfirmPopup;
use super::popups::secret::SecretPopup;
use super::screens::{Cx, LoadState, Screen, ScreenId};
use super::widgets::line_input::LineInput;
use super::widgets::progress::Progress;
use crate::session::Session;
use crossterm::event::KeyEventKind;
use std::time::{Duration, Instant};

pub enum Mode {
    Normal,
    Command(CommandBar),
    Filter(LineInput),
    /// The `?` overlay, scrolled this many rows.
    Help(usize),
    /// The `:messages` overlay.
    Messages,
    /// A line of text a screen asked for, with its label.
    Prompt(String, LineInput),
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

pub struct App {
    pub env: Env,
    pub context: ContextInfo,
    /// Session epoch: bumped by the runtime on every new session; replies
    /// from an older one are dropped.
    pub epoch: u64,
    pub conn: ConnState,
    stack: Vec<Open>,
    /// Screens left with Esc or `:NAME`, kept as they were for coming back.
    parked: Vec<Open>,
    pub mode: Mode,
    pub popup: Option<Popup>,
    pub status: Option<Status>,
    pub messages: status::Messages,
    pub paused: bool,
    pub now: Instant,
    pub size: (u16, u16),
    pub quit: bool,
    pub history: Vec<String>,
    /// Whether the last message changed anything worth drawing.
    pub dirty: bool,
    refreshed_at: Instant,
    probed_at: Instant,
    /// Postgres is down while Redis answers: (attempt, next reconnect). A
    /// closed Postgres session never heals, so the session is rebuilt with
    /// backoff; Redis reconnects by itself and needs none of this.
    pg_retry: Option<(u32, Instant)>,
}

/// An open screen and the session epoch it last loaded in: a screen shown
/// again after a session swap (whose tasks were cancelled) starts over with
/// `enter` instead of `refresh`.
struct Open {
    screen: Box<dyn Screen>,
    epoch: u64,
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

/// How long a probe may wait for the servers. A Redis connection that is
/// retrying in the background parks commands for a minute or more; a probe
/// that waited that long would never report the loss (or be replaced by the
/// next one first), so no banner and no reconnect.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Probes are at least this far apart, so one always answers (or times out)
/// before the next would replace it.
pub const PROBE_EVERY_MIN: Duration = Duration::from_secs(4);

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
            parked: Vec::new(),
            mode: Mode::Normal,
            popup: None,
            status: None,
            messages: status::Messages::default(),
            paused: false,
            now,
            size,
            quit: false,
            history: Vec::new(),
            dirty: true,
            refreshed_at: now,
            probed_at: now,
            pg_retry: None,
        };
        app.stack.push(Open {
            screen: first,
            epoch: 0,
        });
        let cmds = app.enter_top();
        let mut all = app.absorb(cmds);
        all.push(probe());
        (app, all)
    }

    pub fn screen(&self) -> Option<&dyn Screen> {
        self.stack.last().map(|o| o.screen.as_ref())
    }

    pub fn screen_ids(&self) -> Vec<ScreenId> {
        self.stack.iter().map(|o| o.screen.id()).collect()
    }

    pub fn cx(&self) -> Cx<'_> {
        let focused = self.popup.is_none() && !matches!(self.mode, Mode::Help(_));
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
            Msg::Paste(text) => self.on_paste(&text),
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
                match self
                    .stack
                    .iter_mut()
                    .rev()
                    .find(|o| o.screen.id() == target)
                {
                    Some(o) => o.screen.update(m, &cx(env, context, now, size, true)),
                    None => {
                        self.dirty = false;
                        Vec::new()
                    }
                }
            }
            Msg::Connected(r) => self.on_connected(r),
            Msg::ContextReady { epoch, info, theme } => {
                if let Some(theme) = theme {
                    self.env.theme = theme;
                }
                self.on_context(epoch, info)
            }
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
                    let more = self.push(screen);
                    out.extend(self.absorb(more));
                }
                Cmd::Prompt { label, initial } => {
                    self.mode = Mode::Prompt(label, LineInput::new(&initial))
                }
                Cmd::Show(id) => {
                    let more = self.show(id);
                    out.extend(self.absorb(more));
                }
                Cmd::Status(r) => self.set_status(r),
                other => out.push(other),
            }
        }
        out
    }

    fn on_tick(&mut self, now: Instant) -> Vec<Cmd> {
        self.now = now;
        self.status_expire(now);
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
        // Not while an operation runs: a new session would abort it.
        let busy = matches!(self.popup, Some(Popup::Progress(_)));
        if let Some((attempt, at)) = self.pg_retry.filter(|(_, at)| now >= *at && !busy) {
            self.pg_retry = Some((attempt + 1, at.max(now) + backoff(attempt + 1)));
            cmds.push(Cmd::Reconnect);
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
                && now.saturating_duration_since(self.probed_at) >= every.max(PROBE_EVERY_MIN)
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
                self.pg_retry = match (&info.pg_down, self.pg_retry) {
                    (None, _) => None,
                    (Some(_), Some(r)) => Some(r),
                    (Some(_), None) => Some((0, self.now + backoff(0))),
                };
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
    /// screen; after a reconnect keep them, and start the shown one over (its
    /// tasks died with the old session).
    fn on_context(&mut self, epoch: u64, info: ContextInfo) -> Vec<Cmd> {
        self.epoch = epoch;
        let mut cmds = vec![probe()];
        if info.name != self.context.name {
            self.set_status(Ok(format!("context {}", info.name)));
            self.context = info;
            self.conn = ConnState::Connecting;
            self.popup = None;
            self.parked.clear();
            let ids = self.screen_ids();
            self.stack = ids
                .into_iter()
                .map(|id| Open {
                    screen: id.build(),
                    epoch,
                })
                .collect();
            cmds.extend(self.enter_top());
        } else {
            self.context = info;
            cmds.extend(self.refresh_top());
        }
        cmds
    }
}

/// Checks the connections of the current session; the answer sets the
/// header's connection state.
pub fn probe() -> Cmd {
    Cmd::task("probe", Some("probe".into()), |cx| async move {
        let answer = tokio::time::timeout(PROBE_TIMEOUT, probe_session(&cx.session)).await;
        Msg::Connected(answer.unwrap_or_else(|_| {
            Err(format!(
                "no answer from the servers within {} s",
                PROBE_TIMEOUT.as_secs()
            ))
        }))
    })
}

/// Each configured store on its own: the answer is an error only when none
/// of them answers (then the session is rebuilt); one down is reported in
/// its `*_down` field and the other keeps working.
async fn probe_session(session: &Session) -> std::result::Result<ConnInfo, String> {
    let pg = async {
        if !session.has_pg() {
            return None;
        }
        Some(
            async {
                let pg = session.pg().await.map_err(|e| e.to_string())?;
                if pg.is_closed() {
                    return Err("the Postgres connection was closed".to_string());
                }
                Ok(PgInfo {
                    target: pg.target.clone(),
                    server_version: pg.server_version.clone(),
                    role: pg.role.clone(),
                })
            }
            .await,
        )
    };
    let redis = async {
        session.ctx.redis.as_ref()?;
        Some(
            async {
                let redis = session.redis().await.map_err(|e| e.to_string())?;
                redis::cmd("PING")
                    .query_async::<String>(&mut redis.routed())
                    .await
                    .map_err(|e| format!("redis: {e}"))?;
                Ok(redis.target.clone())
            }
            .await,
        )
    };
    let (pg, redis) = tokio::join!(pg, redis);
    let mut info = ConnInfo::default();
    match pg {
        Some(Ok(p)) => info.pg = Some(p),
        Some(Err(e)) => info.pg_down = Some(e),
        None => {}
    }
    match redis {
        Some(Ok(r)) => info.redis = Some(r),
        Some(Err(e)) => info.redis_down = Some(e),
        None => {}
    }
    let stores = info.stores();
    if !stores.is_empty() && stores.iter().all(|(_, up)| !up) {
        let reasons: Vec<String> = [info.pg_down, info.redis_down]
            .into_iter()
            .flatten()
            .collect();
        return Err(reasons.join("; "));
    }
    Ok(info)
}
