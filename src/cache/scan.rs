//! Walking the keyspace with SCAN (never KEYS) on every master, page by page,
//! so callers can stream, stop early or act on each page.

use super::cluster::{ClusterWalk, Page};
use super::keyname::escape;
use super::matching::claimed_earlier;
use super::support::{
    as_error, as_int, as_text, is_unsupported, pipeline_values, unsupported_note,
};
use super::window::unobserved;
use crate::conn::redis::{Node, Redis};
use crate::error::Result;
use redis::aio::ConnectionManager;
use serde::Serialize;
use std::time::{Duration, Instant};

/// COUNT hint for SCAN: large enough to keep round trips few, small enough
/// that one call stays well under a millisecond of server time.
pub const SCAN_COUNT: usize = 1000;

/// A SCAN cursor over one node.
pub struct NodeScan {
    conn: ConnectionManager,
    pub addr: String,
    pattern: Option<Vec<u8>>,
    count: usize,
    cursor: u64,
    done: bool,
}

impl NodeScan {
    pub fn new(node: &Node, pattern: Option<&[u8]>, count: usize) -> NodeScan {
        NodeScan {
            conn: node.conn.clone(),
            addr: node.addr.clone(),
            pattern: pattern.map(<[u8]>::to_vec),
            count: count.max(1),
            cursor: 0,
            done: false,
        }
    }

    /// Goes on from `cursor`, a position [`NodeScan::position`] gave earlier.
    pub fn resume(mut self, cursor: u64) -> NodeScan {
        self.cursor = cursor;
        self
    }

    /// Where the next call starts; `None` once the scan is complete.
    pub fn position(&self) -> Option<u64> {
        (!self.done).then_some(self.cursor)
    }

    /// The next non-empty page of keys, or `None` once the cursor is back at 0.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Vec<u8>>>> {
        while let Some(keys) = self.next_call().await? {
            if !keys.is_empty() {
                return Ok(Some(keys));
            }
        }
        Ok(None)
    }

    /// One SCAN call's keys (often none), or `None` once the cursor is back
    /// at 0; for callers that budget their calls.
    pub async fn next_call(&mut self) -> Result<Option<Vec<Vec<u8>>>> {
        if self.done {
            return Ok(None);
        }
        let mut cmd = redis::cmd("SCAN");
        cmd.arg(self.cursor);
        if let Some(p) = &self.pattern {
            cmd.arg("MATCH").arg(p);
        }
        cmd.arg("COUNT").arg(self.count);
        let (cursor, keys): (u64, Vec<Vec<u8>>) = cmd.query_async(&mut self.conn).await?;
        self.cursor = cursor;
        self.done = cursor == 0;
        Ok(Some(keys))
    }

    pub fn conn(&mut self) -> &mut ConnectionManager {
        &mut self.conn
    }

    pub fn clone_conn(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// Limits for a scan that must stay quick (a detail view); `None` scans all.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub time: Duration,
    pub scan_calls: usize,
}

impl Budget {
    /// What a tenant's detail view may spend on its cache figure.
    pub const DETAIL: Budget = Budget {
        time: Duration::from_secs(2),
        scan_calls: 2_000,
    };
}

/// Visits every key that `patterns` select on every master, a key that
/// several patterns select once (under the first), within `budget` when
/// given; true when the budget stopped it early. The SCANs are opsdeck's own
/// traffic and are left out of the Redis window.
pub async fn scan_patterns<F>(
    redis: &Redis,
    patterns: &[Vec<u8>],
    budget: Option<Budget>,
    mut visit: F,
) -> Result<bool>
where
    F: FnMut(&[u8]),
{
    unobserved(redis, async {
        let started = Instant::now();
        let mut calls = 0usize;
        for (i, pattern) in patterns.iter().enumerate() {
            for node in redis.masters() {
                let mut scan = NodeScan::new(node, Some(pattern), SCAN_COUNT);
                loop {
                    if let Some(b) = budget {
                        if calls >= b.scan_calls || started.elapsed() > b.time {
                            return Ok(true);
                        }
                    }
                    calls += 1;
                    let Some(page) = scan.next_call().await? else {
                        break;
                    };
                    for k in page.iter().filter(|k| !claimed_earlier(&patterns[..i], k)) {
                        visit(k);
                    }
                }
            }
        }
        Ok(false)
    })
    .await
}

#[derive(Debug, Clone, Default)]
pub struct KeysOptions {
    /// SCAN MATCH pattern as bytes (already unescaped); every key when `None`.
    pub pattern: Option<Vec<u8>>,
    pub limit: Option<usize>,
    /// Also fetch TYPE, PTTL and MEMORY USAGE, pipelined per page.
    pub sizes: bool,
}

/// One key as listed.
#[derive(Debug, Clone, Serialize)]
pub struct KeyEntry {
    /// The key, escaped where it is not printable UTF-8 (see [`escape`]).
    pub key: String,
    #[serde(flatten)]
    pub sizes: Option<KeySizes>,
    #[serde(skip)]
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeySizes {
    #[serde(rename = "type")]
    pub kind: String,
    /// Remaining time to live; `null` when the key never expires.
    pub ttl_ms: Option<i64>,
    /// MEMORY USAGE; `null` where the server does not allow it.
    pub memory_bytes: Option<u64>,
}

/// What a listing found besides the keys themselves.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeysSummary {
    pub found: u64,
    /// The limit stopped the scan before it covered the keyspace.
    pub limited: bool,
    pub notes: Vec<String>,
}

/// Lists keys on every master, handing each page to `sink` as soon as it
/// arrives (streaming); stops at `limit`. Unobserved: TYPE and PTTL count as
/// keyspace hits, which must not show in the hit ratio opsdeck reports.
pub async fn keys<F>(redis: &Redis, opts: &KeysOptions, sink: F) -> Result<KeysSummary>
where
    F: FnMut(&[KeyEntry]) -> Result<()>,
{
    unobserved(redis, list(redis, opts, sink)).await
}

async fn list<F>(redis: &Redis, opts: &KeysOptions, mut sink: F) -> Result<KeysSummary>
where
    F: FnMut(&[KeyEntry]) -> Result<()>,
{
    let mut summary = KeysSummary::default();
    let limit = opts.limit.unwrap_or(usize::MAX);
    if limit == 0 {
        summary.limited = true;
        return Ok(summary);
    }
    if redis.is_cluster() {
        return list_cluster(redis, opts, limit, sink, summary).await;
    }
    for node in redis.masters() {
        let mut scan = NodeScan::new(node, opts.pattern.as_deref(), SCAN_COUNT);
        let mut memory_ok = true;
        while let Some(mut page) = scan.next_page().await? {
            let room = limit - summary.found as usize;
            if page.len() > room {
                page.truncate(room);
            }
            let entries = if opts.sizes {
                let addr = scan.addr.clone();
                sized(scan.conn(), &addr, page, &mut memory_ok, &mut summary.notes).await?
            } else {
                plain(page)
            };
            summary.found += entries.len() as u64;
            sink(&entries)?;
            if summary.found as usize >= limit {
                summary.limited = true;
                return Ok(summary);
            }
        }
    }
    Ok(summary)
}

fn plain(keys: Vec<Vec<u8>>) -> Vec<KeyEntry> {
    keys.into_iter()
        .map(|raw| KeyEntry {
            key: escape(&raw),
            sizes: None,
            raw,
        })
        .collect()
}

/// [`list`] on a cluster: every master scanned at once, keys of slots that
/// migrate meanwhile read from both sides (see [`ClusterWalk`]).
async fn list_cluster<F>(
    redis: &Redis,
    opts: &KeysOptions,
    limit: usize,
    mut sink: F,
    mut summary: KeysSummary,
) -> Result<KeysSummary>
where
    F: FnMut(&[KeyEntry]) -> Result<()>,
{
    let mut walk =
        ClusterWalk::new(redis, opts.pattern.as_deref().unwrap_or(b"*"), SCAN_COUNT).await?;
    let mut memory_ok = true;
    while let Some(Page {
        mut node,
        moving,
        mut keys,
    }) = walk.next_page().await?
    {
        keys.truncate(limit - summary.found as usize);
        let entries = match (opts.sizes, moving) {
            (false, _) => plain(keys),
            (true, false) => {
                sized(
                    &mut node,
                    &redis.target,
                    keys,
                    &mut memory_ok,
                    &mut summary.notes,
                )
                .await?
            }
            // Keys of a moving slot: one key per pipeline, so the cluster
            // connection routes each to wherever its key is now.
            (true, true) => {
                let mut out = Vec::with_capacity(keys.len());
                for k in keys {
                    let mut routed = redis.routed();
                    out.extend(
                        sized(
                            &mut routed,
                            &redis.target,
                            vec![k],
                            &mut memory_ok,
                            &mut summary.notes,
                        )
                        .await?,
                    );
                }
                out
            }
        };
        summary.found += entries.len() as u64;
        sink(&entries)?;
        if summary.found as usize >= limit {
            summary.limited = true;
            return Ok(summary);
        }
    }
    Ok(summary)
}

/// TYPE, PTTL and (while the server allows it) MEMORY USAGE for a page, in one
/// pipeline. Keys that vanished since the SCAN are dropped.
pub(super) async fn sized<C: redis::aio::ConnectionLike>(
    conn: &mut C,
    addr: &str,
    page: Vec<Vec<u8>>,
    memory_ok: &mut bool,
    notes: &mut Vec<String>,
) -> Result<Vec<KeyEntry>> {
    let per_key = if *memory_ok { 3 } else { 2 };
    let mut pipe = redis::pipe();
    for k in &page {
        pipe.cmd("TYPE").arg(k).cmd("PTTL").arg(k);
        if *memory_ok {
            pipe.cmd("MEMORY").arg("USAGE").arg(k);
        }
    }
    let replies = pipeline_values(conn, &pipe).await?;
    let mut out = Vec::with_capacity(page.len());
    for (raw, r) in page.into_iter().zip(replies.chunks(per_key)) {
        if let Some(e) = r.iter().take(2).find_map(as_error) {
            return Err(e.into());
        }
        let kind = r.first().and_then(as_text).unwrap_or_default();
        if kind == "none" {
            continue;
        }
        let memory_bytes = match r.get(2) {
            Some(v) => match as_error(v) {
                Some(e) if is_unsupported(&e) => {
                    if *memory_ok {
                        notes.push(unsupported_note("MEMORY USAGE", addr, &e));
                    }
                    *memory_ok = false;
                    None
                }
                Some(e) => return Err(e.into()),
                None => as_int(v).and_then(|m| u64::try_from(m).ok()),
            },
            None => None,
        };
        out.push(KeyEntry {
            key: escape(&raw),
            sizes: Some(KeySizes {
                kind,
                ttl_ms: r.get(1).and_then(as_int).filter(|t| *t >= 0),
                memory_bytes,
            }),
            raw,
        });
    }
    Ok(out)
}
