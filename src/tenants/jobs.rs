//! Failed jobs of one tenant, for job systems recognised by their tables.
//! Payloads are not indexed by tenant, so the count is bounded.

use super::EST_CAP;
use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct FailedJobs {
    /// `pgboss`, `graphile_worker` or `river`.
    pub source: String,
    /// Counted up to 10,000; see `capped`.
    pub count: i64,
    pub capped: bool,
}

/// (source, quoted table, failed predicate, quoted payload column) per known system.
const KNOWN: &[(&str, &str, &str, &str)] = &[
    (
        "pgboss",
        "\"pgboss\".\"job\"",
        "j.\"state\" = 'failed'",
        "\"data\"",
    ),
    (
        "graphile_worker",
        "\"graphile_worker\".\"_private_jobs\"",
        "j.\"last_error\" IS NOT NULL AND j.\"attempts\" >= j.\"max_attempts\"",
        "\"payload\"",
    ),
    (
        "river",
        "\"river_job\"",
        "j.\"state\" = 'discarded'",
        "\"args\"",
    ),
];

/// None when no known job table exists.
pub async fn failed_for(pg: &Pg, tenant_column: &str, id: &str) -> Result<Option<FailedJobs>> {
    // Which tables exist, in one round trip.
    let names: Vec<&str> = KNOWN.iter().map(|k| k.1).collect();
    let names = names.join("\n");
    let present: Vec<bool> = pg
        .row(
            "SELECT array_agg(to_regclass(n) IS NOT NULL ORDER BY i)
             FROM unnest(string_to_array($1, E'\\n')) WITH ORDINALITY AS u(n, i)",
            &[&names],
        )
        .await?
        .get(0);
    let Some((source, table, failed, payload)) = KNOWN
        .iter()
        .zip(present)
        .find_map(|(k, here)| here.then_some(*k))
    else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT count(*) FROM (SELECT 1 FROM {table} j WHERE {failed} AND j.{payload}->>$1 = $2 LIMIT {}) s",
        EST_CAP + 1
    );
    let n: i64 = pg.row(&sql, &[tenant_column, id]).await?.get(0);
    Ok(Some(FailedJobs {
        source: source.to_string(),
        count: n.min(EST_CAP),
        capped: n > EST_CAP,
    }))
}
