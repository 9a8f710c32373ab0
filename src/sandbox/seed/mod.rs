//! Seeds the reference system of DESIGN.md section 1: the app's tables with
//! skewed tenants, API keys in every state, the app's audit trigger, RLS with
//! deliberate gaps for the linters, a short workload for pg_stat_statements,
//! and per-tenant Redis cache keys with TTLs and tags.

mod data;
pub mod jobs_bullmq;
pub mod jobs_pg;
mod keys;
mod migrations;
mod redis;
mod schema;
mod workload;

pub use jobs_bullmq::{seed_bullmq, BullmqSeedReport};
pub use redis::{seed_redis, RedisSeedReport};

use crate::error::{Error, Result};
use serde::Serialize;
use std::fmt;
use std::str::FromStr;
use std::time::Instant;
use tokio_postgres::Client;

/// How much data to seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// Seconds: for tests.
    Tiny,
    Small,
    /// Hundreds of tenants, events in the millions: the demo.
    Default,
    /// A million tenants: for benchmarks.
    Large,
}

impl Scale {
    pub const NAMES: &'static [&'static str] = &["tiny", "small", "default", "large"];

    pub fn sizes(self) -> Sizes {
        match self {
            Scale::Tiny => Sizes {
                tenants: 30,
                whales: 2,
                users: 300,
                projects: 90,
                invoices: 600,
                events: 20_000,
                slow_queries: 5,
                redis_keys: 600,
            },
            Scale::Small => Sizes {
                tenants: 200,
                whales: 4,
                users: 5_000,
                projects: 1_500,
                invoices: 10_000,
                events: 200_000,
                slow_queries: 10,
                redis_keys: 10_000,
            },
            Scale::Default => Sizes {
                tenants: 600,
                whales: 6,
                users: 60_000,
                projects: 12_000,
                invoices: 120_000,
                events: 2_500_000,
                slow_queries: 12,
                redis_keys: 60_000,
            },
            Scale::Large => Sizes {
                tenants: 1_000_000,
                whales: 20,
                users: 2_000_000,
                projects: 400_000,
                invoices: 2_000_000,
                events: 5_000_000,
                slow_queries: 6,
                redis_keys: 1_000_000,
            },
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Scale::Tiny => "tiny",
            Scale::Small => "small",
            Scale::Default => "default",
            Scale::Large => "large",
        };
        f.write_str(name)
    }
}

impl FromStr for Scale {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Scale, String> {
        match s {
            "tiny" => Ok(Scale::Tiny),
            "small" => Ok(Scale::Small),
            "default" => Ok(Scale::Default),
            "large" => Ok(Scale::Large),
            other => Err(format!(
                "unknown scale '{other}': use one of {}",
                Scale::NAMES.join(", ")
            )),
        }
    }
}

/// Row counts for one scale. Tenant ids are `1..=tenants`; the first
/// `whales` tenants hold most of the data.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sizes {
    pub tenants: i64,
    pub whales: i64,
    pub users: i64,
    pub projects: i64,
    pub invoices: i64,
    pub events: i64,
    /// How often each slow query of the workload runs.
    pub slow_queries: usize,
    pub redis_keys: u64,
}

/// The plan of tenant `id`, the same rule the SQL seed uses, so the Redis
/// seed can tag keys by plan without asking Postgres.
pub fn plan_of(id: i64, whales: i64) -> &'static str {
    if id <= whales {
        "enterprise"
    } else if id % 4 == 0 {
        "pro"
    } else {
        "free"
    }
}

/// One step of the seed, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct SeedStep {
    pub done: u64,
    pub total: u64,
    pub label: &'static str,
}

/// What was seeded and how long it took.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    pub scale: Scale,
    pub tenants: i64,
    pub users: i64,
    pub projects: i64,
    pub invoices: i64,
    pub events: i64,
    pub api_keys: i64,
    pub audit_log: i64,
    pub workload_queries: usize,
    pub duration_ms: u64,
}

/// Number of events inserted per statement, so progress moves and no single
/// statement runs into a statement_timeout.
const EVENT_CHUNK: i64 = 250_000;

/// Seeds an empty database. `progress` is called before each step.
pub async fn seed_postgres(
    client: &Client,
    scale: Scale,
    progress: &(dyn Fn(SeedStep) + Sync),
) -> Result<SeedReport> {
    let started = Instant::now();
    let sizes = scale.sizes();
    let event_chunks = u64::try_from((sizes.events + EVENT_CHUNK - 1) / EVENT_CHUNK).unwrap_or(1);
    let total = 11 + event_chunks;
    let mut done = 0;
    let mut step = |label: &'static str| {
        progress(SeedStep { done, total, label });
        done += 1;
    };
    step("schema");
    client.batch_execute(schema::SESSION_SQL).await?;
    client.batch_execute(schema::TABLES_SQL).await?;
    step("tenants");
    data::tenants(client, &sizes).await?;
    step("users and projects");
    data::users_and_projects(client, &sizes).await?;
    step("invoices");
    data::invoices(client, &sizes).await?;
    let mut lo = 1;
    while lo <= sizes.events {
        step("events");
        let hi = (lo + EVENT_CHUNK - 1).min(sizes.events);
        data::events(client, &sizes, lo, hi).await?;
        lo = hi + 1;
    }
    step("api keys");
    keys::api_keys(client).await?;
    step("indexes and constraints");
    client.batch_execute(schema::INDEXES_SQL).await?;
    step("row-level security and audit trigger");
    client.batch_execute(schema::RLS_SQL).await?;
    client.batch_execute(schema::AUDIT_SQL).await?;
    keys::rotate_and_revoke(client).await?;
    data::tenant_changes(client, &sizes).await?;
    step("migration history");
    client.batch_execute(migrations::SQL).await?;
    step("jobs");
    jobs_pg::seed(client, sizes.tenants).await?;
    step("analyze");
    client.batch_execute("ANALYZE").await?;
    // Counted before the workload so that its statements are all that
    // pg_stat_statements shows for this database afterwards.
    let count = |table: &'static str| async move {
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await?;
        Ok::<i64, Error>(row.get(0))
    };
    let mut report = SeedReport {
        scale,
        tenants: count("tenants").await?,
        users: count("users").await?,
        projects: count("projects").await?,
        invoices: count("invoices").await?,
        events: count("events").await?,
        api_keys: count("api_keys").await?,
        audit_log: count("audit_log").await?,
        workload_queries: 0,
        duration_ms: 0,
    };
    step("workload");
    report.workload_queries = workload::run(client, &sizes).await?;
    // Loading millions of rows reads far more blocks than any steady state
    // would; start the database counters (cache hit ratio, TPS) afresh so
    // the demo shows a running system, not its bulk load. pg_stat_statements
    // keeps the workload.
    client.batch_execute("SELECT pg_stat_reset()").await?;
    progress(SeedStep {
        done: total,
        total,
        label: "done",
    });
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_parse_and_print() {
        for name in Scale::NAMES {
            let s: Scale = name.parse().unwrap();
            assert_eq!(&s.to_string(), name);
        }
        assert!("huge".parse::<Scale>().unwrap_err().contains("tiny"));
    }

    #[test]
    fn whales_are_enterprise() {
        assert_eq!(plan_of(1, 2), "enterprise");
        assert_eq!(plan_of(4, 2), "pro");
        assert_eq!(plan_of(5, 2), "free");
    }

    #[test]
    fn sizes_grow_with_scale() {
        let ev: Vec<i64> = [Scale::Tiny, Scale::Small, Scale::Default, Scale::Large]
            .iter()
            .map(|s| s.sizes().events)
            .collect();
        assert!(ev.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(Scale::Large.sizes().tenants, 1_000_000);
        assert!(Scale::Default.sizes().events >= 1_000_000);
    }
}
