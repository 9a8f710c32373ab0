//! Executes effects: spawns tasks on tokio with the current session and
//! sends their `Msg` back on the one channel, tagged with the session epoch
//! and the task key; keeps one task per key (latest wins); cancels tasks,
//! including their Postgres queries on the server; swaps sessions for
//! context switches and reconnects; writes OSC 52 for the clipboard.

use super::cmd::{Cmd, ServerCancels, TaskCx};
use super::msg::{ContextInfo, Msg};
use super::popups::secret::osc52;
use super::theme::Theme;
use crate::config::{Config, ContextOverrides};
use crate::conn::pg::PgCancel;
use crate::session::Session;
use crate::stop::Stop;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

/// How long a cancelled task may take to stop by itself (and audit its
/// outcome) before it is aborted.
const CANCEL_GRACE: Duration = Duration::from_secs(3);

/// How long one cancel request may take to reach the server.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(5);

/// How long quitting waits for running tasks to stop by themselves (a
/// change rolls back and writes its end record), then for the cancel
/// requests of their queries.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(2);

/// How long quitting waits for aborted tasks to be dropped, which writes the
/// local end record of a change that did not stop in time.
const DROP_WAIT: Duration = Duration::from_secs(1);

struct Running {
    name: &'static str,
    abort: AbortHandle,
    stop: Stop,
    server: ServerCancels,
    /// Resolves (as an error) once the task's reply is sent or dropped.
    done: oneshot::Receiver<()>,
}

/// Whether a cancel's outcome goes to the status line (the operator asked
/// for it) or only to the log (a replaced task, a context switch, quitting).
#[derive(Clone, Copy, PartialEq)]
enum Report {
    Status,
    Log,
}

pub struct Runtime {
    session: Arc<Session>,
    /// The context the console started with: the command line's overrides
    /// are for it (see [`overrides_for`]).
    start: String,
    overrides: ContextOverrides,
    /// Colour allowed (no NO_COLOR / --no-color): picks the next context's theme.
    color: bool,
    tx: mpsc::UnboundedSender<Msg>,
    epoch: u64,
    tasks: HashMap<String, Running>,
}

impl Runtime {
    pub fn new(
        session: Arc<Session>,
        overrides: ContextOverrides,
        color: bool,
        tx: mpsc::UnboundedSender<Msg>,
    ) -> Runtime {
        Runtime {
            start: session.ctx.name.clone(),
            session,
            overrides,
            color,
            tx,
            epoch: 0,
            tasks: HashMap::new(),
        }
    }

    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    pub fn exec(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Task { name, key, run } => self.spawn(name, key, run),
            Cmd::Abort(key) => {
                // A task that has answered already has nothing left to cancel.
                if let Some(t) = self.tasks.remove(&key).filter(|t| !t.abort.is_finished()) {
                    self.cancel(t, Report::Status);
                }
            }
            Cmd::AbortScreen(screen) => {
                let prefix = format!("{screen}:");
                let left: Vec<String> = self
                    .tasks
                    .keys()
                    .filter(|k| *k == screen || k.starts_with(&prefix))
                    .cloned()
                    .collect();
                for k in left {
                    if let Some(t) = self.tasks.remove(&k).filter(|t| !t.abort.is_finished()) {
                        self.cancel(t, Report::Status);
                    }
                }
            }
            Cmd::SwitchContext(name) => self.new_session(Some(name)),
            Cmd::Reconnect => self.new_session(None),
            Cmd::Clipboard(secret) => {
                let mut out = std::io::stdout();
                let _ = out.write_all(osc52(secret.expose()).as_bytes());
                let _ = out.flush();
            }
            // The app takes UI effects before they get here.
            ui => tracing::warn!("runtime got a UI effect: {}", ui.name()),
        }
    }

    /// Cancels a task: its cancel signal (a task in `until_cancelled` stops
    /// and audits), the server-side cancel of the queries it registered, and
    /// after a grace period the task itself.
    fn cancel(&self, t: Running, report: Report) {
        t.stop.trigger();
        let abort = t.abort.clone();
        tokio::spawn(async move {
            tokio::time::sleep(CANCEL_GRACE).await;
            abort.abort();
        });
        self.cancel_on_server(t, report);
    }

    /// Sends the task's server-side cancels and reports the outcome after the
    /// task's own reply, so the status line ends on it.
    fn cancel_on_server(&self, t: Running, report: Report) {
        let cancels = t.server.fire();
        if cancels.is_empty() {
            return;
        }
        let (tx, name) = (self.tx.clone(), t.name);
        tokio::spawn(async move {
            let outcome = cancel_queries(&cancels).await;
            let _ = t.done.await;
            match (outcome, report) {
                (Ok(()), Report::Status) => {
                    let _ = tx.send(Msg::Status(Ok(format!(
                        "{name} cancelled; its query was cancelled on the server"
                    ))));
                }
                (Err(e), Report::Status) => {
                    let _ = tx.send(Msg::Status(Err(format!(
                        "{name} cancelled, but the server may run its query until statement_timeout: {e}"
                    ))));
                }
                (Ok(()), Report::Log) => tracing::debug!("{name}: query cancelled on the server"),
                (Err(e), Report::Log) => tracing::warn!("{name}: server-side cancel failed: {e}"),
            }
        });
    }

    fn spawn(&mut self, name: &'static str, key: Option<String>, run: super::cmd::TaskFn) {
        self.tasks.retain(|_, t| !t.abort.is_finished());
        if let Some(old) = key.as_ref().and_then(|k| self.tasks.remove(k)) {
            old.abort.abort();
            self.cancel_on_server(old, Report::Log);
        }
        let stop = Stop::new();
        let cx = TaskCx::new(
            self.session.clone(),
            key.clone(),
            self.tx.clone(),
            stop.clone(),
        );
        let server = cx.server_cancels();
        let inner = tokio::spawn(run(cx));
        let abort = inner.abort_handle();
        let (tx, epoch, reply_key, stopped) =
            (self.tx.clone(), self.epoch, key.clone(), stop.clone());
        let (done_tx, done) = oneshot::channel::<()>();
        tokio::spawn(async move {
            // Dropped when this ends, after the reply: that is the "done" signal.
            let _done = done_tx;
            let msg = match inner.await {
                Ok(msg) => msg,
                // Replaced by a newer task with the same key: nobody waits for it.
                Err(e) if e.is_cancelled() && !stopped.is_set() => return,
                Err(e) if e.is_cancelled() => Msg::Status(Ok(format!("{name} cancelled"))),
                Err(e) => {
                    tracing::error!("task {name} failed: {e}");
                    Msg::Status(Err(format!("{name} failed unexpectedly; see the log file")))
                }
            };
            let _ = tx.send(Msg::Reply {
                epoch,
                key: reply_key,
                msg: Box::new(msg),
            });
        });
        if let Some(k) = key {
            self.tasks.insert(
                k,
                Running {
                    name,
                    abort,
                    stop,
                    server,
                    done,
                },
            );
        }
    }

    /// A new session for `context` (or the current one again, to reconnect).
    /// Sessions connect lazily, so this does no I/O.
    fn new_session(&mut self, context: Option<String>) {
        let switching = context.is_some();
        let current = &self.session;
        // A reconnect of the implicit context (no config entry) resolves it again.
        let name = context.or_else(|| {
            let name = &current.ctx.name;
            current
                .config
                .contexts
                .contains_key(name)
                .then(|| name.clone())
        });
        let overrides = overrides_for(
            &current.config,
            &self.start,
            &self.overrides,
            name.as_deref().unwrap_or(&current.ctx.name),
        );
        let built = Session::new(
            current.config.clone(),
            current.paths.clone(),
            name.as_deref(),
            &overrides,
        );
        match built {
            Ok(session) => {
                for (_, t) in std::mem::take(&mut self.tasks) {
                    t.abort.abort();
                    self.cancel_on_server(t, Report::Log);
                }
                let theme = if switching {
                    let chosen = Theme::choose(
                        self.color,
                        session.ctx.theme.as_deref(),
                        session.config.theme.as_deref(),
                        &session.paths.themes_dir(),
                    );
                    match chosen {
                        Ok(t) => Some(t),
                        Err(e) => {
                            // A bad theme keeps the current one and says why.
                            let _ = self.tx.send(Msg::Status(Err(e.to_string())));
                            None
                        }
                    }
                } else {
                    None
                };
                self.epoch += 1;
                self.session = Arc::new(session);
                let _ = self.tx.send(Msg::ContextReady {
                    epoch: self.epoch,
                    info: ContextInfo::of(&self.session),
                    theme,
                });
            }
            Err(e) => {
                let _ = self.tx.send(Msg::ContextFailed(e.to_string()));
            }
        }
    }

    /// Stops every task so quitting leaves nothing running on the server and
    /// no change without its end record: each is asked to stop and its
    /// queries are cancelled on the server; what has not ended after a short
    /// wait is aborted, and its drop writes the local end record.
    pub async fn shutdown(&mut self) {
        let running: Vec<Running> = self
            .tasks
            .drain()
            .map(|(_, t)| t)
            .filter(|t| !t.abort.is_finished())
            .collect();
        if running.is_empty() {
            return;
        }
        let mut cancels = Vec::new();
        for t in &running {
            t.stop.trigger();
            cancels.extend(t.server.fire());
        }
        let cancelled = async {
            if cancels.is_empty() {
                return;
            }
            match cancel_queries(&cancels).await {
                Ok(()) => tracing::info!("cancelled {} queries on the server", cancels.len()),
                Err(e) => tracing::warn!("server-side cancel failed: {e}"),
            }
        };
        let (aborts, dones): (Vec<AbortHandle>, Vec<oneshot::Receiver<()>>) =
            running.into_iter().map(|t| (t.abort, t.done)).unzip();
        let ended = futures_util::future::join_all(dones);
        tokio::pin!(ended);
        let (_, stopped) = tokio::join!(
            tokio::time::timeout(SHUTDOWN_WAIT, cancelled),
            tokio::time::timeout(SHUTDOWN_WAIT, &mut ended)
        );
        if stopped.is_err() {
            tracing::warn!("tasks did not stop in time; aborting them");
            aborts.iter().for_each(AbortHandle::abort);
            if tokio::time::timeout(DROP_WAIT, ended).await.is_err() {
                tracing::warn!("aborted tasks were not dropped in time");
            }
        }
    }
}

/// Sends every cancel, each bounded; the first failure says why.
async fn cancel_queries(cancels: &[PgCancel]) -> std::result::Result<(), String> {
    let mut first = Ok(());
    for c in cancels {
        let sent = match tokio::time::timeout(CANCEL_TIMEOUT, c.cancel()).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(_) => Err(format!(
                "no answer from {} within {} s",
                c.target,
                CANCEL_TIMEOUT.as_secs()
            )),
        };
        if first.is_ok() {
            first = sent;
        }
    }
    first
}

/// The overrides for a session of `context`. The command line's `--pg` and
/// `--redis` name the servers of the context the console started with, so
/// they apply to it alone; any other context uses its own servers, which
/// also win over OPSDECK_PG_URL / OPSDECK_REDIS_URL (process-wide defaults
/// like the flags). `--read-only` applies to every context: it only adds safety.
pub fn overrides_for(
    config: &Config,
    start: &str,
    flags: &ContextOverrides,
    context: &str,
) -> ContextOverrides {
    if context == start {
        return flags.clone();
    }
    let own = config.contexts.get(context);
    ContextOverrides {
        pg: own.and_then(|c| c.pg.clone()),
        redis: own.and_then(|c| c.redis.clone()),
        read_only: flags.read_only,
    }
}
