//! One tenant in detail: per-table row counts (exact where an index on the
//! tenant column makes it cheap, else the planner's estimate; a count that
//! hits statement_timeout is reported, never fatal), API keys, the app's
//! audit trail, cache keys and failed jobs.

use super::extras::{self, AppAuditEntry};
use super::jobs::{self, FailedJobs};
use super::meta;
use super::resolve::resolve_in;
use crate::cache::tenant::{self as tenant_keys, Budget, CacheCount};
use crate::config::api_keys::ApiKeySettings;
use crate::config::jobs::JobsConfig;
use crate::config::{CacheLayout, SchemaMap};
use crate::conn::sql::{quote_ident, QualName};
use crate::conn::{Pg, Redis};
use crate::error::Result;
use crate::keys::{store as key_store, KeyRow};
use futures_util::future::join_all;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CountMethod {
    /// `count(*)` through the tenant-column index.
    Exact,
    /// The planner's estimate (no index leads with the tenant column).
    Estimate,
    /// The exact count hit statement_timeout; `rows` is null.
    TimedOut,
}

#[derive(Debug, Clone, Serialize)]
pub struct TableCount {
    pub table: String,
    pub rows: Option<i64>,
    pub method: CountMethod,
}

#[derive(Debug, Clone, Serialize)]
pub struct TenantDetail {
    pub id: String,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub plan: Option<String>,
    pub status: Option<String>,
    pub created_at: Option<String>,
    pub tables: Vec<TableCount>,
    /// The newest keys (at most 100); null when the api_keys table does not exist.
    pub api_keys: Option<Vec<KeyRow>>,
    /// All of the tenant's keys, and those neither revoked nor expired.
    pub api_keys_total: Option<i64>,
    pub api_keys_active: Option<i64>,
    /// Newest first; null when the app's audit table does not exist.
    pub app_audit: Option<Vec<AppAuditEntry>>,
    /// The keys `cache invalidate --tenant` would delete (the context's
    /// tenant patterns), counted within a time budget; null when no Redis
    /// is configured.
    pub cache: Option<CacheCount>,
    /// Present only when a known job system's tables exist.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_jobs: Option<FailedJobs>,
    /// Parts that could not be read (timeouts, privileges), one line each.
    pub notes: Vec<String>,
}

/// `redis` is None when the context has no Redis. Lookups that do not
/// depend on each other run concurrently (tokio-postgres pipelines them on
/// the one connection): over a 50 ms link the detail costs a few round
/// trips, not one per table.
pub async fn show(
    pg: &Pg,
    redis: Option<&Redis>,
    map: &SchemaMap,
    layout: &CacheLayout,
    keys: &ApiKeySettings,
    key: &str,
) -> Result<TenantDetail> {
    show_with(pg, redis, map, layout, keys, &JobsConfig::default(), key).await
}

/// [`show`] with the context's jobs settings (where payloads carry the
/// tenant id, where the job systems keep their tables).
pub async fn show_with(
    pg: &Pg,
    redis: Option<&Redis>,
    map: &SchemaMap,
    layout: &CacheLayout,
    keys: &ApiKeySettings,
    jobs_cfg: &JobsConfig,
    key: &str,
) -> Result<TenantDetail> {
    let audit_table = QualName::parse(&map.app_audit_table, &map.app_schema)?;
    let m = meta::load(pg, map).await?;
    let (t, tenant_tables) =
        tokio::try_join!(resolve_in(pg, &m, key), meta::tenant_tables(pg, map, m.oid))?;
    let counts = join_all(
        tenant_tables
            .iter()
            .map(|tt| count(pg, tt, &map.tenant_column, &t.id)),
    );
    let cache = async {
        let r = redis?;
        Some(
            match tenant_keys::patterns(layout, &t.id, t.slug.as_deref()) {
                Ok(patterns) => tenant_keys::count(r, &patterns, Some(Budget::DETAIL)).await,
                Err(e) => Err(e),
            },
        )
    };
    let (counts, api_keys, app_audit, failed_jobs, cache) = tokio::join!(
        counts,
        key_store::for_tenant(pg, map, keys, &t.id, KEYS_SHOWN),
        extras::app_audit(pg, &audit_table, &m.table, &map.tenant_column, &t.id),
        jobs::failed_for(pg, jobs_cfg, &map.tenant_column, &t.id),
        cache,
    );
    let mut notes = Vec::new();
    let tables = tenant_tables
        .iter()
        .zip(counts)
        .map(|(tt, counted)| {
            let (rows, method) = counted.unwrap_or_else(|e| {
                notes.push(format!("{}: {e}", tt.name.display()));
                (None, CountMethod::TimedOut)
            });
            TableCount {
                table: tt.name.display(),
                rows,
                method,
            }
        })
        .collect();
    let api_keys = optional(api_keys, "api keys", &mut notes);
    let (api_keys_total, api_keys_active) = match &api_keys {
        Some(k) => (Some(k.total), Some(k.active)),
        None => (None, None),
    };
    let api_keys = api_keys.map(|k| k.keys);
    let app_audit = optional(app_audit, "app audit", &mut notes);
    let failed_jobs = optional(failed_jobs, "failed jobs", &mut notes);
    let cache = optional(cache.transpose(), "cache keys", &mut notes);
    Ok(TenantDetail {
        id: t.id,
        slug: t.slug,
        name: t.name,
        plan: t.plan,
        status: t.status,
        created_at: t.created_at,
        tables,
        api_keys,
        api_keys_total,
        api_keys_active,
        app_audit,
        cache,
        failed_jobs,
        notes,
    })
}

/// Keys listed in the detail; the counts cover all of them.
const KEYS_SHOWN: usize = 100;

/// A part that failed becomes a note; connection loss still fails the command.
fn optional<T>(r: Result<Option<T>>, what: &str, notes: &mut Vec<String>) -> Option<T> {
    match r {
        Ok(v) => v,
        Err(e) => {
            notes.push(format!("{what}: {e}"));
            None
        }
    }
}

async fn count(
    pg: &Pg,
    t: &meta::TenantTable,
    column: &str,
    id: &str,
) -> Result<(Option<i64>, CountMethod)> {
    let cond = format!("{} = $1::text::{}", quote_ident(column), t.column_type);
    if t.has_tenant_index {
        let sql = format!("SELECT count(*) FROM {} WHERE {cond}", t.name.sql());
        return match pg.rows(&sql, &[id]).await {
            Ok(rows) => Ok((rows.first().map(|r| r.get(0)), CountMethod::Exact)),
            Err(e) if e.sqlstate() == Some("57014") => Ok((None, CountMethod::TimedOut)),
            Err(e) => Err(e),
        };
    }
    let sql = format!(
        "EXPLAIN (FORMAT JSON) SELECT 1 FROM {} WHERE {cond}",
        t.name.sql()
    );
    let plan: serde_json::Value = pg.row(&sql, &[id]).await?.get(0);
    let rows = plan[0]["Plan"]["Plan Rows"]
        .as_f64()
        .map(|r| r.round() as i64);
    Ok((rows, CountMethod::Estimate))
}
