//! `cache invalidate --pattern P | --tag T | --tenant T`: a dry run that
//! counts and samples, and a real run that UNLINKs in throttled batches per
//! master, reports progress, and stops between batches when cancelled.

use super::cluster::ClusterWalk;
use super::keyname::{escape, unescape};
use super::matching::claimed_earlier;
use super::scan::{scan_patterns, NodeScan};
use super::unlink::{count_existing, unlink_following, unlink_on_node, unlink_routed};
use crate::config::CacheLayout;
use crate::conn::redis::Redis;
use crate::error::Result;
use crate::safety::{Authorized, Done, Intent, Mutation, Risk};
use crate::stop::Stop;
use serde::Serialize;
use serde_json::json;
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
    /// SCAN patterns; a key matching several belongs to the first.
    Patterns(Vec<Vec<u8>>),
    TagSet(Vec<u8>),
}

impl Plan {
    /// A SCAN MATCH pattern, in the escaped key form (`\xNN` for raw bytes).
    pub fn pattern(pattern: &str) -> Result<Plan> {
        Ok(Plan {
            kind: Selector::Pattern,
            target: pattern.to_string(),
            tenant_id: None,
            scope: Scope::Patterns(vec![unescape(pattern)?]),
        })
    }

    /// A tag, typed with or without the prefix of the configured tag key
    /// (`billing` or `tag:billing` for `tag:{tag}`).
    pub fn tag(layout: &CacheLayout, tag: &str) -> Plan {
        let key = match layout.tag_key.split_once("{tag}") {
            Some((pre, post))
                if !(pre.is_empty() && post.is_empty())
                    && tag.len() > pre.len() + post.len()
                    && tag.starts_with(pre)
                    && tag.ends_with(post) =>
            {
                tag.to_string()
            }
            _ => layout.tag_key.replace("{tag}", tag),
        };
        Plan {
            kind: Selector::Tag,
            target: tag.to_string(),
            tenant_id: None,
            scope: Scope::TagSet(key.into_bytes()),
        }
    }

    /// `tenant` as the operator typed it; `id` and `slug` as resolved by
    /// `tenants::resolve`. The keys are the tenant's under every configured
    /// pattern (see `cache::tenant`), the ones `tenants show` counts.
    pub fn tenant(
        layout: &CacheLayout,
        tenant: &str,
        id: &str,
        slug: Option<&str>,
    ) -> Result<Plan> {
        Ok(Plan {
            kind: Selector::Tenant,
            target: tenant.to_string(),
            tenant_id: Some(id.to_string()),
            scope: Scope::Patterns(super::tenant::patterns(layout, id, slug)?),
        })
    }

    /// The SCAN patterns, escaped for display, joined by ` | `.
    pub fn scan_pattern(&self) -> Option<String> {
        match &self.scope {
            Scope::Patterns(p) => Some(p.iter().map(|p| escape(p)).collect::<Vec<_>>().join(" | ")),
            Scope::TagSet(_) => None,
        }
    }

    pub fn tag_key(&self) -> Option<String> {
        match &self.scope {
            Scope::TagSet(k) => Some(escape(k)),
            Scope::Patterns(_) => None,
        }
    }

    fn what(&self) -> String {
        match (&self.scope, self.kind) {
            (Scope::TagSet(k), _) => {
                format!("the keys in tag set '{}' and the set itself", escape(k))
            }
            (Scope::Patterns(_), Selector::Tenant) => format!(
                "tenant {}'s keys (matching '{}')",
                self.target,
                self.scan_pattern().unwrap_or_default()
            ),
            (Scope::Patterns(_), _) => format!(
                "the keys matching '{}'",
                self.scan_pattern().unwrap_or_default()
            ),
        }
    }

    /// The change to approve; `matched` is the dry-run count when one was taken.
    pub fn invalidation(self, redis_target: &str, matched: Option<u64>) -> Invalidation {
        let count = matched.map(|n| format!("{n} keys: ")).unwrap_or_default();
        let summary = format!("Delete {count}{} on redis {redis_target}.", self.what());
        let intent = Intent::new(
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
        }));
        Invalidation { plan: self, intent }
    }
}

/// An invalidation planned and described, waiting for approval.
pub struct Invalidation {
    plan: Plan,
    intent: Intent,
}

impl Mutation for Invalidation {
    fn intent(&self) -> &Intent {
        &self.intent
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
        Scope::Patterns(patterns) => {
            scan_patterns(redis, patterns, None, |k| {
                matched += 1;
                if sample.len() < SAMPLE {
                    sample.push(escape(k));
                }
            })
            .await?;
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

/// Runs the approved invalidation; a stop ends it between batches. The
/// audit record gets the counts, including when it was stopped part way or
/// its task was dropped mid-batch.
pub async fn run<F>(
    redis: &Redis,
    approved: Authorized<Invalidation>,
    throttle: Throttle,
    stop: &Stop,
    progress: F,
) -> Result<Invalidated>
where
    F: FnMut(&Progress),
{
    approved
        .run_stoppable(
            |inv, done| async move { execute(redis, &inv.plan, throttle, stop, &done, progress).await },
            |r| {
            let detail = json!({
                "deleted": r.deleted,
                "scanned": r.scanned,
                "cancelled": r.cancelled,
                "tag_set_deleted": r.tag_set_deleted,
                "elapsed_ms": r.elapsed_ms,
            });
            (!r.cancelled, detail)
        },
        )
        .await
}

async fn execute<F>(
    redis: &Redis,
    plan: &Plan,
    throttle: Throttle,
    stop: &Stop,
    done: &Done,
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
    let mut report = |p: &Progress| {
        done.set(json!({"deleted": p.deleted, "scanned": p.scanned, "batches": p.batches}));
        progress(p);
    };
    match &plan.scope {
        Scope::Patterns(patterns) if redis.is_cluster() => {
            p.node = redis.target.clone();
            'walk: for (i, pattern) in patterns.iter().enumerate() {
                let mut walk = ClusterWalk::new(redis, pattern, batch).await?;
                while let Some(mut page) = walk.next_page().await? {
                    page.keys.retain(|k| !claimed_earlier(&patterns[..i], k));
                    for chunk in page.keys.chunks(batch) {
                        if stop.is_set() {
                            cancelled = true;
                            break 'walk;
                        }
                        p.scanned += chunk.len() as u64;
                        let t = Instant::now();
                        // A key whose slot moves meanwhile is followed to
                        // its node (ASK/MOVED), never missed.
                        p.deleted += unlink_following(redis, &mut page.node, chunk).await?;
                        let took = t.elapsed();
                        p.batches += 1;
                        report(&p);
                        pause(throttle.wait_after(took)).await;
                    }
                }
            }
        }
        Scope::Patterns(patterns) => {
            'all: for (i, pattern) in patterns.iter().enumerate() {
                for node in redis.masters() {
                    p.node = node.addr.clone();
                    let mut scan = NodeScan::new(node, Some(pattern), batch);
                    while let Some(mut page) = scan.next_page().await? {
                        page.retain(|k| !claimed_earlier(&patterns[..i], k));
                        for chunk in page.chunks(batch) {
                            if stop.is_set() {
                                cancelled = true;
                                break 'all;
                            }
                            p.scanned += chunk.len() as u64;
                            let t = Instant::now();
                            p.deleted +=
                                unlink_on_node(scan.conn(), chunk, redis.is_cluster()).await?;
                            let took = t.elapsed();
                            p.batches += 1;
                            report(&p);
                            pause(throttle.wait_after(took)).await;
                        }
                    }
                }
            }
        }
        Scope::TagSet(set) => {
            p.node = redis.target.clone();
            let mut members = TagMembers::new(set.clone(), batch);
            while let Some(page) = members.next_page(redis).await? {
                if stop.is_set() {
                    cancelled = true;
                    break;
                }
                p.scanned += page.len() as u64;
                let t = Instant::now();
                p.deleted += unlink_routed(redis, &page).await?;
                let took = t.elapsed();
                p.batches += 1;
                report(&p);
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
            // SSCAN counts a keyspace hit: opsdeck's own, left out of windows.
            let mut sscan = redis::cmd("SSCAN");
            sscan
                .arg(&self.key)
                .arg(self.cursor)
                .arg("COUNT")
                .arg(self.count);
            let (cursor, page): (u64, Vec<Vec<u8>>) =
                super::window::unobserved(redis, async { Ok(sscan.query_async(&mut conn).await?) })
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
        let t = Plan::tenant(&layout, "acme", "42", Some("acme")).unwrap();
        assert_eq!(t.scan_pattern().as_deref(), Some("t:42:*"));
        assert_eq!(t.target, "acme");
        let g = Plan::tag(&layout, "plan:pro");
        assert_eq!(g.tag_key().as_deref(), Some("tag:plan:pro"));
        let odd = Plan::tenant(&layout, "a*b", "a*b", None).unwrap();
        assert_eq!(odd.scan_pattern().as_deref(), Some("t:a\\\\*b:*"));
    }

    #[test]
    fn a_tag_is_accepted_with_or_without_the_key_prefix() {
        let layout = CacheLayout::default();
        for typed in ["feature:billing", "tag:feature:billing"] {
            let g = Plan::tag(&layout, typed);
            assert_eq!(
                g.tag_key().as_deref(),
                Some("tag:feature:billing"),
                "{typed}"
            );
            assert_eq!(g.target, typed);
        }
        let suffixed = CacheLayout {
            tag_key: "{tag}:members".into(),
            ..CacheLayout::default()
        };
        assert_eq!(
            Plan::tag(&suffixed, "x:members").tag_key().as_deref(),
            Some("x:members")
        );
        assert_eq!(
            Plan::tag(&suffixed, "x").tag_key().as_deref(),
            Some("x:members")
        );
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
        let inv = p.invalidation("127.0.0.1:6379/0", Some(12));
        let i = inv.intent();
        assert_eq!(i.risk, Risk::Destructive);
        assert_eq!(i.target, "sess:*");
        assert!(i.summary.contains("12 keys"), "{}", i.summary);
        assert_eq!(i.params["matched"], 12);
    }
}
