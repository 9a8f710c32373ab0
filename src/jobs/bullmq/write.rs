//! Retry and discard: ids grouped by queue, each group moved by one Lua
//! script call per slice (EVALSHA, EVAL when the server lacks the script),
//! so every job changes state atomically and Redis answers other clients
//! between slices.

use super::keys::{self, QueueKeys, VERSION_PATTERN};
use super::pipe;
use super::read::{self, Queue};
use crate::conn::redis::Redis;
use crate::error::{Error, Result};
use crate::jobs::model::WriteReport;
use redis::{Script, Value};
use std::sync::LazyLock;

static RETRY: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("retry.lua")));
static DISCARD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("discard.lua")));

/// Jobs per script call: the server runs nothing else while a script runs,
/// and this many keeps one call near a millisecond (PING p99 under 5 ms
/// during a 100,000-job retry, benches/jobs_bullmq.rs).
pub const SLICE: usize = 250;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Retry,
    Discard,
}

impl Op {
    fn script(self) -> &'static Script {
        match self {
            Op::Retry => &RETRY,
            Op::Discard => &DISCARD,
        }
    }

    fn keys(self, q: &QueueKeys) -> Vec<String> {
        let names: &[&str] = match self {
            Op::Retry => &[
                "failed",
                "wait",
                "meta",
                "active",
                "prioritized",
                "pc",
                "marker",
                "events",
            ],
            Op::Discard => &["failed", "meta", "events"],
        };
        names.iter().map(|n| q.key(n)).collect()
    }

    fn skipped(self, code: i64) -> &'static str {
        match code {
            -1 => "its job hash is missing",
            -2 => "a worker holds its lock",
            -3 => "it is a flow parent with child jobs: remove it with BullMQ's Job.remove",
            _ => "not in the failed state",
        }
    }
}

/// Runs `op` on the failed jobs `ids` (QUEUE:ID, or a bare ID found in one
/// queue). Ids in no queue, or not failed, are reported as skipped.
pub async fn run(redis: &Redis, queues: &[Queue], op: Op, ids: &[String]) -> Result<WriteReport> {
    let mut report = WriteReport::default();
    let mut groups: Vec<(&Queue, Vec<String>)> = Vec::new();
    for text in ids {
        let r = keys::parse_ref(text)?;
        let queue = match r.queue {
            Some(name) => queues.iter().find(|q| q.keys.queue == name),
            None => read::queue_of_bare_id(redis, queues, r.id).await?,
        };
        let Some(queue) = queue else {
            report
                .skipped
                .push((text.clone(), "no BullMQ queue holds this job".into()));
            continue;
        };
        match groups.iter_mut().find(|(q, _)| q.keys == queue.keys) {
            Some((_, g)) => g.push(r.id.to_string()),
            None => groups.push((queue, vec![r.id.to_string()])),
        }
    }
    for (queue, ids) in &groups {
        writable(redis, queue)?;
        for slice in ids.chunks(SLICE) {
            let codes = call(redis, op, &queue.keys, slice).await?;
            for (id, code) in slice.iter().zip(codes) {
                let name = keys::qualified(&queue.keys.queue, id);
                if code == 1 {
                    report.done.push(name);
                } else {
                    report.skipped.push((name, op.skipped(code).into()));
                }
            }
        }
    }
    Ok(report)
}

/// Refuses a queue whose layout opsdeck does not know, or whose keys a
/// Cluster spreads over several slots (no script can then touch them all).
pub fn writable(redis: &Redis, queue: &Queue) -> Result<()> {
    if !keys::writable(queue.version.as_deref()) {
        return Err(keys::unwritable(
            &queue.keys.queue,
            queue.version.as_deref(),
        ));
    }
    if redis.is_cluster() && !queue.keys.one_slot() {
        return Err(Error::refused(format!(
            "BullMQ queue '{}' on Redis Cluster: its keys ({}…) are spread over several slots, \
             so no script can move a job atomically; BullMQ itself needs a hash-tagged prefix \
             such as {{bull}} on Cluster (set bullmq_prefix in the context's [jobs] section)",
            queue.keys.queue, queue.keys.base
        )));
    }
    Ok(())
}

/// Where a sweep of one queue's failed jobs stands between script calls.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    /// Jobs failed by then are swept; later failures are left for later.
    pub until_ms: i64,
    /// Failed jobs at the head of the set that earlier calls had to leave.
    pub left: usize,
}

/// Jobs per sweep call: a sweep's calls come back to back, so each one
/// carries more than a call for given ids (PING p99 1.3 ms at 250 and
/// 1.9 ms at 500 during a 100,000-job sweep, benches/jobs_bullmq.rs).
pub const SWEEP_SLICE: usize = 500;

/// One script call that picks the next [`SWEEP_SLICE`] failed jobs of `queue` in
/// Redis itself and moves them: no listing round trips before the write.
/// An empty report means the sweep of this queue is over.
pub async fn sweep(redis: &Redis, queue: &Queue, op: Op, at: &mut Sweep) -> Result<WriteReport> {
    let spec = format!("*{SWEEP_SLICE}:{}:{}", at.left, at.until_ms);
    let reply = eval(redis, op, &queue.keys, &[spec.as_str()]).await?;
    let (ids, codes): (Vec<String>, Vec<i64>) = redis::from_redis_value(&reply)?;
    let mut report = WriteReport::default();
    for (id, code) in ids.iter().zip(codes) {
        let name = keys::qualified(&queue.keys.queue, id);
        if code == 1 {
            report.done.push(name);
        } else {
            at.left += 1;
            report.skipped.push((name, op.skipped(code).into()));
        }
    }
    Ok(report)
}

async fn call(redis: &Redis, op: Op, q: &QueueKeys, ids: &[String]) -> Result<Vec<i64>> {
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let reply = eval(redis, op, q, &ids).await?;
    let codes: Vec<i64> = redis::from_redis_value(&reply)?;
    if codes.len() != ids.len() {
        return Err(Error::server(format!(
            "the {op:?} script answered {} codes for {} jobs",
            codes.len(),
            ids.len()
        )));
    }
    Ok(codes)
}

async fn eval(redis: &Redis, op: Op, q: &QueueKeys, rest: &[&str]) -> Result<Value> {
    let mut args = vec![q.base.as_str(), VERSION_PATTERN];
    args.extend_from_slice(rest);
    pipe::eval(redis, op.script(), include_body(op), &op.keys(q), &args)
        .await
        .map_err(|e| match version_refusal(&e) {
            Some(v) => keys::unwritable(&q.queue, v.as_deref()),
            None => Error::from_redis(e),
        })
}

fn include_body(op: Op) -> &'static str {
    match op {
        Op::Retry => include_str!("retry.lua"),
        Op::Discard => include_str!("discard.lua"),
    }
}

/// The version a script's own check refused (the meta hash changed after
/// opsdeck read it), as `OPSDECK_VERSION <version|nil>`.
fn version_refusal(e: &redis::RedisError) -> Option<Option<String>> {
    let text = e.to_string();
    let at = text.find("OPSDECK_VERSION ")?;
    let v = text[at + "OPSDECK_VERSION ".len()..]
        .split_whitespace()
        .next()
        .unwrap_or("nil");
    // Lua prints a missing field as false.
    Some((v != "nil" && v != "false").then(|| v.to_string()))
}
