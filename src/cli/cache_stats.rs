//! `cache stats` for people and for CSV. A table shows the window line, one
//! row per node, the slowlog head, and the sampled prefixes and TTLs; CSV
//! is one record per node with raw numbers (JSON has everything, nested).

use super::output::{self, Tabular};
use crate::cache::info::NodeStats;
use crate::cache::{window::Window, CacheStats};
use crate::units;
use std::io::Write;

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

/// Per node: identity, state, memory, keys, traffic, then evictions.
impl Tabular for NodeStats {
    fn headers() -> Vec<&'static str> {
        vec![
            "node",
            "role",
            "redis_version",
            "uptime_ms",
            "used_memory_bytes",
            "used_memory_peak_bytes",
            "maxmemory_bytes",
            "maxmemory_policy",
            "mem_fragmentation_ratio",
            "keys",
            "keys_with_ttl",
            "hit_ratio_lifetime",
            "keyspace_hits",
            "keyspace_misses",
            "instantaneous_ops_per_sec",
            "connected_clients",
            "evicted_keys",
            "expired_keys",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.addr.clone(),
            opt(self.role.clone()),
            opt(self.redis_version.clone()),
            opt(self.uptime_ms),
            opt(self.used_memory_bytes),
            opt(self.used_memory_peak_bytes),
            opt(self.maxmemory_bytes),
            opt(self.maxmemory_policy.clone()),
            opt(self.mem_fragmentation_ratio),
            self.dbs.iter().map(|d| d.keys).sum::<u64>().to_string(),
            self.dbs.iter().map(|d| d.expires).sum::<u64>().to_string(),
            opt(self.hit_ratio),
            opt(self.keyspace_hits),
            opt(self.keyspace_misses),
            opt(self.instantaneous_ops_per_sec),
            opt(self.connected_clients),
            opt(self.evicted_keys),
            opt(self.expired_keys),
        ]
    }
}

fn shown_bytes(v: Option<u64>) -> String {
    v.map(units::bytes).unwrap_or_else(|| "-".into())
}

fn dash<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

fn pct(v: Option<f64>) -> String {
    v.map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "-".into())
}

/// The windowed figures, or why there are none.
fn window_line(w: Option<&Window>) -> String {
    let Some(w) = w else {
        return "window: none (one INFO sample; --sample-ms N gives hit ratio and ops/s over N ms)"
            .into();
    };
    let hit = match w.hit_ratio {
        Some(r) => format!(
            "hit {:.1}% ({} hits, {} misses)",
            r * 100.0,
            w.keyspace_hits,
            w.keyspace_misses
        ),
        None => "hit - (no lookups)".into(),
    };
    format!(
        "window {}: {hit}, {:.0} ops/s; opsdeck's own commands left out",
        units::millis(w.window_ms as f64),
        w.ops_per_sec
    )
}

/// The TTL buckets as people name them.
fn bucket_label(bucket: &str) -> &str {
    match bucket {
        "no_ttl" => "no TTL",
        "lt_1m" => "< 1 min",
        "1m_10m" => "1-10 min",
        "10m_1h" => "10 min - 1 h",
        "1h_1d" => "1 h - 1 d",
        "ge_1d" => ">= 1 d",
        other => other,
    }
}

pub fn print(s: &CacheStats) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    let kind = if s.cluster { "cluster" } else { "single node" };
    writeln!(out, "redis {} ({kind})", s.target)?;
    writeln!(out, "{}", window_line(s.window.as_ref()))?;
    let mut t = output::table(vec![
        "node", "keys", "memory", "peak", "max", "frag", "hit", "ops/s", "clients", "evicted",
        "expired",
    ]);
    for n in &s.nodes {
        output::row(
            &mut t,
            vec![
                n.addr.clone(),
                n.dbs.iter().map(|d| d.keys).sum::<u64>().to_string(),
                shown_bytes(n.used_memory_bytes),
                shown_bytes(n.used_memory_peak_bytes),
                match n.maxmemory_bytes {
                    Some(0) => "none".into(),
                    m => shown_bytes(m),
                },
                dash(n.mem_fragmentation_ratio),
                pct(n.hit_ratio),
                dash(n.instantaneous_ops_per_sec),
                dash(n.connected_clients),
                dash(n.evicted_keys),
                dash(n.expired_keys),
            ],
        );
    }
    output::fit_columns(&mut t);
    writeln!(out, "{t}")?;
    writeln!(
        out,
        "hit: since server start; ops/s: the server's own estimate, opsdeck included"
    )?;
    let dbs: Vec<String> = s
        .nodes
        .iter()
        .flat_map(|n| {
            n.dbs.iter().map(move |d| {
                format!(
                    "{} db{}: {} keys, {} with TTL (average {})",
                    n.addr,
                    d.db,
                    d.keys,
                    d.expires,
                    units::millis(d.avg_ttl_ms as f64)
                )
            })
        })
        .collect();
    if !dbs.is_empty() {
        writeln!(out, "\n{}", dbs.join("\n"))?;
    }
    if !s.slowlog.is_empty() {
        let mut t = output::table(vec!["node", "started_at", "duration", "command"]);
        for e in &s.slowlog {
            output::row(
                &mut t,
                vec![
                    e.node.clone(),
                    e.started_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    units::millis(e.duration_ms),
                    e.command.clone(),
                ],
            );
        }
        output::fit_columns(&mut t);
        writeln!(out, "\nslowlog (slowest first)\n{t}")?;
    }
    let sm = &s.sample;
    writeln!(
        out,
        "\nsample: {} keys scanned (sample_size {}); {} without TTL",
        sm.sampled_keys, sm.sample_size, sm.keys_without_ttl
    )?;
    let mut t = output::table(vec!["prefix", "keys", "memory", "no ttl"]);
    for p in &sm.prefixes {
        output::row(
            &mut t,
            vec![
                p.prefix.clone(),
                p.keys.to_string(),
                shown_bytes(p.memory_bytes),
                p.keys_without_ttl.to_string(),
            ],
        );
    }
    output::fit_columns(&mut t);
    writeln!(out, "{t}")?;
    let mut t = output::table(vec!["ttl", "keys"]);
    for b in &sm.ttl_buckets {
        output::row(
            &mut t,
            vec![bucket_label(b.bucket).to_string(), b.keys.to_string()],
        );
    }
    writeln!(out, "\n{t}")
}
