//! Effects: what `update` asks for instead of doing it. The runtime
//! (`runtime.rs`) executes the I/O ones on tokio; the UI ones (open a popup,
//! push a screen, show a status) are taken by the app itself.

use super::msg::Msg;
use super::screens::Screen;
use crate::conn::pg::PgCancel;
use crate::conn::{Pg, Secret};
use crate::error::{Error, Result};
use crate::safety::{Approval, Authorized, Intent, Mutation};
use crate::session::Session;
use crate::stop::Stop;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::mpsc;

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The server-side cancels a task registered, which the runtime sends when
/// the task is cancelled or aborted. Once sent, later registrations are
/// refused (the task was cancelled while it connected).
#[derive(Clone, Default)]
pub struct ServerCancels(Arc<Mutex<Registered>>);

#[derive(Default)]
struct Registered {
    fired: bool,
    list: Vec<PgCancel>,
}

impl ServerCancels {
    /// False when the cancels were sent already.
    fn register(&self, c: PgCancel) -> bool {
        let mut r = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !r.fired {
            r.list.push(c);
        }
        !r.fired
    }

    /// Takes the registered cancels for sending, once.
    pub fn fire(&self) -> Vec<PgCancel> {
        let mut r = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        r.fired = true;
        std::mem::take(&mut r.list)
    }
}

/// What a task gets: the session of the context it was started in, a way to
/// report progress, and a stop request (Esc, leaving the screen, quitting).
pub struct TaskCx {
    pub session: Arc<Session>,
    key: Option<String>,
    tx: mpsc::UnboundedSender<Msg>,
    stop: Stop,
    server: ServerCancels,
}

impl TaskCx {
    pub fn new(
        session: Arc<Session>,
        key: Option<String>,
        tx: mpsc::UnboundedSender<Msg>,
        stop: Stop,
    ) -> TaskCx {
        TaskCx {
            session,
            key,
            tx,
            stop,
            server: ServerCancels::default(),
        }
    }

    /// The task's stop request, for core work that winds down by itself
    /// (a change that rolls back, an invalidation between batches).
    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// The cancels this task registers (the runtime keeps them to send).
    pub fn server_cancels(&self) -> ServerCancels {
        self.server.clone()
    }

    /// A Postgres session of this task's own whose running query is cancelled
    /// on the server when the task is cancelled (Esc in the progress view),
    /// replaced, or dropped with its screen or context. Only a keyed task can
    /// be cancelled. Not the shared `session.pg()`: a cancel request stops
    /// whatever its session runs, which there may be another task's query.
    pub async fn pg_cancellable(&self) -> Result<Pg> {
        let pg = self.session.pg_dedicated().await?;
        // Cancelled while connecting: nothing runs on it yet, nothing to cancel.
        if self.stop.is_set() || !self.server.register(pg.canceller()) {
            return Err(Error::Cancelled);
        }
        Ok(pg)
    }

    /// Reports progress to the progress view opened with the same key.
    pub fn progress(&self, done: u64, total: Option<u64>, note: impl Into<String>) {
        if let Some(key) = &self.key {
            let _ = self.tx.send(Msg::Progress {
                key: key.clone(),
                done,
                total,
                note: note.into(),
            });
        }
    }

    /// Resolves when the operator cancelled this task (Esc in the progress view).
    pub async fn cancelled(&self) {
        self.stop.wait().await
    }

    /// Runs `fut` unless cancelled first, which gives `Error::Cancelled` (so a
    /// guarded mutation records "cancelled" in the audit log). The cancel is
    /// checked first: the server's answer to the cancel request must not pass
    /// for the work's own error.
    pub async fn until_cancelled<T>(&self, fut: impl Future<Output = Result<T>>) -> Result<T> {
        tokio::select! {
            biased;
            _ = self.cancelled() => Err(Error::Cancelled),
            r = fut => r,
        }
    }
}

pub type TaskFn = Box<dyn FnOnce(TaskCx) -> BoxFuture<Msg> + Send>;
pub type OpFn = Box<dyn FnOnce(TaskCx, Approval) -> BoxFuture<Msg> + Send>;

/// A planned change waiting for the operator's answer in the confirm popup.
pub struct PendingOp {
    pub intent: Intent,
    /// Label of the progress view while it runs.
    pub label: String,
    /// Authorizes the plan with the answer (the safety layer has the last
    /// word), then runs it.
    pub run: OpFn,
}

impl PendingOp {
    /// `run` gets the approval for `plan` and nothing else, so it can only
    /// call the core mutation that takes this kind of plan.
    pub fn new<P, F, Fut>(plan: P, label: impl Into<String>, run: F) -> PendingOp
    where
        P: Mutation,
        F: FnOnce(TaskCx, Authorized<P>) -> Fut + Send + 'static,
        Fut: Future<Output = Msg> + Send + 'static,
    {
        PendingOp {
            intent: plan.intent().clone(),
            label: label.into(),
            run: Box::new(move |cx, approval| {
                Box::pin(async move {
                    let safety = cx.session.safety().await;
                    match safety.authorize(plan, approval).await {
                        Ok(approved) => run(cx, approved).await,
                        Err(e) => Msg::Status(Err(e.to_string())),
                    }
                })
            }),
        }
    }
}

pub enum Cmd {
    /// Async work; its `Msg` comes back on the channel. Starting a task with
    /// the key of a running one cancels the older one (latest wins).
    Task {
        name: &'static str,
        key: Option<String>,
        run: TaskFn,
    },
    /// Cancels the task with this key: its cancel signal, the server-side
    /// cancel of its Postgres query, then (after a grace period) the task.
    Abort(String),
    /// Cancels every task of a screen the operator left: keys equal to the
    /// screen's name or starting with `NAME:`.
    AbortScreen(&'static str),
    /// Builds a session for another context, live.
    SwitchContext(String),
    /// Rebuilds the current session's connections after a loss.
    Reconnect,
    /// Copies to the terminal's clipboard by OSC 52.
    Clipboard(Secret),
    /// Opens the confirm popup (taken by the app).
    Confirm(PendingOp),
    /// Opens the one-time secret view (taken by the app).
    ShowSecret { title: String, secret: Secret },
    /// Opens a progress view for the task with this key (taken by the app).
    Progress { key: String, label: String },
    /// Drills down to another screen (taken by the app).
    Push(Box<dyn Screen>),
    /// Shows a registered screen as `:NAME` does (taken by the app).
    Show(super::screens::ScreenId),
    /// Asks for a line of text on the status line; Enter hands it to the
    /// screen's `prompt` (taken by the app).
    Prompt { label: String, initial: String },
    /// A result or error for the status line (taken by the app).
    Status(std::result::Result<String, String>),
}

impl Cmd {
    pub fn task<F, Fut>(name: &'static str, key: Option<String>, run: F) -> Cmd
    where
        F: FnOnce(TaskCx) -> Fut + Send + 'static,
        Fut: Future<Output = Msg> + Send + 'static,
    {
        Cmd::Task {
            name,
            key,
            run: Box::new(move |cx| Box::pin(run(cx))),
        }
    }

    /// A short name for tests and logs.
    pub fn name(&self) -> String {
        match self {
            Cmd::Task { name, .. } => format!("task:{name}"),
            Cmd::Abort(k) => format!("abort:{k}"),
            Cmd::AbortScreen(s) => format!("abort-screen:{s}"),
            Cmd::SwitchContext(c) => format!("ctx:{c}"),
            Cmd::Reconnect => "reconnect".into(),
            Cmd::Clipboard(_) => "clipboard".into(),
            Cmd::Confirm(op) => format!("confirm:{}", op.intent.action),
            Cmd::ShowSecret { title, .. } => format!("secret:{title}"),
            Cmd::Progress { key, .. } => format!("progress:{key}"),
            Cmd::Push(s) => format!("push:{}", s.id().name()),
            Cmd::Show(id) => format!("show:{}", id.name()),
            Cmd::Prompt { label, .. } => format!("prompt:{label}"),
            Cmd::Status(_) => "status".into(),
        }
    }
}

impl fmt::Debug for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}
