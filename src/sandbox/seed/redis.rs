//! Per-tenant cache keys the way a cache-aside Node app writes them:
//! `t:{tenant_id}:{kind}:{n}` as JSON strings, hashes, lists, sets and
//! sorted sets, most with TTLs, plus tag sets `tag:{tag}` naming the keys
//! each tag covers, for tag-based invalidation.

use super::{plan_of, Scale};
use crate::error::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Commands per pipeline round trip.
const BATCH: u64 = 2_000;

#[derive(Debug, Clone, Serialize)]
pub struct RedisSeedReport {
    pub keys: u64,
    pub with_ttl: u64,
    pub tags: u64,
    pub duration_ms: u64,
}

const KINDS: &[&str] = &[
    "user",
    "project",
    "session",
    "feed",
    "members",
    "leaderboard",
];
const FEATURES: &[&str] = &["billing", "search", "reports"];

/// Seeds a Redis (single node or Cluster) that holds nothing of ours yet.
pub async fn seed_redis(url: &str, scale: Scale) -> Result<RedisSeedReport> {
    let started = std::time::Instant::now();
    let sizes = scale.sizes();
    let redis = crate::conn::redis::connect_url(url, None).await?;
    let mut conn = redis.routed();
    let mut rng = StdRng::seed_from_u64(7);
    let mut with_ttl = 0;
    let mut tags = std::collections::BTreeSet::new();
    let mut pipe = redis::pipe();
    let mut queued = 0;
    for n in 1..=sizes.redis_keys {
        let r: f64 = rng.gen();
        // Same skew as the SQL seed: whales own most keys.
        let tenant = 1 + (r.powi(3) * sizes.tenants as f64) as i64;
        let kind = KINDS[usize::try_from(n % KINDS.len() as u64).unwrap_or(0)];
        let key = format!("t:{tenant}:{kind}:{n}");
        match kind {
            "user" => {
                let json = serde_json::json!({"id": n, "tenant_id": tenant, "name": format!("User {n}"), "email": format!("user{n}@example.com")});
                pipe.cmd("SET").arg(&key).arg(json.to_string()).ignore();
            }
            "project" => {
                pipe.cmd("HSET")
                    .arg(&key)
                    .arg("id")
                    .arg(n)
                    .arg("name")
                    .arg(format!("Project {n}"))
                    .arg("tenant_id")
                    .arg(tenant)
                    .ignore();
            }
            "session" => {
                let json = serde_json::json!({"user_id": n, "csrf": format!("{:032x}", rng.gen::<u128>())});
                pipe.cmd("SET").arg(&key).arg(json.to_string()).ignore();
            }
            "feed" => {
                pipe.cmd("RPUSH")
                    .arg(&key)
                    .arg(
                        (0..5)
                            .map(|i| format!("event:{}", n * 10 + i))
                            .collect::<Vec<_>>(),
                    )
                    .ignore();
            }
            "members" => {
                pipe.cmd("SADD")
                    .arg(&key)
                    .arg(
                        (0..4)
                            .map(|i| format!("user:{}", n + i))
                            .collect::<Vec<_>>(),
                    )
                    .ignore();
            }
            _ => {
                pipe.cmd("ZADD")
                    .arg(&key)
                    .arg(1)
                    .arg("alice")
                    .arg(2)
                    .arg("bob")
                    .arg(3)
                    .arg("zoë")
                    .ignore();
            }
        }
        // Sessions always expire; of the rest about a third lives forever.
        let ttl = if kind == "session" {
            Some(rng.gen_range(300..3_600))
        } else if rng.gen_bool(0.7) {
            Some(rng.gen_range(60..86_400))
        } else {
            None
        };
        if let Some(ttl) = ttl {
            pipe.cmd("EXPIRE").arg(&key).arg(ttl).ignore();
            with_ttl += 1;
        }
        let mut tag = |name: String| {
            pipe.cmd("SADD")
                .arg(format!("tag:{name}"))
                .arg(&key)
                .ignore();
            tags.insert(name);
        };
        tag(format!("plan:{}", plan_of(tenant, sizes.whales)));
        if kind == "project" {
            tag(format!("project:{}", n % 500));
        }
        if n % 3 == 0 {
            tag(format!(
                "feature:{}",
                FEATURES[usize::try_from((n / 3) % 3).unwrap_or(0)]
            ));
        }
        queued += 1;
        if queued >= BATCH {
            let _: () = pipe.query_async(&mut conn).await?;
            pipe = redis::pipe();
            queued = 0;
        }
    }
    if queued > 0 {
        let _: () = pipe.query_async(&mut conn).await?;
    }
    Ok(RedisSeedReport {
        keys: sizes.redis_keys,
        with_ttl,
        tags: tags.len() as u64,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    })
}
