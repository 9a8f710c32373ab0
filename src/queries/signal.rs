//! Cancel a session's query or terminate the session, as planned changes
//! through the safety layer: cancel is a yes/no question, terminate needs
//! the pid typed. opsdeck's own sessions and superuser sessions are refused
//! unless forced.

use super::activity::{self, SessionRow};
use super::own::MARK;
use crate::conn::Pg;
use crate::error::{Error, Result};
use crate::safety::{Authorized, Intent, Mutation, Risk};
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Cancel,
    Terminate,
}

impl Signal {
    pub fn action(self) -> &'static str {
        match self {
            Signal::Cancel => "queries.cancel",
            Signal::Terminate => "queries.terminate",
        }
    }

    fn risk(self) -> Risk {
        match self {
            Signal::Cancel => Risk::Mutating,
            Signal::Terminate => Risk::Destructive,
        }
    }

    fn function(self) -> &'static str {
        match self {
            Signal::Cancel => "pg_cancel_backend",
            Signal::Terminate => "pg_terminate_backend",
        }
    }

    /// The intent before the session is looked up, so a read-only context
    /// refuses whether or not the pid exists.
    pub fn intent_for(self, pid: i32) -> Intent {
        let what = match self {
            Signal::Cancel => "Cancel the running query of",
            Signal::Terminate => "Terminate",
        };
        Intent::new(
            self.action(),
            pid.to_string(),
            self.risk(),
            format!("{what} session {pid}."),
        )
    }
}

/// A looked-up session and the signal to send it.
#[derive(Debug)]
pub struct SignalPlan {
    intent: Intent,
    signal: Signal,
    session: SessionRow,
}

impl Mutation for SignalPlan {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

impl SignalPlan {
    pub fn session(&self) -> &SessionRow {
        &self.session
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Signalled {
    pub pid: i32,
    pub action: Signal,
    /// The server accepted the signal (false: the session had ended).
    pub signalled: bool,
    pub username: Option<String>,
    pub application_name: String,
}

/// Looks `pid` up and refuses opsdeck's own and superuser sessions unless `force`.
pub async fn plan(pg: &Pg, signal: Signal, pid: i32, force: bool) -> Result<SignalPlan> {
    let Some(s) = activity::session(pg, pid).await? else {
        return Err(Error::NotFound(format!(
            "no session with pid {pid}; list sessions with `opsdeck queries active`"
        )));
    };
    if !force && s.own {
        return Err(Error::refused(format!(
            "pid {pid} is one of opsdeck's own sessions (application_name '{}'); pass --force to signal it anyway",
            s.application_name
        )));
    }
    if !force && s.superuser {
        return Err(Error::refused(format!(
            "pid {pid} runs as superuser {}; pass --force to signal a superuser session",
            s.username.as_deref().unwrap_or("?")
        )));
    }
    let base = signal.intent_for(pid);
    let summary = format!(
        "{} ({} on {}, application '{}', state {}, for {}).",
        base.summary.trim_end_matches('.'),
        s.username.as_deref().unwrap_or("?"),
        s.database.as_deref().unwrap_or("?"),
        s.application_name,
        s.state.as_deref().unwrap_or("unknown"),
        s.query_ms
            .map(crate::units::millis)
            .unwrap_or_else(|| "-".into()),
    );
    let intent =
        Intent::new(signal.action(), pid.to_string(), signal.risk(), summary).with_params(json!({
            "pid": pid,
            "username": s.username,
            "database": s.database,
            "application_name": s.application_name,
            "forced": force && (s.own || s.superuser),
        }));
    Ok(SignalPlan {
        intent,
        signal,
        session: s,
    })
}

/// Sends the approved signal: one statement.
pub async fn apply(pg: &Pg, approved: Authorized<SignalPlan>) -> Result<Signalled> {
    approved
        .run(
            |p, _done| async move {
                let sql = format!("SELECT {MARK} {}($1::int4)", p.signal.function());
                let ok: bool = pg.row(&sql, &[&p.session.pid.to_string()]).await?.get(0);
                Ok(Signalled {
                    pid: p.session.pid,
                    action: p.signal,
                    signalled: ok,
                    username: p.session.username,
                    application_name: p.session.application_name,
                })
            },
            |s: &Signalled| json!({"pid": s.pid, "signalled": s.signalled}),
        )
        .await
}
