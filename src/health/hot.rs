//! The most expensive things right now in each store: the Postgres sessions
//! blocking the most others (then the ones running longest), and the slowest
//! recent SLOWLOG entries in Redis. opsdeck's own sessions and commands are
//! left out, so watching does not become what is watched.

use crate::cache::info::SlowEntry;
use crate::cache::window::unobserved;
use crate::conn::{Pg, Redis};
use crate::error::Result;
use serde::Serialize;

/// Characters of the query text kept: enough to recognise it.
pub const QUERY_MAX: usize = 300;

/// Sessions and SLOWLOG entries kept.
pub const TOP: usize = 5;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopSession {
    pub pid: i32,
    pub user: String,
    pub application_name: String,
    pub state: String,
    /// Sessions waiting for a lock this one holds.
    pub blocking: i64,
    /// Since its transaction (else its query) started.
    pub running_ms: f64,
    /// Waiting for a lock itself.
    pub waiting: bool,
    pub query: String,
}

const TOP_SQL: &str = "
WITH others AS (
  SELECT pid, usename::text AS usename, application_name, state, wait_event_type,
         coalesce(xact_start, query_start) AS since, query
    FROM pg_stat_activity
   WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
     AND application_name NOT LIKE 'opsdeck/%' AND state IS DISTINCT FROM 'idle'),
blockers AS (
  SELECT b AS pid, count(*) AS blocking
    FROM others o CROSS JOIN LATERAL unnest(pg_blocking_pids(o.pid)) AS b GROUP BY b)
SELECT o.pid, coalesce(o.usename, ''), coalesce(o.application_name, ''), coalesce(o.state, ''),
       coalesce(bl.blocking, 0)::int8,
       coalesce(extract(epoch FROM now() - o.since)::float8 * 1000, 0),
       o.wait_event_type IS NOT DISTINCT FROM 'Lock',
       left(coalesce(o.query, ''), $1::int4)
  FROM others o LEFT JOIN blockers bl USING (pid)
 ORDER BY coalesce(bl.blocking, 0) DESC, o.since ASC NULLS LAST
 LIMIT $2::int8";

pub async fn top_sessions(pg: &Pg) -> Result<Vec<TopSession>> {
    let (max, top) = (QUERY_MAX.to_string(), TOP.to_string());
    let rows = pg.rows(TOP_SQL, &[&max, &top]).await?;
    Ok(rows
        .iter()
        .map(|r| TopSession {
            pid: r.get(0),
            user: r.get(1),
            application_name: r.get(2),
            state: r.get(3),
            blocking: r.get(4),
            running_ms: r.get(5),
            waiting: r.get(6),
            query: r.get(7),
        })
        .collect())
}

/// The slowest of the recent SLOWLOG entries on every master, slowest
/// first, read unobserved so the Redis window leaves the reads out.
pub async fn slowest(redis: &Redis) -> Result<Vec<SlowEntry>> {
    let mut notes = Vec::new();
    let mut entries = unobserved(redis, crate::cache::stats::slowlog(redis, &mut notes)).await?;
    entries.truncate(TOP);
    Ok(entries)
}
