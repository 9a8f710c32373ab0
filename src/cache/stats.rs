//! `cache stats`: server figures from INFO and SLOWLOG on every master, and
//! a bounded SCAN sample of the cached data grouped by prefix and TTL. Hit
//! ratio and ops/s are over a window between two INFO samples (see
//! [`super::window`]); the counters since server start are labelled lifetime.

use super::info::{parse_info, parse_slowlog, NodeStats, SlowEntry};
use super::keyname::escape;
use super::prefix::{group, PrefixNode};
use super::scan::{NodeScan, SCAN_COUNT};
use super::support::{as_error, as_int, is_unsupported, pipeline_values, unsupported_note};
use super::window::{unobserved, Sample, Window};
use crate::config::CacheLayout;
use crate::conn::redis::{Node, Redis};
use crate::error::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::time::Duration;

/// Slowest entries kept across all masters.
pub const SLOWLOG_TOP: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct CacheStats {
    pub target: String,
    pub cluster: bool,
    pub totals: Totals,
    /// Hits, misses and commands between two INFO samples, opsdeck's own
    /// excluded; null for a single sample.
    pub window: Option<Window>,
    pub nodes: Vec<NodeStats>,
    /// Slowest first, across masters.
    pub slowlog: Vec<SlowEntry>,
    pub sample: SampleStats,
    /// Commands the server refused and what was left out because of it.
    pub notes: Vec<String>,
    /// The sampled keys as a prefix tree (for the TUI; JSON has `sample.prefixes`).
    #[serde(skip)]
    pub tree: PrefixNode,
    /// The INFO sample these figures come from: the start of the next window.
    #[serde(skip)]
    pub info_sample: Option<Sample>,
}

/// Sums over masters. The keyspace counters are since server start and
/// include every lookup opsdeck itself ever made there; `window` has the
/// figures that tell how the cache does now.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    pub used_memory_bytes: u64,
    pub keys: u64,
    pub keys_with_ttl: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// Since server start; kept under this name for scripts, the same as
    /// `hit_ratio_lifetime`.
    pub hit_ratio: Option<f64>,
    pub hit_ratio_lifetime: Option<f64>,
    pub evicted_keys: u64,
    pub expired_keys: u64,
    /// The server's own estimate over its last seconds, opsdeck's commands included.
    pub instantaneous_ops_per_sec: u64,
    pub connected_clients: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SampleStats {
    /// Keys asked for (the context's `cache.sample_size`).
    pub sample_size: usize,
    /// Keys actually sampled (fewer when the keyspace is smaller).
    pub sampled_keys: u64,
    /// Whether MEMORY USAGE was available for the sample.
    pub memory_sampled: bool,
    /// Largest memory first.
    pub prefixes: Vec<PrefixStat>,
    pub ttl_buckets: Vec<TtlBucket>,
    /// Sampled keys that never expire: in a cache, usually a bug.
    pub keys_without_ttl: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PrefixStat {
    pub prefix: String,
    pub keys: u64,
    pub memory_bytes: Option<u64>,
    pub keys_without_ttl: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TtlBucket {
    pub bucket: &'static str,
    pub keys: u64,
}

/// Upper bounds (exclusive, ms) of the TTL buckets; the last is open.
const BUCKETS: [(&str, i64); 6] = [
    ("no_ttl", -1),
    ("lt_1m", 60_000),
    ("1m_10m", 600_000),
    ("10m_1h", 3_600_000),
    ("1h_1d", 86_400_000),
    ("ge_1d", i64::MAX),
];

/// One sampled key.
#[derive(Debug, Clone)]
pub struct Sampled {
    pub key: String,
    pub ttl_ms: Option<i64>,
    pub memory_bytes: Option<u64>,
}

/// One sample: the figures without a window.
pub async fn stats(redis: &Redis, layout: &CacheLayout) -> Result<CacheStats> {
    stats_since(redis, layout, None).await
}

/// For a one-shot run: two INFO samples `window` apart, with nothing of
/// opsdeck's in between but the first INFO, then the key sample.
pub async fn stats_over(
    redis: &Redis,
    layout: &CacheLayout,
    window: Duration,
) -> Result<CacheStats> {
    let (first, _) = Sample::take(redis).await.map_err(|e| e.at(&redis.target))?;
    tokio::time::sleep(window).await;
    stats_since(redis, layout, Some(&first)).await
}

/// The figures, with the window since `since` (an earlier result's
/// `info_sample`) when given. The SLOWLOG and key sampling after the INFO
/// run unobserved, so the next window leaves them out.
pub async fn stats_since(
    redis: &Redis,
    layout: &CacheLayout,
    since: Option<&Sample>,
) -> Result<CacheStats> {
    collect(redis, layout, since)
        .await
        .map_err(|e| e.at(&redis.target))
}

async fn collect(
    redis: &Redis,
    layout: &CacheLayout,
    since: Option<&Sample>,
) -> Result<CacheStats> {
    let (info_sample, texts) = Sample::take(redis).await?;
    let window = since.and_then(|s| info_sample.since(s));
    let nodes: Vec<NodeStats> = texts
        .iter()
        .map(|(addr, text)| parse_info(addr, text))
        .collect();
    let mut notes = Vec::new();
    let (slowlog, sampled, memory_sampled) = unobserved(redis, async {
        let slowlog = slowlog(redis, &mut notes).await?;
        let (sampled, memory_sampled) = sample(redis, layout.sample_size, &mut notes).await?;
        Ok((slowlog, sampled, memory_sampled))
    })
    .await?;
    let sample = summarize(&sampled, layout, memory_sampled);
    let tree = PrefixNode::build(
        sampled
            .iter()
            .map(|s| (s.key.as_str(), s.memory_bytes.unwrap_or(0))),
        &layout.separator,
    );
    Ok(CacheStats {
        target: redis.target.clone(),
        cluster: redis.is_cluster(),
        totals: totals(&nodes),
        window,
        nodes,
        slowlog,
        sample,
        notes,
        tree,
        info_sample: Some(info_sample),
    })
}

/// The slowest entries across masters, slowest first.
pub(crate) async fn slowlog(redis: &Redis, notes: &mut Vec<String>) -> Result<Vec<SlowEntry>> {
    let mut slowlog = Vec::new();
    for node in redis.masters() {
        match redis::cmd("SLOWLOG")
            .arg("GET")
            .arg(SLOWLOG_TOP)
            .query_async::<redis::Value>(&mut node.conn.clone())
            .await
        {
            Ok(v) => slowlog.extend(parse_slowlog(&node.addr, &v)),
            Err(e) if is_unsupported(&e) => notes.push(unsupported_note("SLOWLOG", &node.addr, &e)),
            Err(e) => return Err(e.into()),
        }
    }
    slowlog.sort_by(|a, b| b.duration_ms.total_cmp(&a.duration_ms));
    slowlog.truncate(SLOWLOG_TOP);
    Ok(slowlog)
}

fn totals(nodes: &[NodeStats]) -> Totals {
    let mut t = Totals::default();
    for n in nodes {
        t.used_memory_bytes += n.used_memory_bytes.unwrap_or(0);
        t.keys += n.dbs.iter().map(|d| d.keys).sum::<u64>();
        t.keys_with_ttl += n.dbs.iter().map(|d| d.expires).sum::<u64>();
        t.keyspace_hits += n.keyspace_hits.unwrap_or(0);
        t.keyspace_misses += n.keyspace_misses.unwrap_or(0);
        t.evicted_keys += n.evicted_keys.unwrap_or(0);
        t.expired_keys += n.expired_keys.unwrap_or(0);
        t.instantaneous_ops_per_sec += n.instantaneous_ops_per_sec.unwrap_or(0);
        t.connected_clients += n.connected_clients.unwrap_or(0);
    }
    let lookups = t.keyspace_hits + t.keyspace_misses;
    t.hit_ratio_lifetime = (lookups > 0).then(|| t.keyspace_hits as f64 / lookups as f64);
    t.hit_ratio = t.hit_ratio_lifetime;
    t
}

/// Up to `size` keys spread over the masters, with PTTL and MEMORY USAGE
/// pipelined per SCAN page. SCAN walks the hash table, so the first pages are
/// a spread of the keyspace rather than its oldest keys.
pub async fn sample(
    redis: &Redis,
    size: usize,
    notes: &mut Vec<String>,
) -> Result<(Vec<Sampled>, bool)> {
    let masters = redis.masters();
    let quota = size.div_ceil(masters.len().max(1));
    let mut out = Vec::new();
    let mut memory_ok = true;
    for node in masters {
        sample_node(node, quota, &mut out, &mut memory_ok, notes).await?;
    }
    Ok((out, memory_ok))
}

async fn sample_node(
    node: &Node,
    quota: usize,
    out: &mut Vec<Sampled>,
    memory_ok: &mut bool,
    notes: &mut Vec<String>,
) -> Result<()> {
    let mut scan = NodeScan::new(node, None, SCAN_COUNT.min(quota.max(1)));
    let mut taken = 0;
    while taken < quota {
        let Some(mut page) = scan.next_page().await? else {
            break;
        };
        page.truncate(quota - taken);
        let mut pipe = redis::pipe();
        for k in &page {
            pipe.cmd("PTTL").arg(k);
            if *memory_ok {
                pipe.cmd("MEMORY").arg("USAGE").arg(k);
            }
        }
        let per_key = if *memory_ok { 2 } else { 1 };
        let replies = pipeline_values(scan.conn(), &pipe).await?;
        for (k, r) in page.iter().zip(replies.chunks(per_key)) {
            let ttl = r.first().and_then(as_int).unwrap_or(-1);
            if ttl == -2 {
                continue;
            }
            let memory_bytes = match r.get(1) {
                Some(v) => match as_error(v) {
                    Some(e) if is_unsupported(&e) => {
                        if *memory_ok {
                            notes.push(unsupported_note("MEMORY USAGE", &node.addr, &e));
                        }
                        *memory_ok = false;
                        None
                    }
                    Some(e) => return Err(e.into()),
                    None => as_int(v).and_then(|m| u64::try_from(m).ok()),
                },
                None => None,
            };
            out.push(Sampled {
                key: escape(k),
                ttl_ms: (ttl >= 0).then_some(ttl),
                memory_bytes,
            });
            taken += 1;
        }
    }
    Ok(())
}

pub fn summarize(sampled: &[Sampled], layout: &CacheLayout, memory_sampled: bool) -> SampleStats {
    let mut groups: HashMap<String, PrefixStat> = HashMap::new();
    let mut buckets = [0u64; BUCKETS.len()];
    for s in sampled {
        let g = groups
            .entry(group(&s.key, &layout.separator))
            .or_insert_with_key(|p| PrefixStat {
                prefix: p.clone(),
                keys: 0,
                memory_bytes: memory_sampled.then_some(0),
                keys_without_ttl: 0,
            });
        g.keys += 1;
        if let (Some(total), Some(m)) = (g.memory_bytes.as_mut(), s.memory_bytes) {
            *total += m;
        }
        match s.ttl_ms {
            None => {
                g.keys_without_ttl += 1;
                buckets[0] += 1;
            }
            Some(ttl) => {
                let i = BUCKETS
                    .iter()
                    .skip(1)
                    .position(|(_, upper)| ttl < *upper)
                    .map_or(BUCKETS.len() - 1, |i| i + 1);
                buckets[i] += 1;
            }
        }
    }
    let mut prefixes: Vec<PrefixStat> = groups.into_values().collect();
    prefixes.sort_by(|a, b| {
        b.memory_bytes
            .cmp(&a.memory_bytes)
            .then(b.keys.cmp(&a.keys))
            .then(a.prefix.cmp(&b.prefix))
    });
    SampleStats {
        sample_size: layout.sample_size,
        sampled_keys: sampled.len() as u64,
        memory_sampled,
        prefixes,
        ttl_buckets: BUCKETS
            .iter()
            .zip(buckets)
            .map(|((bucket, _), keys)| TtlBucket { bucket, keys })
            .collect(),
        keys_without_ttl: buckets[0],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(key: &str, ttl: Option<i64>, mem: u64) -> Sampled {
        Sampled {
            key: key.into(),
            ttl_ms: ttl,
            memory_bytes: Some(mem),
        }
    }

    #[test]
    fn summary_groups_and_buckets() {
        let sampled = vec![
            s("t:1:user:1", Some(30_000), 100),
            s("t:2:user:2", None, 100),
            s("t:2:invoice:1", Some(7_200_000), 500),
            s("tag:x", Some(100_000_000), 10),
        ];
        let sum = summarize(&sampled, &CacheLayout::default(), true);
        assert_eq!(sum.sampled_keys, 4);
        assert_eq!(sum.keys_without_ttl, 1);
        assert_eq!(sum.prefixes[0].prefix, "t:*:invoice");
        assert_eq!(
            sum.prefixes[1],
            PrefixStat {
                prefix: "t:*:user".into(),
                keys: 2,
                memory_bytes: Some(200),
                keys_without_ttl: 1
            }
        );
        let b: Vec<(&str, u64)> = sum.ttl_buckets.iter().map(|b| (b.bucket, b.keys)).collect();
        assert_eq!(
            b,
            vec![
                ("no_ttl", 1),
                ("lt_1m", 1),
                ("1m_10m", 0),
                ("10m_1h", 0),
                ("1h_1d", 1),
                ("ge_1d", 1)
            ]
        );
    }

    #[test]
    fn memory_left_empty_when_not_sampled() {
        let sum = summarize(&[s("a:b", None, 0)], &CacheLayout::default(), false);
        assert_eq!(sum.prefixes[0].memory_bytes, None);
    }
}
