//! Executes effects: spawns tasks on tokio with the current session and
//! sends their `Msg` back on the one channel, tagged with the session epoch
//! and the task key; keeps one task per key (latest wins); swaps sessions for
//! context switches and reconnects; writes OSC 52 for the clipboard.

use super::cmd::{Cmd, TaskCx};
use super::msg::{ContextInfo, Msg};
use super::popups::secret::osc52;
use super::theme::Theme;
use crate::config::ContextOverrides;
use crate::session::Session;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::AbortHandle;

/// How long a cancelled task may take to stop by itself (and audit its
/// outcome) before it is aborted.
const CANCEL_GRACE: Duration = Duration::from_secs(3);

struct Running {
    abort: AbortHandle,
    cancel: watch::Sender<bool>,
}

pub struct Runtime {
    session: Arc<Session>,
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
                if let Some(t) = self.tasks.remove(&key) {
                    let _ = t.cancel.send(true);
                    tokio::spawn(async move {
                        tokio::time::sleep(CANCEL_GRACE).await;
                        t.abort.abort();
                    });
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

    fn spawn(&mut self, name: &'static str, key: Option<String>, run: super::cmd::TaskFn) {
        self.tasks.retain(|_, t| !t.abort.is_finished());
        if let Some(old) = key.as_ref().and_then(|k| self.tasks.remove(k)) {
            old.abort.abort();
        }
        let (cancel_tx, cancel_rx) = watch::channel(false);
        let cx = TaskCx::new(
            self.session.clone(),
            key.clone(),
            self.tx.clone(),
            cancel_rx.clone(),
        );
        let inner = tokio::spawn(run(cx));
        let abort = inner.abort_handle();
        let (tx, epoch, reply_key) = (self.tx.clone(), self.epoch, key.clone());
        tokio::spawn(async move {
            let msg = match inner.await {
                Ok(msg) => msg,
                // Replaced by a newer task with the same key: nobody waits for it.
                Err(e) if e.is_cancelled() && !*cancel_rx.borrow() => return,
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
                    abort,
                    cancel: cancel_tx,
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
        let built = Session::new(
            current.config.clone(),
            current.paths.clone(),
            name.as_deref(),
            &self.overrides,
        );
        match built {
            Ok(session) => {
                for (_, t) in self.tasks.drain() {
                    t.abort.abort();
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

    pub fn shutdown(&mut self) {
        for (_, t) in self.tasks.drain() {
            t.abort.abort();
        }
    }
}
