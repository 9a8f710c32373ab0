//! The cache core on a throwaway 3-master Redis Cluster: scans, stats and
//! invalidations must cover every master, and deletes must never hit CROSSSLOT.

mod common;

use opsdeck::audit::{Actor, Audit};
use opsdeck::cache::{self, invalidate, KeysOptions, Plan, Throttle};
use opsdeck::config::CacheLayout;
use opsdeck::conn::redis::{connect_url, Redis};
use opsdeck::safety::{Approval, Safety};
use opsdeck::sandbox::RedisClusterSandbox;
use opsdeck::stop::Stop;
use std::collections::HashSet;

/// Every key on every master, read node by node.
async fn keyspace(urls: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    for u in urls {
        let mut c = redis::Client::open(u.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("*")
            .query_async(&mut c)
            .await
            .unwrap();
        out.extend(keys);
    }
    out
}

async fn run(redis: &Redis, plan: &Plan, dir: &std::path::Path) -> cache::Invalidated {
    let audit = Audit::new(
        dir.join("audit.jsonl"),
        None,
        Actor::current(None),
        "t".into(),
    );
    let guard = Safety::new(false, audit)
        .authorize(
            plan.clone().invalidation(&redis.target, None),
            Approval::AssumeYes,
        )
        .await
        .unwrap();
    invalidate::run(redis, guard, Throttle::default(), &Stop::new(), |_| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn scan_stats_and_invalidation_cover_every_master() {
    let sb = RedisClusterSandbox::start(3)
        .await
        .expect("cluster sandbox");
    let redis = connect_url(&sb.seed_url(), None).await.unwrap();
    assert!(redis.is_cluster(), "cluster mode is detected from INFO");
    assert_eq!(redis.masters().len(), 3);

    let client = redis::cluster::ClusterClient::new(vec![sb.seed_url()]).unwrap();
    let mut c = client.get_async_connection().await.unwrap();
    let mut all = Vec::new();
    for tenant in 1..=12 {
        for i in 0..250 {
            all.push(format!("t:{tenant}:user:{i}"));
        }
    }
    for k in &all {
        let _: () = redis::cmd("SET")
            .arg(k)
            .arg("v")
            .arg("EX")
            .arg(600)
            .query_async(&mut c)
            .await
            .unwrap();
    }
    let tagged: Vec<String> = (0..400).map(|i| format!("t:5:user:{i}")).collect();
    let tagged: Vec<String> = tagged.into_iter().filter(|k| all.contains(k)).collect();
    let _: () = redis::cmd("SADD")
        .arg("tag:t5users")
        .arg(&tagged)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(keyspace(&sb.urls()).await.len(), 3001);

    // Keys of one tenant spread over all three masters.
    let mut found = HashSet::new();
    let summary = cache::keys(
        &redis,
        &KeysOptions {
            pattern: Some(b"t:3:*".to_vec()),
            sizes: true,
            ..KeysOptions::default()
        },
        |p| {
            found.extend(p.iter().map(|e| e.key.clone()));
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!(summary.found, 250);
    let want: HashSet<String> = (0..250).map(|i| format!("t:3:user:{i}")).collect();
    assert_eq!(found, want);
    for u in sb.urls() {
        let mut n = redis::Client::open(u.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let on_node: Vec<String> = redis::cmd("KEYS")
            .arg("t:3:*")
            .query_async(&mut n)
            .await
            .unwrap();
        assert!(!on_node.is_empty(), "test data should span every master");
    }

    let stats = cache::stats(&redis, &CacheLayout::default()).await.unwrap();
    assert!(stats.cluster);
    assert_eq!(stats.nodes.len(), 3);
    assert_eq!(stats.totals.keys, 3001);
    assert_eq!(stats.sample.sampled_keys, 3001);

    let dir = tempfile::tempdir().unwrap();
    // Pattern: tenant 1 only, not 10, 11, 12.
    let plan = Plan::tenant(&CacheLayout::default(), "1", "1", None).unwrap();
    assert_eq!(cache::dry_run(&redis, &plan).await.unwrap().matched, 250);
    let done = run(&redis, &plan, dir.path()).await;
    assert_eq!(done.deleted, 250);
    let left = keyspace(&sb.urls()).await;
    assert_eq!(left.len(), 2751);
    assert!(!left.iter().any(|k| k.starts_with("t:1:")));
    assert!(left.contains("t:10:user:0") && left.contains("t:12:user:249"));

    // Tag: members on every master, then the set itself.
    let plan = Plan::tag(&CacheLayout::default(), "t5users");
    assert_eq!(
        cache::dry_run(&redis, &plan).await.unwrap().matched,
        tagged.len() as u64
    );
    let done = run(&redis, &plan, dir.path()).await;
    assert_eq!(done.deleted, tagged.len() as u64);
    assert_eq!(done.tag_set_deleted, Some(true));
    let left = keyspace(&sb.urls()).await;
    assert_eq!(left.len(), 2750 - tagged.len());
    assert!(!left.contains("tag:t5users"));

    // del of keys in different slots.
    let keys = vec![
        b"t:2:user:1".to_vec(),
        b"t:9:user:7".to_vec(),
        b"missing".to_vec(),
    ];
    let audit = Audit::new(
        dir.path().join("audit.jsonl"),
        None,
        Actor::current(None),
        "t".into(),
    );
    let guard = Safety::new(false, audit)
        .authorize(
            cache::Deletion::new(keys, &redis.target),
            Approval::AssumeYes,
        )
        .await
        .unwrap();
    let d = cache::del(&redis, guard).await.unwrap();
    assert_eq!((d.requested, d.deleted), (3, 2));

    let v = cache::get(&redis, b"t:4:user:3").await.unwrap();
    assert_eq!(v.value, "v");
}
