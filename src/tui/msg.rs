//! The one message enum. Terminal events, timer ticks and task results all
//! arrive as `Msg`s on one channel; results carry their data and the request
//! generation they answer, so `update` stays pure and drops stale replies.

use super::screens::ScreenMsg;
use crossterm::event::{KeyEvent, MouseEvent};
use std::time::Instant;

/// What the header shows about the connections of the current context.
/// One store down while the other answers is not a lost connection: its
/// reason is in `pg_down` / `redis_down`, and the header says which.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ConnInfo {
    /// `user@host:port/db` and server version, when Postgres is configured and up.
    pub pg: Option<PgInfo>,
    /// Redis target, when configured and up.
    pub redis: Option<String>,
    pub pg_down: Option<String>,
    pub redis_down: Option<String>,
}

impl ConnInfo {
    /// (store, up) for each configured store, Postgres first.
    pub fn stores(&self) -> Vec<(&'static str, bool)> {
        let mut out = Vec::new();
        if self.pg.is_some() || self.pg_down.is_some() {
            out.push(("pg", self.pg.is_some()));
        }
        if self.redis.is_some() || self.redis_down.is_some() {
            out.push(("redis", self.redis.is_some()));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PgInfo {
    pub target: String,
    pub server_version: String,
    pub role: String,
}

/// What the app needs to know about a context once its session exists.
#[derive(Debug, Clone)]
pub struct ContextInfo {
    pub name: String,
    pub read_only: bool,
    pub has_pg: bool,
    pub has_redis: bool,
    pub thresholds: crate::config::Thresholds,
}

impl ContextInfo {
    pub fn of(session: &crate::session::Session) -> ContextInfo {
        ContextInfo {
            name: session.ctx.name.clone(),
            read_only: session.ctx.read_only,
            has_pg: session.has_pg(),
            has_redis: session.ctx.redis.is_some(),
            thresholds: session.ctx.thresholds.clone(),
        }
    }
}

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    /// Text pasted into the terminal (bracketed paste).
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
    /// The clock: drives auto refresh, reconnect backoff and data age.
    Tick(Instant),
    /// A task's answer, tagged by the runtime with the session epoch it ran
    /// in and its key (which closes a progress view).
    Reply {
        epoch: u64,
        key: Option<String>,
        msg: Box<Msg>,
    },
    /// For the screen named in the payload.
    Screen(ScreenMsg),
    /// The connection probe's answer.
    Connected(std::result::Result<ConnInfo, String>),
    /// A new session is in place (context switch or reconnect).
    ContextReady {
        epoch: u64,
        info: ContextInfo,
        /// The new context's theme, when switched (a reconnect keeps it).
        theme: Option<super::theme::Theme>,
    },
    /// A context switch failed; the old context stays.
    ContextFailed(String),
    Progress {
        key: String,
        done: u64,
        total: Option<u64>,
        note: String,
    },
    /// A result line or an error for the status line.
    Status(std::result::Result<String, String>),
}
