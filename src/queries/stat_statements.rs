//! pg_stat_statements: where the extension lives (any schema), which column
//! names its version uses (`total_exec_time` from 1.8, `total_time` before),
//! the top statements of the current database by a sort key, and the delta
//! between two refreshes. Statements opsdeck sent itself are left out.

use super::own::{MARK, NOT_OWN_STATEMENT};
use crate::conn::sql::quote_ident;
use crate::conn::Pg;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::str::FromStr;

/// Where pg_stat_statements is and which columns it has, looked up once per
/// session (one statement) and reused by every refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pss {
    pub schema: String,
    pub version: String,
    /// The database whose statements are shown (the session's).
    pub database: String,
    /// Column-name stem of the timings: `exec_time` (1.8+) or `time`.
    timing: &'static str,
}

impl Pss {
    /// `"schema".pg_stat_statements`
    pub fn view(&self) -> String {
        format!("{}.pg_stat_statements", quote_ident(&self.schema))
    }

    /// A function of the extension, schema-qualified.
    pub fn function(&self, name: &str) -> String {
        format!("{}.{name}", quote_ident(&self.schema))
    }

    fn col(&self, kind: &str) -> String {
        format!("s.{kind}_{}", self.timing)
    }
}

/// What to change when the extension cannot be read, for every front end.
pub const PSS_FIX: &str = "add pg_stat_statements to shared_preload_libraries in postgresql.conf (or the provider's parameter group), restart the server, then run CREATE EXTENSION pg_stat_statements; in this database";

/// Finds the extension in this database; a clear error naming the fix when
/// it is missing.
pub async fn locate(pg: &Pg) -> Result<Pss> {
    let sql = format!(
        "SELECT {MARK} n.nspname::text, e.extversion::text,
           EXISTS (SELECT 1 FROM pg_attribute a
                   WHERE a.attrelid = to_regclass(quote_ident(n.nspname) || '.pg_stat_statements')
                     AND a.attname = 'total_exec_time' AND NOT a.attisdropped),
           current_database()::text
         FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
         WHERE e.extname = 'pg_stat_statements'"
    );
    let Some(row) = pg.row_opt(&sql, &[]).await? else {
        let db: String = pg.row("SELECT current_database()::text", &[]).await?.get(0);
        return Err(Error::Server {
            detail: format!("pg_stat_statements is not installed in database '{db}'"),
            hint: Some(PSS_FIX.into()),
        });
    };
    let exec: bool = row.get(2);
    Ok(Pss {
        schema: row.get(0),
        version: row.get(1),
        database: row.get(3),
        timing: if exec { "exec_time" } else { "time" },
    })
}

/// The server's "must be loaded via shared_preload_libraries" (SQLSTATE
/// 55000) as the same clear error as a missing extension.
pub fn explain_error(e: Error) -> Error {
    match e {
        Error::Server { detail, .. } if detail.contains("shared_preload_libraries") => {
            Error::Server {
                detail: "pg_stat_statements is installed but not loaded (it is not in shared_preload_libraries)".into(),
                hint: Some(PSS_FIX.into()),
            }
        }
        other => other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    Total,
    Mean,
    Calls,
    Io,
    Rows,
}

impl SortKey {
    pub const ALL: [SortKey; 5] = [
        SortKey::Total,
        SortKey::Mean,
        SortKey::Calls,
        SortKey::Io,
        SortKey::Rows,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Total => "total",
            SortKey::Mean => "mean",
            SortKey::Calls => "calls",
            SortKey::Io => "io",
            SortKey::Rows => "rows",
        }
    }

    fn order(self, p: &Pss) -> String {
        match self {
            SortKey::Total => p.col("total"),
            SortKey::Mean => p.col("mean"),
            SortKey::Calls => "s.calls".into(),
            SortKey::Io => "s.shared_blks_read".into(),
            SortKey::Rows => "s.rows".into(),
        }
    }

    /// The statement's value for this key, for sorting rows in memory.
    pub fn value(self, s: &Statement) -> f64 {
        match self {
            SortKey::Total => s.total_time_ms,
            SortKey::Mean => s.mean_time_ms,
            SortKey::Calls => s.calls as f64,
            SortKey::Io => s.shared_blks_read as f64,
            SortKey::Rows => s.rows as f64,
        }
    }
}

impl FromStr for SortKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<SortKey> {
        SortKey::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "unknown sort key '{s}'; use total, mean, calls, io or rows"
                ))
            })
    }
}

/// One normalized statement of the current database.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub queryid: String,
    pub query: String,
    pub username: Option<String>,
    pub calls: i64,
    pub total_time_ms: f64,
    pub mean_time_ms: f64,
    pub max_time_ms: f64,
    pub stddev_time_ms: f64,
    pub rows: i64,
    pub shared_blks_hit: i64,
    pub shared_blks_read: i64,
    /// Percent of the database's total execution time.
    pub share_pct: f64,
}

/// What `queries slow` asks for.
#[derive(Debug, Clone, Copy)]
pub struct SlowQuery {
    pub sort: SortKey,
    pub limit: u32,
}

/// The top statements by `q.sort`: one statement.
pub async fn slow(pg: &Pg, pss: &Pss, q: SlowQuery) -> Result<Vec<Statement>> {
    let sql = format!(
        "SELECT {MARK} s.queryid::text, s.query, r.rolname::text, s.calls,
           {total}, {mean}, {max}, {stddev}, s.rows, s.shared_blks_hit, s.shared_blks_read,
           coalesce(100 * {total} / nullif(sum({total}) OVER (), 0), 0)::float8
         FROM {view} s LEFT JOIN pg_roles r ON r.oid = s.userid
         WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND {NOT_OWN_STATEMENT}
         ORDER BY {order} DESC NULLS LAST, s.queryid
         LIMIT $1::int8",
        total = pss.col("total"),
        mean = pss.col("mean"),
        max = pss.col("max"),
        stddev = pss.col("stddev"),
        view = pss.view(),
        order = q.sort.order(pss),
    );
    let rows = pg
        .rows(&sql, &[&q.limit.to_string()])
        .await
        .map_err(explain_error)?;
    Ok(rows
        .iter()
        .map(|r| Statement {
            queryid: r.get::<_, Option<String>>(0).unwrap_or_default(),
            query: r.get(1),
            username: r.get(2),
            calls: r.get(3),
            total_time_ms: r.get(4),
            mean_time_ms: r.get(5),
            max_time_ms: r.get(6),
            stddev_time_ms: r.get(7),
            rows: r.get(8),
            shared_blks_hit: r.get(9),
            shared_blks_read: r.get(10),
            share_pct: r.get(11),
        })
        .collect())
}

/// The text of one statement by its queryid (for explain). An explain's
/// own PREPARE shares the statement's queryid, so opsdeck's rows are skipped.
pub async fn text_of(pg: &Pg, pss: &Pss, queryid: &str) -> Result<String> {
    let sql = format!(
        "SELECT {MARK} s.query FROM {} s
         WHERE s.queryid = $1::int8
           AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND {NOT_OWN_STATEMENT}
         ORDER BY s.calls DESC
         LIMIT 1",
        pss.view()
    );
    match pg.row_opt(&sql, &[queryid]).await.map_err(explain_error)? {
        Some(r) => Ok(r.get(0)),
        None => Err(Error::NotFound(format!(
            "no statement with queryid {queryid} in this database's pg_stat_statements; list them with `opsdeck queries slow`"
        ))),
    }
}

/// What ran between two refreshes: per statement (queryid and role) the
/// calls, time, rows and blocks since `prev`; statements without new calls
/// are dropped. A statement `prev` did not hold counts whole (it is new, or
/// was below the previous top list). Sorted by `sort`.
pub fn delta(prev: &[Statement], cur: &[Statement], sort: SortKey) -> Vec<Statement> {
    let before: HashMap<(&str, Option<&str>), &Statement> = prev
        .iter()
        .map(|s| ((s.queryid.as_str(), s.username.as_deref()), s))
        .collect();
    let mut out: Vec<Statement> = cur
        .iter()
        .filter_map(|s| {
            let Some(p) = before.get(&(s.queryid.as_str(), s.username.as_deref())) else {
                return Some(s.clone());
            };
            let calls = s.calls - p.calls;
            // Fewer calls than before: the stats were reset in between.
            if calls < 0 {
                return (s.calls > 0).then(|| s.clone());
            }
            (calls > 0).then(|| {
                let total = (s.total_time_ms - p.total_time_ms).max(0.0);
                Statement {
                    calls,
                    total_time_ms: total,
                    mean_time_ms: total / calls as f64,
                    rows: s.rows - p.rows,
                    shared_blks_hit: s.shared_blks_hit - p.shared_blks_hit,
                    shared_blks_read: s.shared_blks_read - p.shared_blks_read,
                    ..s.clone()
                }
            })
        })
        .collect();
    let sum: f64 = out.iter().map(|s| s.total_time_ms).sum();
    for s in &mut out {
        s.share_pct = if sum > 0.0 {
            100.0 * s.total_time_ms / sum
        } else {
            0.0
        };
    }
    out.sort_by(|a, b| sort.value(b).total_cmp(&sort.value(a)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(id: &str, calls: i64, total: f64) -> Statement {
        Statement {
            queryid: id.into(),
            query: format!("q{id}"),
            username: Some("app".into()),
            calls,
            total_time_ms: total,
            mean_time_ms: total / calls as f64,
            max_time_ms: 0.0,
            stddev_time_ms: 0.0,
            rows: calls,
            shared_blks_hit: 0,
            shared_blks_read: 0,
            share_pct: 0.0,
        }
    }

    #[test]
    fn delta_counts_only_what_ran_since() {
        let prev = vec![st("1", 10, 100.0), st("2", 5, 5000.0), st("3", 1, 1.0)];
        let cur = vec![
            st("1", 20, 1100.0),
            st("2", 5, 5000.0),
            st("3", 0, 0.0),
            st("4", 2, 10.0),
        ];
        let d = delta(&prev, &cur, SortKey::Total);
        let ids: Vec<_> = d.iter().map(|s| s.queryid.as_str()).collect();
        // 2 did not run; 3 was reset and has not run since; 4 is new.
        assert_eq!(ids, ["1", "4"]);
        assert_eq!(d[0].calls, 10);
        assert_eq!(d[0].total_time_ms, 1000.0);
        assert_eq!(d[0].mean_time_ms, 100.0);
        assert!((d[0].share_pct - 100.0 * 1000.0 / 1010.0).abs() < 1e-9);
    }

    #[test]
    fn sort_keys_parse() {
        for k in SortKey::ALL {
            assert_eq!(k.as_str().parse::<SortKey>().unwrap(), k);
        }
        let e = "slowest".parse::<SortKey>().unwrap_err().to_string();
        assert!(e.contains("total, mean, calls, io or rows"), "{e}");
    }

    #[test]
    fn not_preloaded_names_the_fix() {
        let e = explain_error(Error::Server {
            detail: "pg_stat_statements must be loaded via \"shared_preload_libraries\" (SQLSTATE 55000)".into(),
            hint: None,
        })
        .to_string();
        assert!(e.contains("not loaded") && e.contains("restart"), "{e}");
    }
}
