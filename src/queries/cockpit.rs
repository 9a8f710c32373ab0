//! The overview cockpit's two query figures, in one cheap statement: the
//! longest-running session and who is blocking whom (opsdeck's own
//! sessions left out).

use super::own::{MARK, OWN_SESSION};
use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Longest {
    pub pid: i32,
    pub username: Option<String>,
    pub state: Option<String>,
    /// Transaction age, else query age.
    pub running_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cockpit {
    pub longest: Option<Longest>,
    /// Sessions waiting for a lock another session holds.
    pub blocked: i64,
    /// Distinct sessions those wait for.
    pub blockers: i64,
    /// The blocker with the most sessions waiting on it.
    pub top_blocker: Option<i32>,
    pub longest_wait_ms: Option<f64>,
}

pub async fn summary(pg: &Pg) -> Result<Cockpit> {
    let sql = format!(
        "WITH {MARK} a AS (
           SELECT a.* FROM pg_stat_activity a
           WHERE a.backend_type = 'client backend' AND NOT {OWN_SESSION}
         ), l AS (
           SELECT a.pid, a.usename::text AS usename, a.state,
                  (extract(epoch FROM clock_timestamp() - coalesce(a.xact_start, a.query_start)) * 1000)::float8 AS ms
           FROM a WHERE a.state IS DISTINCT FROM 'idle'
           ORDER BY ms DESC NULLS LAST LIMIT 1
         ), b AS (
           SELECT a.pid, unnest(pg_blocking_pids(a.pid)) AS by,
                  (extract(epoch FROM clock_timestamp() - a.state_change) * 1000)::float8 AS ms
           FROM a WHERE a.wait_event_type = 'Lock'
         )
         SELECT (SELECT pid FROM l), (SELECT usename FROM l), (SELECT state FROM l), (SELECT ms FROM l),
                (SELECT count(DISTINCT pid) FROM b), (SELECT count(DISTINCT by) FROM b),
                (SELECT by FROM b GROUP BY by ORDER BY count(*) DESC, by LIMIT 1),
                (SELECT max(ms) FROM b)"
    );
    let r = pg.row(&sql, &[]).await?;
    let pid: Option<i32> = r.get(0);
    let ms: Option<f64> = r.get(3);
    Ok(Cockpit {
        longest: pid.map(|pid| Longest {
            pid,
            username: r.get(1),
            state: r.get(2),
            running_ms: ms.unwrap_or(0.0),
        }),
        blocked: r.get(4),
        blockers: r.get(5),
        top_blocker: r.get(6),
        longest_wait_ms: r.get(7),
    })
}
