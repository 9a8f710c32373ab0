//! The overview's figures: each raw counter formatted and judged against
//! the context's thresholds, for `opsdeck overview` and the console's panes.

use super::overview::{Figure, Level, Overview};
use crate::config::Thresholds;

impl Overview {
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
            let st = &p.sessions;
            out.push(fig(
                "sessions",
                "Sessions",
                Some(st.active as f64),
                format!(
                    "{} active, {} idle, {} in xact, {} waiting",
                    st.active, st.idle, st.idle_in_transaction, st.waiting
                ),
                if st.waiting >= t.blocked_warn.max(1) {
                    Level::Warn
                } else {
                    Level::Ok
                },
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
            out.push(fig(
                "database_size",
                "Database size",
                Some(p.database_size_bytes as f64),
                crate::units::bytes(u64::try_from(p.database_size_bytes).unwrap_or(0)),
                Level::Ok,
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
            out.push(fig(
                "redis_evictions",
                "Evictions",
                r.evicted_in_window.map(|n| n as f64),
                match r.evicted_in_window {
                    Some(n) => format!("{n} ({} since start)", r.evicted_keys),
                    None => format!("{} since start", r.evicted_keys),
                },
                match r.evicted_in_window {
                    Some(n) if n > 0 => Level::Warn,
                    _ => Level::Ok,
                },
            ));
            out.push(fig(
                "redis_clients",
                "Redis clients",
                Some(r.connected_clients as f64),
                r.connected_clients.to_string(),
                Level::Ok,
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
