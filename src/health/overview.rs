//! The health summary behind `opsdeck overview` and the TUI's overview
//! screen: raw counters from Postgres and Redis plus figures judged against
//! the context's thresholds.

use crate::cache::info::parse_info;
use crate::cache::window::{Sample, Window};
use crate::config::Thresholds;
use crate::conn::{Pg, Redis};
use crate::error::{Error, Result};
use crate::session::Session;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Overview {
    pub collected_at: chrono::DateTime<chrono::Utc>,
    pub postgres: Option<PgHealth>,
    /// Why the Postgres part is missing, when it is.
    pub postgres_error: Option<String>,
    pub redis: Option<RedisHealth>,
    pub redis_error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgHealth {
    pub target: String,
    pub server_version: String,
    pub connections: i64,
    pub max_connections: i64,
    /// Commits plus rollbacks in this database since stats reset (for TPS).
    /// Per database because a cluster-wide sum drops when a database is dropped.
    pub xact_total: i64,
    /// Transactions per second in this database between two snapshots; null for a single one.
    pub tps: Option<f64>,
    pub cache_hit_ratio: Option<f64>,
    pub in_recovery: bool,
    /// Replay lag on a standby, or the largest replica replay lag on a primary.
    pub replication_lag_ms: Option<f64>,
    pub longest_transaction_ms: Option<f64>,
    pub blocked_sessions: i64,
    pub database_size_bytes: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisHealth {
    pub target: String,
    pub cluster: bool,
    pub masters: usize,
    pub version: String,
    pub used_memory_bytes: u64,
    pub maxmemory_bytes: u64,
    /// Since server start (opsdeck's own lookups included); kept under this
    /// name for scripts, the same as `hit_ratio_lifetime`.
    pub hit_ratio: Option<f64>,
    pub hit_ratio_lifetime: Option<f64>,
    /// The server's own instantaneous estimate, opsdeck's commands included.
    pub ops_per_sec: f64,
    /// Hits, misses and ops/s between two snapshots with opsdeck's own
    /// commands left out; null for a single snapshot. The figures use this.
    pub window: Option<Window>,
    pub connected_clients: u64,
    pub evicted_keys: u64,
    pub keys: u64,
    /// The INFO sample behind these figures: the start of the next window.
    #[serde(skip)]
    pub info_sample: Option<Sample>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warn,
    Error,
    Unknown,
}

/// One figure as shown: label, formatted value, and its level.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    pub key: &'static str,
    pub label: String,
    pub value: Option<f64>,
    pub display: String,
    pub level: Level,
}

const PG_SQL: &str = "
SELECT
  (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'),
  current_setting('max_connections')::bigint,
  coalesce((SELECT (xact_commit + xact_rollback)::bigint FROM pg_stat_database WHERE datname = current_database()), 0),
  (SELECT CASE WHEN blks_hit + blks_read > 0
          THEN blks_hit::float8 / (blks_hit + blks_read)::float8 END
     FROM pg_stat_database WHERE datname = current_database()),
  pg_is_in_recovery(),
  CASE WHEN pg_is_in_recovery()
       THEN extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 * 1000
       ELSE (SELECT max(extract(epoch FROM replay_lag))::float8 * 1000 FROM pg_stat_replication) END,
  (SELECT max(extract(epoch FROM now() - xact_start))::float8 * 1000 FROM pg_stat_activity
    WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() AND backend_type = 'client backend'),
  (SELECT count(*) FROM pg_stat_activity WHERE cardinality(pg_blocking_pids(pid)) > 0),
  pg_database_size(current_database())";

pub async fn postgres(pg: &Pg) -> Result<PgHealth> {
    let r = pg.row(PG_SQL, &[]).await.map_err(|e| e.at(&pg.target))?;
    Ok(PgHealth {
        target: pg.target.clone(),
        server_version: pg.server_version.clone(),
        connections: r.get(0),
        max_connections: r.get(1),
        xact_total: r.get(2),
        tps: None,
        cache_hit_ratio: r.get(3),
        in_recovery: r.get(4),
        replication_lag_ms: r.get(5),
        longest_transaction_ms: r.get(6),
        blocked_sessions: r.get(7),
        database_size_bytes: r.get(8),
    })
}

pub async fn redis(redis: &Redis) -> Result<RedisHealth> {
    let mut h = RedisHealth {
        target: redis.target.clone(),
        cluster: redis.is_cluster(),
        masters: redis.masters().len(),
        version: String::new(),
        used_memory_bytes: 0,
        maxmemory_bytes: 0,
        hit_ratio: None,
        hit_ratio_lifetime: None,
        ops_per_sec: 0.0,
        window: None,
        connected_clients: 0,
        evicted_keys: 0,
        keys: 0,
        info_sample: None,
    };
    let (sample, texts) = Sample::take(redis).await.map_err(|e| e.at(&redis.target))?;
    h.info_sample = Some(sample);
    let (mut hits, mut misses) = (0u64, 0u64);
    // The same INFO parser as `cache stats`, so both show the same figures.
    for (addr, text) in &texts {
        let n = parse_info(addr, text);
        h.version = n.redis_version.unwrap_or_default();
        h.used_memory_bytes += n.used_memory_bytes.unwrap_or(0);
        h.maxmemory_bytes += n.maxmemory_bytes.unwrap_or(0);
        h.ops_per_sec += n.instantaneous_ops_per_sec.unwrap_or(0) as f64;
        h.connected_clients += n.connected_clients.unwrap_or(0);
        h.evicted_keys += n.evicted_keys.unwrap_or(0);
        h.keys += n.dbs.iter().map(|d| d.keys).sum::<u64>();
        hits += n.keyspace_hits.unwrap_or(0);
        misses += n.keyspace_misses.unwrap_or(0);
    }
    if hits + misses > 0 {
        h.hit_ratio_lifetime = Some(hits as f64 / (hits + misses) as f64);
    }
    h.hit_ratio = h.hit_ratio_lifetime;
    Ok(h)
}

/// Collects whatever is configured; a part that cannot be reached is reported
/// in its `*_error` field instead of failing the whole overview.
pub async fn collect(session: &Session) -> Result<Overview> {
    Ok(collect_with_errors(session).await.0)
}

/// Like [`collect`], also handing back the typed errors so the CLI can pick
/// the exit code (4 for a connection failure, 5 for a rejected query).
pub async fn collect_with_errors(session: &Session) -> (Overview, Vec<Error>) {
    let pg = async {
        if !session.has_pg() {
            return None;
        }
        Some(match session.pg().await {
            Ok(pg) => postgres(&pg).await,
            Err(e) => Err(e),
        })
    };
    let rd = async {
        session.ctx.redis.as_ref()?;
        Some(match session.redis().await {
            Ok(r) => redis(&r).await,
            Err(e) => Err(e),
        })
    };
    let (pg, rd) = tokio::join!(pg, rd);
    let mut errors = Vec::new();
    let (postgres, postgres_error) = split(pg, &mut errors);
    let (redis, redis_error) = split(rd, &mut errors);
    let overview = Overview {
        collected_at: chrono::Utc::now(),
        postgres,
        postgres_error,
        redis,
        redis_error,
    };
    (overview, errors)
}

fn split<T>(r: Option<Result<T>>, errors: &mut Vec<Error>) -> (Option<T>, Option<String>) {
    match r {
        None => (None, None),
        Some(Ok(v)) => (Some(v), None),
        Some(Err(e)) => {
            let text = e.to_string();
            errors.push(e);
            (None, Some(text))
        }
    }
}

impl Overview {
    /// Fills the figures that need an earlier snapshot: `tps` from the
    /// transaction counter, and the Redis window (hit ratio, ops/s).
    pub fn window_since(&mut self, previous: &Overview) {
        let secs = (self.collected_at - previous.collected_at).num_milliseconds() as f64 / 1000.0;
        if let (Some(now), Some(before)) = (self.postgres.as_mut(), previous.postgres.as_ref()) {
            if secs > 0.0 && now.xact_total >= before.xact_total {
                now.tps = Some((now.xact_total - before.xact_total) as f64 / secs);
            }
        }
        if let (Some(now), Some(before)) = (self.redis.as_mut(), previous.redis.as_ref()) {
            if let (Some(a), Some(b)) = (&before.info_sample, &now.info_sample) {
                now.window = b.since(a);
            }
        }
    }

    /// Whether any source could not be read or any figure is at error level.
    pub fn has_problems(&self, t: &Thresholds) -> bool {
        self.postgres_error.is_some()
            || self.redis_error.is_some()
            || self.figures(t).iter().any(|f| f.level == Level::Error)
    }

    pub fn figures(&self, t: &Thresholds) -> Vec<Figure> {
        let mut out = Vec::new();
        if let Some(p) = &self.postgres {
            let pct = 100.0 * p.connections as f64 / p.max_connections.max(1) as f64;
            out.push(fig(
                "connections",
                "Connections",
                Some(pct),
                format!("{}/{} ({pct:.0}%)", p.connections, p.max_connections),
                above(pct, t.connections_warn_pct, t.connections_error_pct),
            ));
            out.push(fig(
                "tps",
                "TPS",
                p.tps,
                p.tps
                    .map(|v| format!("{v:.1}"))
                    .unwrap_or_else(|| "n/a".into()),
                if p.tps.is_some() {
                    Level::Ok
                } else {
                    Level::Unknown
                },
            ));
            let hit = p.cache_hit_ratio.map(|r| r * 100.0);
            out.push(fig(
                "cache_hit",
                "Cache hit",
                hit,
                pct_text(hit),
                hit.map_or(Level::Unknown, |h| {
                    below(h, t.cache_hit_warn_pct, t.cache_hit_error_pct)
                }),
            ));
            out.push(fig(
                "replication_lag",
                "Replication lag",
                p.replication_lag_ms,
                p.replication_lag_ms
                    .map(crate::units::millis)
                    .unwrap_or_else(|| "no replicas".into()),
                p.replication_lag_ms.map_or(Level::Ok, |v| {
                    above(v, t.replication_lag_warn_ms, t.replication_lag_error_ms)
                }),
            ));
            out.push(fig(
                "longest_transaction",
                "Longest xact",
                p.longest_transaction_ms,
                p.longest_transaction_ms
                    .map(crate::units::millis)
                    .unwrap_or_else(|| "none".into()),
                p.longest_transaction_ms.map_or(Level::Ok, |v| {
                    above(v, t.long_transaction_warn_ms, t.long_transaction_error_ms)
                }),
            ));
            out.push(fig(
                "blocked_sessions",
                "Blocked",
                Some(p.blocked_sessions as f64),
                p.blocked_sessions.to_string(),
                if p.blocked_sessions >= t.blocked_warn.max(1) {
                    Level::Warn
                } else {
                    Level::Ok
                },
            ));
        }
        if let Some(r) = &self.redis {
            let mem_pct = (r.maxmemory_bytes > 0)
                .then(|| 100.0 * r.used_memory_bytes as f64 / r.maxmemory_bytes as f64);
            out.push(fig(
                "redis_memory",
                "Redis memory",
                Some(r.used_memory_bytes as f64),
                match mem_pct {
                    Some(p) => format!(
                        "{} ({p:.0}% of max)",
                        crate::units::bytes(r.used_memory_bytes)
                    ),
                    None => format!(
                        "{} (no maxmemory)",
                        crate::units::bytes(r.used_memory_bytes)
                    ),
                },
                mem_pct.map_or(Level::Ok, |p| above(p, t.redis_memory_warn_pct, 95.0)),
            ));
            // Judged over the window only: a lifetime ratio is mostly history
            // (and opsdeck's own sampling), nothing to act on now.
            let hit = r
                .window
                .as_ref()
                .and_then(|w| w.hit_ratio)
                .map(|h| h * 100.0);
            let now = match &r.window {
                Some(w) if w.hit_ratio.is_none() => "no lookups".to_string(),
                _ => pct_text(hit),
            };
            out.push(fig(
                "redis_hit",
                "Redis hit",
                hit,
                match r.hit_ratio_lifetime {
                    Some(l) => format!("{now} (lifetime {:.1}%)", l * 100.0),
                    None => now,
                },
                hit.map_or(Level::Unknown, |h| {
                    below(h, t.cache_hit_warn_pct, t.cache_hit_error_pct)
                }),
            ));
            let ops = r.window.as_ref().map(|w| w.ops_per_sec);
            out.push(fig(
                "redis_ops",
                "Redis ops/s",
                ops,
                ops.map_or_else(|| "n/a".into(), |v| format!("{v:.0}")),
                if ops.is_some() {
                    Level::Ok
                } else {
                    Level::Unknown
                },
            ));
        }
        out
    }
}

fn fig(
    key: &'static str,
    label: &str,
    value: Option<f64>,
    display: String,
    level: Level,
) -> Figure {
    Figure {
        key,
        label: label.to_string(),
        value,
        display,
        level,
    }
}

fn above(v: f64, warn: f64, error: f64) -> Level {
    if v >= error {
        Level::Error
    } else if v >= warn {
        Level::Warn
    } else {
        Level::Ok
    }
}

fn below(v: f64, warn: f64, error: f64) -> Level {
    if v < error {
        Level::Error
    } else if v < warn {
        Level::Warn
    } else {
        Level::Ok
    }
}

fn pct_text(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.1}%"))
        .unwrap_or_else(|| "n/a".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels() {
        assert_eq!(above(50.0, 70.0, 90.0), Level::Ok);
        assert_eq!(above(75.0, 70.0, 90.0), Level::Warn);
        assert_eq!(above(95.0, 70.0, 90.0), Level::Error);
        assert_eq!(below(99.0, 95.0, 85.0), Level::Ok);
        assert_eq!(below(90.0, 95.0, 85.0), Level::Warn);
        assert_eq!(below(80.0, 95.0, 85.0), Level::Error);
    }
}
