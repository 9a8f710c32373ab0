//! Failed jobs of one tenant, for the Postgres job systems recognised by
//! their tables, where payloads carry the tenant id at the context's
//! `jobs.tenant_path` (default: the schema's tenant column name). Payloads
//! are not indexed by tenant, so the count is bounded.

use super::EST_CAP;
use crate::config::jobs::JobsConfig;
use crate::conn::sql::{quote_ident, text_array, QualName};
use crate::conn::Pg;
use crate::error::Result;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Failures shown beside the count.
pub const RECENT: usize = 5;

#[derive(Debug, Clone, Serialize)]
pub struct FailedJobs {
    /// `pgboss`, `graphile_worker` or `river`.
    pub source: String,
    /// Counted up to 10,000; see `capped`.
    pub count: i64,
    pub capped: bool,
    /// The newest few, for `opsdeck jobs show`.
    pub recent: Vec<RecentFailure>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecentFailure {
    pub id: String,
    pub queue: String,
    pub error: Option<String>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// What one known system's failed jobs look like in SQL: the table, the
/// failed predicate, and the payload, queue, error and failure time of `j`.
struct Known {
    source: &'static str,
    table: String,
    failed: &'static str,
    payload: &'static str,
    queue: &'static str,
    error: &'static str,
    at: &'static str,
}

fn known(cfg: &JobsConfig) -> Result<Vec<Known>> {
    let pgboss = quote_ident(&cfg.pgboss_schema);
    let graphile = quote_ident(&cfg.graphile_schema);
    let river = QualName::parse(&cfg.river_table, "public")?.sql();
    Ok(vec![
        Known {
            source: "pgboss",
            table: format!("{pgboss}.\"job\" j"),
            failed: "j.\"state\" = 'failed'",
            payload: "j.\"data\"",
            queue: "j.\"name\"",
            error: "j.\"output\"->>'message'",
            at: "j.\"completed_on\"",
        },
        Known {
            source: "graphile_worker",
            table: format!(
                "{graphile}.\"_private_jobs\" j0 JOIN {graphile}.\"_private_tasks\" t ON t.id = j0.task_id, LATERAL (SELECT j0.*, t.identifier) j"
            ),
            failed: "j.\"last_error\" IS NOT NULL AND j.\"attempts\" >= j.\"max_attempts\"",
            payload: "j.\"payload\"::jsonb",
            queue: "j.\"identifier\"",
            error: "j.\"last_error\"",
            at: "j.\"updated_at\"",
        },
        Known {
            source: "river",
            table: format!("{river} j"),
            failed: "j.\"state\" = 'discarded'",
            payload: "j.\"args\"",
            queue: "j.\"queue\"",
            error: "j.\"errors\"[array_length(j.\"errors\", 1)]->>'error'",
            at: "j.\"finalized_at\"",
        },
    ])
}

/// The table a `Known` reads, for the existence check.
fn probe(k: &Known) -> String {
    k.table
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string()
}

/// None when no known job table exists. `tenant_column` is the path used
/// when the context sets no `jobs.tenant_path`.
pub async fn failed_for(
    pg: &Pg,
    cfg: &JobsConfig,
    tenant_column: &str,
    id: &str,
) -> Result<Option<FailedJobs>> {
    let systems = known(cfg)?;
    // Which tables exist, in one round trip.
    let names: Vec<String> = systems.iter().map(probe).collect();
    let names = names.join("\n");
    let present: Vec<bool> = pg
        .row(
            "SELECT array_agg(to_regclass(n) IS NOT NULL ORDER BY i)
             FROM unnest(string_to_array($1, E'\\n')) WITH ORDINALITY AS u(n, i)",
            &[&names],
        )
        .await?
        .get(0);
    let Some(k) = systems
        .into_iter()
        .zip(present)
        .find_map(|(k, here)| here.then_some(k))
    else {
        return Ok(None);
    };
    let path = cfg.tenant_path.as_deref().unwrap_or(tenant_column);
    let keys: Vec<&str> = path.split('.').filter(|s| !s.is_empty()).collect();
    let keys = text_array(&keys);
    let matches = format!("{} AND {} #>> $1::text[] = $2", k.failed, k.payload);
    let count_sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM {t} WHERE {matches} LIMIT {}) s",
        EST_CAP + 1,
        t = k.table
    );
    let recent_sql = format!(
        "SELECT j.id::text, {q}::text, {e}::text, {a} FROM {t} WHERE {matches} ORDER BY {a} DESC NULLS LAST LIMIT {RECENT}",
        q = k.queue,
        e = k.error,
        a = k.at,
        t = k.table
    );
    let params = [keys.as_str(), id];
    let (n, recent) = tokio::try_join!(pg.row(&count_sql, &params), pg.rows(&recent_sql, &params))?;
    let n: i64 = n.get(0);
    Ok(Some(FailedJobs {
        source: k.source.to_string(),
        count: n.min(EST_CAP),
        capped: n > EST_CAP,
        recent: recent
            .iter()
            .map(|r| RecentFailure {
                id: r.get(0),
                queue: r.get(1),
                error: r.get(2),
                failed_at: r.get(3),
            })
            .collect(),
    }))
}
