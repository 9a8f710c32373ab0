//! One named context: which servers, how cautiously, and how the app's
//! schema and cache keys are named.

use super::SchemaMap;
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// Postgres URL or key=value conninfo; libpq env vars fill what is missing.
    pub pg: Option<String>,
    /// Redis URL (redis:// or rediss://).
    pub redis: Option<String>,
    /// Force Redis Cluster mode; auto-detected when unset.
    pub redis_cluster: Option<bool>,
    /// PEM CA bundle that signs the Redis server certificate (rediss://);
    /// replaces the public web roots for Redis when set.
    pub redis_ca: Option<PathBuf>,
    /// Refuse every mutation and open sessions with default_transaction_read_only.
    #[serde(default)]
    pub read_only: bool,
    pub statement_timeout_ms: Option<u64>,
    pub lock_timeout_ms: Option<u64>,
    pub idle_in_transaction_timeout_ms: Option<u64>,
    /// Command whose stdout is the Postgres password (pass, vault, op ...).
    pub password_command: Option<String>,
    /// "transaction" when Postgres sits behind a transaction pooler
    /// (PgBouncer pool_mode = transaction, Supabase's or Neon's poolers).
    pub pooler: Option<crate::conn::limits::Pooler>,
    pub theme: Option<String>,
    #[serde(default)]
    pub schema: SchemaMap,
    #[serde(default)]
    pub cache: CacheLayout,
    #[serde(default)]
    pub thresholds: Thresholds,
    #[serde(default)]
    pub api_keys: super::api_keys::ApiKeySettings,
    #[serde(default)]
    pub migrations: super::migrations::MigrationsConfig,
    #[serde(default)]
    pub jobs: super::jobs::JobsConfig,
    #[serde(default)]
    pub drills: super::drills::DrillSettings,
}

/// Postgres takes its timeouts as a 32-bit count of milliseconds.
const PG_TIMEOUT_MAX_MS: u64 = i32::MAX as u64;

impl Context {
    /// Values the TOML types let through but the servers would refuse:
    /// caught here, naming the key, rather than as a failed connection.
    pub fn check(&self, name: &str) -> Result<(), crate::error::Error> {
        for (key, value) in [
            ("statement_timeout_ms", self.statement_timeout_ms),
            ("lock_timeout_ms", self.lock_timeout_ms),
            (
                "idle_in_transaction_timeout_ms",
                self.idle_in_transaction_timeout_ms,
            ),
        ] {
            if let Some(v) = value.filter(|v| *v > PG_TIMEOUT_MAX_MS) {
                return Err(crate::error::Error::Config(format!(
                    "contexts.{name}.{key} = {v} is out of range: use 0 (no limit) to {PG_TIMEOUT_MAX_MS} milliseconds"
                )));
            }
        }
        self.api_keys.check(name)?;
        self.drills.check(name)?;
        self.schema.check(name)
    }
}

/// How the application names its cache keys.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheLayout {
    /// Patterns of one tenant's keys (one, or a list when the application
    /// keys a tenant's data several ways); `{tenant}` is replaced by the
    /// tenant's id, `{slug}` by its slug.
    #[serde(deserialize_with = "one_or_many")]
    pub tenant_pattern: Vec<String>,
    /// Key of the set that lists the keys carrying a tag; `{tag}` is replaced.
    pub tag_key: String,
    /// Separator between key segments, used to build the prefix tree.
    pub separator: String,
    /// Keys sampled for per-prefix statistics.
    pub sample_size: usize,
}

impl Default for CacheLayout {
    fn default() -> Self {
        CacheLayout {
            tenant_pattern: vec!["t:{tenant}:*".into()],
            tag_key: "tag:{tag}".into(),
            separator: ":".into(),
            sample_size: 10_000,
        }
    }
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let list = match OneOrMany::deserialize(d)? {
        OneOrMany::One(p) => vec![p],
        OneOrMany::Many(list) => list,
    };
    if list.is_empty() || list.iter().any(|p| p.is_empty()) {
        return Err(serde::de::Error::custom(
            "tenant_pattern needs at least one non-empty pattern, e.g. \"t:{tenant}:*\"",
        ));
    }
    Ok(list)
}

/// Warn/error thresholds for overview figures.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub connections_warn_pct: f64,
    pub connections_error_pct: f64,
    pub cache_hit_warn_pct: f64,
    pub cache_hit_error_pct: f64,
    pub replication_lag_warn_ms: f64,
    pub replication_lag_error_ms: f64,
    pub long_transaction_warn_ms: f64,
    pub long_transaction_error_ms: f64,
    pub blocked_warn: i64,
    pub redis_memory_warn_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            connections_warn_pct: 70.0,
            connections_error_pct: 90.0,
            cache_hit_warn_pct: 95.0,
            cache_hit_error_pct: 85.0,
            replication_lag_warn_ms: 10_000.0,
            replication_lag_error_ms: 60_000.0,
            long_transaction_warn_ms: 60_000.0,
            long_transaction_error_ms: 600_000.0,
            blocked_warn: 1,
            redis_memory_warn_pct: 80.0,
        }
    }
}

/// A context after flags and env were applied (flags > env > context > defaults).
#[derive(Debug, Clone)]
pub struct ResolvedContext {
    pub name: String,
    pub pg: Option<String>,
    pub redis: Option<String>,
    pub redis_cluster: Option<bool>,
    pub redis_ca: Option<PathBuf>,
    pub read_only: bool,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    pub password_command: Option<String>,
    pub pooler: crate::conn::limits::Pooler,
    pub schema: SchemaMap,
    pub cache: CacheLayout,
    pub thresholds: Thresholds,
    pub api_keys: super::api_keys::ApiKeySettings,
    pub migrations: super::migrations::MigrationsConfig,
    pub jobs: super::jobs::JobsConfig,
    pub drills: super::drills::DrillSettings,
    pub theme: Option<String>,
}

/// What the command line said, as far as context resolution cares.
#[derive(Debug, Clone, Default)]
pub struct ContextOverrides {
    pub pg: Option<String>,
    pub redis: Option<String>,
    pub read_only: bool,
}

impl ResolvedContext {
    pub fn resolve(name: String, ctx: Context, flags: &ContextOverrides) -> ResolvedContext {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        ResolvedContext {
            pg: flags
                .pg
                .clone()
                .or_else(|| env("OPSDECK_PG_URL"))
                .or(ctx.pg),
            redis: flags
                .redis
                .clone()
                .or_else(|| env("OPSDECK_REDIS_URL"))
                .or_else(|| env("REDIS_URL"))
                .or(ctx.redis),
            redis_cluster: ctx.redis_cluster,
            redis_ca: env("OPSDECK_REDIS_CA").map(PathBuf::from).or(ctx.redis_ca),
            read_only: flags.read_only || ctx.read_only,
            statement_timeout: Duration::from_millis(ctx.statement_timeout_ms.unwrap_or(30_000)),
            lock_timeout: Duration::from_millis(ctx.lock_timeout_ms.unwrap_or(3_000)),
            idle_in_transaction_timeout: Duration::from_millis(
                ctx.idle_in_transaction_timeout_ms.unwrap_or(60_000),
            ),
            password_command: ctx.password_command,
            pooler: ctx.pooler.unwrap_or_default(),
            schema: ctx.schema,
            cache: ctx.cache,
            thresholds: ctx.thresholds,
            api_keys: ctx.api_keys,
            migrations: ctx.migrations,
            jobs: ctx.jobs,
            drills: ctx.drills,
            theme: ctx.theme,
            name,
        }
    }
}
