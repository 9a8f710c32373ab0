//! Reading BullMQ: queues found by SCAN of `<prefix>:*:meta`, counts per
//! state in one pipeline for all queues, jobs paged out of the state sets
//! with their hashes read in one pipeline per page. Every read runs
//! unobserved, so opsdeck's own reads stay out of the Redis hit ratio.

use super::decode::{self, Set, DETAIL_FIELDS, LIST_FIELDS};
use super::keys::{self, QueueKeys};
use super::pipe::Batch;
use crate::cache::scan::{NodeScan, SCAN_COUNT};
use crate::cache::window::unobserved;
use crate::conn::redis::Redis;
use crate::error::{Error, Result};
use crate::jobs::model::{Job, QueueSummary, SourceKind};
use chrono::Utc;
use redis::Cmd;
use std::collections::BTreeSet;

/// Jobs per page: one script call. Its reply (ids and eight fields each)
/// is what keeps Redis busy longest during a bulk retry: benches/jobs_bullmq.rs
/// measured PING p99 8.0 ms with pages of 1000, 6.7 ms with 250.
pub const PAGE: usize = 250;

const HOUR_MS: i64 = 3_600_000;

/// The state sets counted per queue, in the order summaries read them.
const COUNTED: [(&str, &str); 8] = [
    ("LLEN", "wait"),
    ("LLEN", "paused"),
    ("ZCARD", "prioritized"),
    ("ZCARD", "waiting-children"),
    ("LLEN", "active"),
    ("ZCARD", "delayed"),
    ("ZCARD", "completed"),
    ("ZCARD", "failed"),
];

fn cmd1(name: &str, key: &str) -> Cmd {
    let mut c = redis::cmd(name);
    c.arg(key);
    c
}

fn cmd2(name: &str, key: &str, arg: &str) -> Cmd {
    let mut c = cmd1(name, key);
    c.arg(arg);
    c
}

/// A queue and the version its meta hash names.
#[derive(Debug, Clone)]
pub struct Queue {
    pub keys: QueueKeys,
    pub version: Option<String>,
}

/// Every queue under `prefix`, by name. SCAN runs on each master in COUNT
/// batches, so Redis stays responsive however many keys it holds.
pub async fn discover(redis: &Redis, prefix: &str) -> Result<Vec<Queue>> {
    let glob = keys::meta_glob(prefix);
    let mut names = BTreeSet::new();
    for node in redis.masters() {
        let mut scan = NodeScan::new(node, Some(glob.as_bytes()), SCAN_COUNT);
        while let Some(page) = scan.next_page().await? {
            for key in page {
                if let Some(q) = std::str::from_utf8(&key)
                    .ok()
                    .and_then(|k| keys::queue_of_meta(prefix, k))
                {
                    names.insert(q.to_string());
                }
            }
        }
    }
    let queues: Vec<QueueKeys> = names.iter().map(|q| QueueKeys::new(prefix, q)).collect();
    let mut batch = Batch::new();
    for q in &queues {
        let meta = q.key("meta");
        batch.add(meta.clone(), cmd2("HGET", &meta, "version"));
    }
    let versions: Vec<Option<String>> = batch.query(redis).await?;
    Ok(queues
        .into_iter()
        .zip(versions)
        .map(|(keys, version)| Queue { keys, version })
        .collect())
}

/// Counts, oldest waiting age and last-hour figures of every queue.
pub async fn summaries(redis: &Redis, queues: &[Queue]) -> Result<Vec<QueueSummary>> {
    if queues.is_empty() {
        return Ok(Vec::new());
    }
    unobserved(redis, async {
        let now = Utc::now().timestamp_millis();
        let hour_ago = now - HOUR_MS;
        let mut batch = Batch::new();
        for q in queues {
            for (name, suffix) in COUNTED {
                let key = q.keys.key(suffix);
                batch.add(key.clone(), cmd1(name, &key));
            }
            for suffix in ["failed", "completed"] {
                let key = q.keys.key(suffix);
                let mut c = cmd1("ZCOUNT", &key);
                c.arg(hour_ago).arg("+inf");
                batch.add(key, c);
            }
        }
        let n: Vec<i64> = batch.query(redis).await?;
        // The job that has waited longest is at the tail of `wait` (workers
        // take from the right).
        let mut batch = Batch::new();
        for q in queues {
            let key = q.keys.key("wait");
            batch.add(key.clone(), cmd2("LINDEX", &key, "-1"));
        }
        let tails: Vec<Option<String>> = batch.query(redis).await?;
        let mut batch = Batch::new();
        for (q, tail) in queues.iter().zip(&tails) {
            if let Some(tail) = tail {
                let key = q.keys.job(tail);
                batch.add(key.clone(), cmd2("HGET", &key, "timestamp"));
            }
        }
        let mut stamps = batch.query::<Option<i64>>(redis).await?.into_iter();
        let stamps: Vec<Option<i64>> = tails
            .iter()
            .map(|t| t.as_ref().and_then(|_| stamps.next().flatten()))
            .collect();
        Ok(queues
            .iter()
            .zip(n.chunks(10))
            .zip(stamps)
            .map(|((q, n), stamp)| {
                let mut s = QueueSummary::new(SourceKind::Bullmq, q.keys.queue.clone());
                s.counts.waiting = n[0] + n[1] + n[2] + n[3];
                s.counts.active = n[4];
                s.counts.scheduled = n[5];
                s.counts.completed = n[6];
                s.counts.failed = n[7];
                s.failed_last_hour = n[8];
                s.completed_last_hour = n[9];
                s.oldest_waiting_ms = stamp.map(|t| (now - t).max(0));
                s
            })
            .collect())
    })
    .await
}

/// Reads the hashes of `ids` (all in `set` of one queue) in one pipeline;
/// ids whose hash is gone by now are left out. Not unobserved by itself:
/// callers wrap it with the reads that found the ids.
pub async fn jobs(
    redis: &Redis,
    keys: &QueueKeys,
    set: Set,
    ids: &[String],
    detail: bool,
) -> Result<Vec<Job>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut batch = Batch::new();
    for id in ids {
        let key = keys.job(id);
        let mut c = cmd1("HMGET", &key);
        c.arg(&LIST_FIELDS[..]);
        if detail {
            c.arg(&DETAIL_FIELDS[..]);
        }
        batch.add(key, c);
    }
    let rows: Vec<Vec<Option<String>>> = batch.query(redis).await?;
    Ok(ids
        .iter()
        .zip(rows)
        .filter_map(|(id, row)| decode::job(&keys.queue, id, set, &row))
        .collect())
}

/// The set a job of `queue` is in, and so its state; None when it is in none.
pub async fn locate(redis: &Redis, keys: &QueueKeys, id: &str) -> Result<Option<Set>> {
    let mut batch = Batch::new();
    for set in Set::ALL {
        let key = keys.key(set.suffix());
        let name = if set.is_list() { "LPOS" } else { "ZSCORE" };
        batch.add(key.clone(), cmd2(name, &key, id));
    }
    let found: Vec<Option<String>> = unobserved(redis, batch.query(redis)).await?;
    Ok(Set::ALL
        .into_iter()
        .zip(found)
        .find_map(|(set, f)| f.map(|_| set)))
}

/// The queues that hold a job with this bare id, for ids given without a
/// queue; more than one is an error naming them.
pub async fn queue_of_bare_id<'a>(
    redis: &Redis,
    queues: &'a [Queue],
    id: &str,
) -> Result<Option<&'a Queue>> {
    if queues.is_empty() {
        return Ok(None);
    }
    let mut batch = Batch::new();
    for q in queues {
        let key = q.keys.job(id);
        batch.add(key.clone(), cmd1("EXISTS", &key));
    }
    let exists: Vec<bool> = unobserved(redis, batch.query(redis)).await?;
    let hits: Vec<&Queue> = queues
        .iter()
        .zip(exists)
        .filter_map(|(q, e)| e.then_some(q))
        .collect();
    match hits.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(*one)),
        many => Err(Error::Usage(format!(
            "BullMQ job id '{id}' exists in {} queues ({}): name it as QUEUE:ID",
            many.len(),
            many.iter()
                .map(|q| q.keys.queue.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
