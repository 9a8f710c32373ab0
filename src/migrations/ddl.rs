//! While a migration runs: the sessions holding or waiting for the locks DDL
//! takes (SHARE UPDATE EXCLUSIVE and stronger) on this database's relations,
//! the sessions queued behind them, and `CREATE INDEX [CONCURRENTLY]`
//! progress. opsdeck's own sessions are left out.

use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Holds a DDL-grade lock.
    Holder,
    /// Waits for a DDL-grade lock (a migration queued behind a reader).
    DdlWaiting,
    /// Queued behind one of the above.
    Waiter,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Holder => "holder",
            Role::DdlWaiting => "ddl_waiting",
            Role::Waiter => "waiter",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DdlSession {
    pub pid: i32,
    pub role: Role,
    pub user: Option<String>,
    pub state: Option<String>,
    /// `relation mode` for each lock it holds.
    pub holds: Vec<String>,
    /// `relation mode` it waits for, if any.
    pub waits_for: Option<String>,
    pub blocked_by: Vec<i32>,
    pub transaction_ms: Option<f64>,
    pub query: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct IndexBuild {
    pub pid: i32,
    pub table: String,
    pub index: Option<String>,
    pub command: String,
    pub phase: String,
    pub blocks_done: i64,
    pub blocks_total: i64,
    pub tuples_done: i64,
    pub tuples_total: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DdlActivity {
    pub sessions: Vec<DdlSession>,
    pub index_builds: Vec<IndexBuild>,
}

const SESSIONS_SQL: &str = "
WITH own AS (
  SELECT pid FROM pg_stat_activity
   WHERE pid = pg_backend_pid() OR application_name LIKE 'opsdeck%'
), l AS (
  SELECT l.pid, l.granted, l.mode,
         coalesce(l.relation::regclass::text, l.relation::text) || ' ' || l.mode AS lock,
         l.mode IN ('ShareUpdateExclusiveLock', 'ShareLock', 'ShareRowExclusiveLock',
                    'ExclusiveLock', 'AccessExclusiveLock') AS ddl
    FROM pg_locks l
   WHERE l.locktype = 'relation'
     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND l.pid NOT IN (SELECT pid FROM own)
), ddl AS (
  SELECT pid, bool_or(granted) AS holds FROM l WHERE ddl GROUP BY pid
), roles AS (
  SELECT pid, CASE WHEN holds THEN 'holder' ELSE 'ddl_waiting' END AS role FROM ddl
  UNION ALL
  SELECT a.pid, 'waiter' FROM pg_stat_activity a
   WHERE a.pid NOT IN (SELECT pid FROM ddl) AND a.pid NOT IN (SELECT pid FROM own)
     AND pg_blocking_pids(a.pid) && ARRAY(SELECT pid FROM ddl)
)
SELECT r.pid, r.role, a.usename::text, a.state,
       coalesce(ARRAY(SELECT lock FROM l WHERE l.pid = r.pid AND l.granted ORDER BY l.ddl DESC, lock), '{}'),
       (SELECT min(lock) FROM l WHERE l.pid = r.pid AND NOT l.granted),
       pg_blocking_pids(r.pid),
       extract(epoch FROM now() - a.xact_start)::float8 * 1000,
       left(regexp_replace(coalesce(a.query, ''), '\\s+', ' ', 'g'), 200)
  FROM roles r JOIN pg_stat_activity a ON a.pid = r.pid
 ORDER BY r.role <> 'holder', a.xact_start, r.pid";

const INDEX_SQL: &str = "
SELECT p.pid, p.relid::regclass::text,
       CASE WHEN p.index_relid <> 0 THEN p.index_relid::regclass::text END,
       p.command, p.phase, p.blocks_done, p.blocks_total, p.tuples_done, p.tuples_total
  FROM pg_stat_progress_create_index p
 WHERE p.datid = (SELECT oid FROM pg_database WHERE datname = current_database())
 ORDER BY p.pid";

fn role(text: &str) -> Role {
    match text {
        "holder" => Role::Holder,
        "ddl_waiting" => Role::DdlWaiting,
        _ => Role::Waiter,
    }
}

pub async fn ddl_activity(pg: &Pg) -> Result<DdlActivity> {
    let (sessions, builds) = tokio::try_join!(pg.rows(SESSIONS_SQL, &[]), pg.rows(INDEX_SQL, &[]))?;
    Ok(DdlActivity {
        sessions: sessions
            .iter()
            .map(|r| DdlSession {
                pid: r.get(0),
                role: role(r.get(1)),
                user: r.get(2),
                state: r.get(3),
                holds: r.get(4),
                waits_for: r.get(5),
                blocked_by: r.get(6),
                transaction_ms: r.get(7),
                query: r.get(8),
            })
            .collect(),
        index_builds: builds
            .iter()
            .map(|r| IndexBuild {
                pid: r.get(0),
                table: r.get(1),
                index: r.get(2),
                command: r.get(3),
                phase: r.get(4),
                blocks_done: r.get(5),
                blocks_total: r.get(6),
                tuples_done: r.get(7),
                tuples_total: r.get(8),
            })
            .collect(),
    })
}
