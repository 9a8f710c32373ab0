//! `cache invalidate --pattern P | --tag T | --tenant T`: a dry run that
//! counts and samples, and a real run that UNLINKs in throttled batches per
//! master, reports progress, and stops between batches when cancelled.

use super::keyname::{escape, glob_escape, unescape};
use super::scan::NodeScan;
use super::unlink::{count_existing, unlink_on_node, unlink_routed};
use crate::config::CacheLayout;
use crate::conn::redis::Redis;
use crate::error::Result;
use crate::safety::{Guard, Intent, Risk};
use serde::Serialize;
use serde_json::json;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Keys shown by a dry run.
pub const SAMPLE: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selector {
    Pattern,
    Tag,
    Tenant,
}

/// What to invalidate, resolved to a SCAN pattern or a tag set key.
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: Selector,
    /// The operator's words (pattern, tag or tenant): the name typed to confirm.
    pub target: String,
    pub tenant_id: Option<String>,
    scope: Scope,
}

#[derive(Debug, Clone)]
enum Scope {
    Pattern(Vec<u8>),
    TagSet(Vec<u8>),
}

impl Plan {
    /// A SCAN MATCH pattern, in the escaped key form (`\xNN` for raw bytes).
    pub fn pattern(pattern: &str) -> Result<Plan> {
        Ok(Plan {
            kind: Selector::Pattern,
            target: pattern.to_string(),
            tenant_id: None,
            scope: Scope::Pattern(unescape(pattern)?),
        })
    }

    pub fn tag(layout: &CacheLayout, tag: &str) -> Plan {
        Plan {
            kind: Selector::Tag,
            target: tag.to_string(),
            tenant_id: None,
            scope: Scope::TagSet(layout.tag_key.replace("{tag}", tag).into_bytes()),
        }
    }

    /// `tenant` as the operator typed it, `id` as resolved (the same for ids).
    pub fn tenant(layout: &CacheLayout, tenant: &str, id: &str) -> Plan {
        let pattern = layout.tenant_pattern.replace("{tenant}", &glob_escape(id));
        Plan {
            kind: Selector::Tenant,
            target: tenant.to_string(),
            tenant_id: Some(id.to_string()),
            scope: Scope::Pattern(pattern.into_bytes()),
        }
    }

    /// The SCAN pattern, escaped for display.
    pub fn scan_pattern(&self) -> Option<String> {
        match &self.scope {
            Scope::Pattern(p) => Some(escape(p)),
            Scope::TagSet(_) => None,
        }
    }

    pub fn tag_key(&self) -> Option<String> {
        match &self.scope {
            Scope::TagSet(k) => Some(escape(k)),
            Scope::Pattern(_) => None,
        }
    }

    fn what(&self) -> String {
        match (&self.scope, self.kind) {
            (Scope::TagSet(k), _) => {
                format!("the keys in tag set '{}' and the set itself", escape(k))
            }
            (Scope::Pattern(p), Selector::Tenant) => {
                format!("tenant {}'s keys (matching '{}')", self.target, escape(p))
            }
            (Scope::Pattern(p), _) => format!("the keys matching '{}'", escape(p)),
        }
    }

    /// The destructive intent; `matched` is the dry-run count when one was taken.
    pub fn intent(&self, redis_target: &str, matched: Option<u64>) -> Intent {
        let count = matched.map(|n| format!("{n} keys: ")).unwrap_or_default();
        let summary = format!("Delete {count}{} on redis {redis_target}.", self.what());
        Intent::new(
            "cache.invalidate",
            self.target.clone(),
            Risk::Destructive,
            summary,
        )
        .with_params(json!({
            "by": self.kind,
            "pattern": self.scan_pattern(),
            "tag_key": self.tag_key(),
            "tenant_id": self.tenant_id,
            "matched": matched,
            "redis": redis_target,
        }))
    }
}

/// What a dry run found; nothing was changed.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub by: Selector,
    pub target: String,
    pub pattern: Option<String>,
    pub tag_key: Option<String>,
    pub tenant_id: Option<String>,
    pub dry_run: bool,
    /// Keys that a real run would delete now (existing tag members for a tag).
    pub matched: u64,
    pub sample: Vec<String>,
}

pub async fn dry_run(redis: &Redis, plan: &Plan) -> Result<DryRun> {
    let mut matched = 0;
    let mut sample = Vec::new();
    match &plan.scope {
        Scope::Pattern(p) => {
            for node in redis.masters() {
                let mut scan = NodeScan::new(node, Some(p), super::scan::SCAN_COUNT);
                while let Some(page) = scan.next_page().await? {
                    matched += page.len() as u64;
                    sample.extend(
                        page.iter()
                            .take(SAMPLE - sample.len().min(SAMPLE))
                            .map(|k| escape(k)),
                    );
                }
            }
        }
        Scope::TagSet(set) => {
            let mut members = TagMembers::new(set.clone(), super::scan::SCAN_COUNT);
            while let Some(page) = members.next_page(redis).await? {
                matched += count_existing(redis, &page).await?;
                sample.extend(
                    page.iter()
                        .take(SAMPLE - sample.len().min(SAMPLE))
                        .map(|k| escape(k)),
                );
            }
        }
    }
    sample.sort();
    Ok(DryRun {
        by: plan.kind,
        target: plan.target.clone(),
        pattern: plan.scan_pattern(),
        tag_key: plan.tag_key(),
        tenant_id: plan.tenant_id.clone(),
        dry_run: true,
        matched,
        sample,
    })
}

/// How hard a run pushes. Each UNLINK batch is one short command, so other
/// clients wait at most one batch: that bound keeps latency low on a healthy
/// server. A batch whose round trip is slow means Redis (or its host) is
/// busy; the run then waits as long as that batch took, so it takes at most
/// about half of the server's time until things are quick again.
/// Measured in benches/cache.rs (100,000 keys, PING probe every 1 ms).
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    pub batch: usize,
    /// Sleep after every batch; zero only yields to other tasks. A sleep costs
    /// about 1 ms per batch (timer granularity) and bought nothing measurable
    /// on an idle server, so the default is zero.
    pub pause: Duration,
    /// A batch slower than this makes the next one wait.
    pub slow: Duration,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle {
            batch: 500,
            pause: Duration::ZERO,
            slow: Duration::from_millis(2),
        }
    }
}

impl Throttle {
    /// The wait after a batch whose round trip took `took`.
    pub fn wait_after(&self, took: Duration) -> Duration {
        if took > self.slow {
            took.max(self.pause)
        } else {
            self.pause
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub deleted: u64,
    pub scanned: u64,
    pub batches: u64,
    pub node: String,
}

/// The outcome of a real run.
#[derive(Debug, Clone, Serialize)]
pub struct Invalidated {
    pub by: Selector,
    pub target: String,
    pub pattern: Option<String>,
    pub tag_key: Option<String>,
    pub tenant_id: Option<String>,
    pub dry_run: bool,
    pub deleted: u64,
    /// Keys the scan returned (some may have expired before the UNLINK).
    pub scanned: u64,
    /// For a tag: whether the tag set itself was removed.
    pub tag_set_deleted: Option<bool>,
    /// Stopped between batches on request; `deleted` says how far it got.
    pub cancelled: bool,
    pub batches: u64,
    pub elapsed_ms: u64,
}

/// Runs the invalidation under `guard`; the audit record gets the counts,
/// including when the run was cancelled part way.
pub async fn run<F>(
    redis: &Redis,
    plan: &Plan,
    guard: Guard,
    throttle: Throttle,
    cancel: &AtomicBool,
    progress: F,
) -> Result<Invalidated>
where
    F: FnMut(&Progress),
{
    let work = execute(redis, plan, throttle, cancel, progress);
    guard
        .run_stoppable(work, |r| {
            let detail = json!({
                "deleted": r.deleted,
                "scanned": r.scanned,
                "cancelled": r.cancelled,
                "tag_set_deleted": r.tag_set_deleted,
                "elapsed_ms": r.elapsed_ms,
            });
            (!r.cancelled, detail)
        })
        .await
}

async fn execute<F>(
    redis: &Redis,
    plan: &Plan,
    throttle: Throttle,
    cancel: &AtomicBool,
    mut progress: F,
) -> Result<Invalidated>
where
    F: FnMut(&Progress),
{
    let started = Instant::now();
    let batch = throttle.batch.max(1);
    let mut p = Progress::default();
    let mut cancelled = false;
    let mut tag_set_deleted = None;
    match &plan.scope {
        Scope::Pattern(pattern) => {
            'nodes: for node in redis.masters() {
                p.node = node.addr.clone();
                let mut scan = NodeScan::new(node, Some(pattern), batch);
                while let Some(page) = scan.next_page().await? {
                    for chunk in page.chunks(batch) {
                        if cancel.load(Ordering::Relaxed) {
                            cancelled = true;
                            break 'nodes;
                        }
                        p.scanned += chunk.len() as u64;
                        let t = Instant::now();
                        p.deleted += unlink_on_node(scan.conn(), chunk, redis.is_cluster()).await?;
                        let took = t.elapsed();
                        p.batches += 1;
                        progress(&p);
                        pause(throttle.wait_after(took)).await;
                    }
                }
            }
        }
        Scope::TagSet(set) => {
            p.node = redis.target.clone();
            let mut members = TagMembers::new(set.clone(), batch);
            while let Some(page) = members.next_page(redis).await? {
                if cancel.load(Ordering::Relaxed) {
                    cancelled = true;
                    break;
                }
                p.scanned += page.len() as u64;
                let t = Instant::now();
                p.deleted += unlink_routed(redis, &page).await?;
                let took = t.elapsed();
                p.batches += 1;
                progress(&p);
                pause(throttle.wait_after(took)).await;
            }
            if !cancelled {
                tag_set_deleted = Some(unlink_routed(redis, std::slice::from_ref(set)).await? == 1);
            } else {
                tag_set_deleted = Some(false);
            }
        }
    }
    Ok(Invalidated {
        by: plan.kind,
        target: plan.target.clone(),
        pattern: plan.scan_pattern(),
        tag_key: plan.tag_key(),
        tenant_id: plan.tenant_id.clone(),
        dry_run: false,
        deleted: p.deleted,
        scanned: p.scanned,
        tag_set_deleted,
        cancelled,
        batches: p.batches,
        elapsed_ms: started.elapsed().as_millis() as u64,
    })
}

async fn pause(d: Duration) {
    if d.is_zero() {
        tokio::task::yield_now().await;
    } else {
        tokio::time::sleep(d).await;
    }
}

/// SSCAN over a tag set (big sets are never read in one SMEMBERS).
struct TagMembers {
    key: Vec<u8>,
    count: usize,
    cursor: u64,
    done: bool,
}

impl TagMembers {
    fn new(key: Vec<u8>, count: usize) -> TagMembers {
        TagMembers {
            key,
            count,
            cursor: 0,
            done: false,
        }
    }

    async fn next_page(&mut self, redis: &Redis) -> Result<Option<Vec<Vec<u8>>>> {
        let mut conn = redis.routed();
        while !self.done {
            let (cursor, page): (u64, Vec<Vec<u8>>) = redis::cmd("SSCAN")
                .arg(&self.key)
                .arg(self.cursor)
                .arg("COUNT")
                .arg(self.count)
                .query_async(&mut conn)
                .await?;
            self.cursor = cursor;
            self.done = cursor == 0;
            if !page.is_empty() {
                return Ok(Some(page));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_resolve_layout() {
        let layout = CacheLayout::default();
        let t = Plan::tenant(&layout, "acme", "42");
        assert_eq!(t.scan_pattern().as_deref(), Some("t:42:*"));
        assert_eq!(t.target, "acme");
        let g = Plan::tag(&layout, "plan:pro");
        assert_eq!(g.tag_key().as_deref(), Some("tag:plan:pro"));
        let odd = Plan::tenant(&layout, "a*b", "a*b");
        assert_eq!(odd.scan_pattern().as_deref(), Some("t:a\\\\*b:*"));
    }

    #[test]
    fn slow_batches_make_the_next_one_wait() {
        let t = Throttle::default();
        assert_eq!(t.wait_after(Duration::from_micros(300)), Duration::ZERO);
        assert_eq!(
            t.wait_after(Duration::from_millis(7)),
            Duration::from_millis(7)
        );
        let paced = Throttle {
            pause: Duration::from_millis(1),
            ..t
        };
        assert_eq!(
            paced.wait_after(Duration::from_micros(300)),
            Duration::from_millis(1)
        );
    }

    #[test]
    fn intent_is_destructive_and_names_the_target() {
        let p = Plan::pattern("sess:*").unwrap();
        let i = p.intent("127.0.0.1:6379/0", Some(12));
        assert_eq!(i.risk, Risk::Destructive);
        assert_eq!(i.target, "sess:*");
        assert!(i.summary.contains("12 keys"), "{}", i.summary);
        assert_eq!(i.params["matched"], 12);
    }
}
