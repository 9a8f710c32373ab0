//! Live sessions from pg_stat_activity (client backends of every database),
//! longest-running first, without opsdeck's own sessions unless asked.

use super::own::{MARK, OWN_SESSION};
use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;
use tokio_postgres::Row;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionRow {
    pub pid: i32,
    pub username: Option<String>,
    pub database: Option<String>,
    pub application_name: String,
    /// Client address; `local` for a Unix socket.
    pub client: String,
    pub state: Option<String>,
    pub wait_event_type: Option<String>,
    pub wait_event: Option<String>,
    /// Since the current (or last) query started.
    pub query_ms: Option<f64>,
    /// Since the transaction started; null outside a transaction.
    pub xact_ms: Option<f64>,
    /// Since the state last changed (how long idle in transaction).
    pub state_ms: Option<f64>,
    pub query: Option<String>,
    pub idle_in_transaction: bool,
    /// The session's role is a superuser (signals refuse it unless forced).
    pub superuser: bool,
    /// One of opsdeck's own sessions.
    pub own: bool,
}

/// What `queries active` lists.
#[derive(Debug, Clone, Copy)]
pub struct ActiveQuery {
    /// Idle sessions too (default: only those doing or holding something).
    pub include_idle: bool,
    /// opsdeck's own sessions too.
    pub include_own: bool,
    pub limit: u32,
}

/// The columns of [`SessionRow`], for pg_stat_activity `a` joined to pg_roles `r`.
/// Ages are from clock_timestamp(): now() is this statement's own start,
/// which can precede the query_start of a session shown, by a hair.
pub(crate) const COLUMNS: &str =
    "a.pid, a.usename::text, a.datname::text, coalesce(a.application_name, ''),
    coalesce(host(a.client_addr), 'local'), a.state, a.wait_event_type, a.wait_event,
    (extract(epoch FROM clock_timestamp() - a.query_start) * 1000)::float8,
    (extract(epoch FROM clock_timestamp() - a.xact_start) * 1000)::float8,
    (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::float8,
    a.query, coalesce(a.state LIKE 'idle in transaction%', false), coalesce(r.rolsuper, false)";

/// Reads the [`COLUMNS`] at `at`.. of `r`, `own` computed from the name.
pub(crate) fn from_row(r: &Row, at: usize) -> SessionRow {
    let application_name: String = r.get(at + 3);
    SessionRow {
        pid: r.get(at),
        username: r.get(at + 1),
        database: r.get(at + 2),
        own: super::own::is_own_app(&application_name),
        application_name,
        client: r.get(at + 4),
        state: r.get(at + 5),
        wait_event_type: r.get(at + 6),
        wait_event: r.get(at + 7),
        query_ms: r.get(at + 8),
        xact_ms: r.get(at + 9),
        state_ms: r.get(at + 10),
        query: r.get(at + 11),
        idle_in_transaction: r.get(at + 12),
        superuser: r.get(at + 13),
    }
}

/// Client sessions, the oldest transaction (then query) first: one statement.
pub async fn active(pg: &Pg, q: ActiveQuery) -> Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT {MARK} {COLUMNS}
         FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
         WHERE a.backend_type = 'client backend'
           AND ($1::bool OR a.state IS DISTINCT FROM 'idle')
           AND ($2::bool OR NOT {OWN_SESSION})
         ORDER BY a.xact_start NULLS LAST, a.query_start NULLS LAST, a.pid
         LIMIT $3::int8"
    );
    let rows = pg
        .rows(
            &sql,
            &[
                &q.include_idle.to_string(),
                &q.include_own.to_string(),
                &q.limit.to_string(),
            ],
        )
        .await?;
    Ok(rows.iter().map(|r| from_row(r, 0)).collect())
}

/// One session by pid (for a cancel/terminate plan), own sessions included.
pub async fn session(pg: &Pg, pid: i32) -> Result<Option<SessionRow>> {
    let sql = format!(
        "SELECT {MARK} {COLUMNS}, a.pid = pg_backend_pid()
         FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
         WHERE a.pid = $1::int4"
    );
    Ok(pg.row_opt(&sql, &[&pid.to_string()]).await?.map(|r| {
        let mut s = from_row(&r, 0);
        s.own |= r.get::<_, bool>(14);
        s
    }))
}
