//! Fault matrix, Redis Cluster: a slot migrating (CLUSTER SETSLOT
//! IMPORTING/MIGRATING, MIGRATE in small batches, then SETSLOT NODE) while
//! `cache invalidate` and `cache keys` walk the keyspace: nothing skipped,
//! nothing deleted or listed twice, other keys untouched, audited counts exact.

mod common;

use opsdeck::audit::{Actor, Audit};
use opsdeck::cache::{self, KeysOptions, Plan, Throttle};
use opsdeck::conn::redis::connect_url;
use opsdeck::safety::{Approval, Safety};
use opsdeck::sandbox::RedisClusterSandbox;
use opsdeck::stop::Stop;
use redis::aio::MultiplexedConnection;
use std::collections::HashSet;
use std::time::Duration;

const HOT: usize = 4_000;
const SPREAD: usize = 4_000;

async fn node(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn text(c: &mut MultiplexedConnection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query_async(c).await.unwrap()
}

/// The matching keys (`m:*`) on every node, and how many there are in all.
async fn matching(urls: &[String]) -> (HashSet<String>, usize) {
    let mut all = HashSet::new();
    let mut n = 0;
    for u in urls {
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("m:*")
            .query_async(&mut node(u).await)
            .await
            .unwrap();
        n += keys.len();
        all.extend(keys);
    }
    (all, n)
}

/// `HOT` keys in the slot of `{hot}`, `SPREAD` matching keys over all
/// slots, and 1,000 that do not match.
async fn fill(seed: &str) -> HashSet<String> {
    let client = redis::cluster::ClusterClient::new(vec![seed.to_string()]).unwrap();
    let mut c = client.get_async_connection().await.unwrap();
    let mut want = HashSet::new();
    let keys = (0..HOT)
        .map(|i| format!("m:{{hot}}:{i}"))
        .chain((0..SPREAD).map(|i| format!("m:{i}")));
    for k in keys {
        let _: () = redis::cmd("SET")
            .arg(&k)
            .arg("v")
            .query_async(&mut c)
            .await
            .unwrap();
        want.insert(k);
    }
    for i in 0..1_000 {
        let _: () = redis::cmd("SET")
            .arg(format!("other:{i}"))
            .arg("v")
            .query_async(&mut c)
            .await
            .unwrap();
    }
    want
}

/// The slot of `{hot}`, the master owning it and another one, by index into `urls`.
async fn hot_slot(urls: &[String]) -> (String, usize, usize) {
    let mut c = node(&urls[0]).await;
    let slot: i64 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg("{hot}")
        .query_async(&mut c)
        .await
        .unwrap();
    for (i, u) in urls.iter().enumerate() {
        let n: i64 = redis::cmd("CLUSTER")
            .arg("COUNTKEYSINSLOT")
            .arg(slot)
            .query_async(&mut node(u).await)
            .await
            .unwrap();
        if n > 0 {
            return (slot.to_string(), i, (i + 1) % urls.len());
        }
    }
    panic!("no node holds slot {slot}");
}

/// Marks the slot migrating from `from` to `to` (both sides), as
/// `redis-cli --cluster reshard` does first.
async fn begin_migration(urls: &[String], slot: &str, from: usize, to: usize) {
    let (mut src, mut dst) = (node(&urls[from]).await, node(&urls[to]).await);
    let src_id = text(&mut src, &["CLUSTER", "MYID"]).await;
    let dst_id = text(&mut dst, &["CLUSTER", "MYID"]).await;
    text(
        &mut dst,
        &["CLUSTER", "SETSLOT", slot, "IMPORTING", &src_id],
    )
    .await;
    text(
        &mut src,
        &["CLUSTER", "SETSLOT", slot, "MIGRATING", &dst_id],
    )
    .await;
}

/// Moves the slot's keys 20 at a time, pausing between batches so the walk
/// runs meanwhile, then gives the slot to `to` on every master.
async fn migrate(urls: Vec<String>, slot: String, from: usize, to: usize) {
    let mut src = node(&urls[from]).await;
    let port = urls[to]
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches("/0")
        .to_string();
    loop {
        let keys: Vec<String> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(&slot)
            .arg(20)
            .query_async(&mut src)
            .await
            .unwrap();
        if keys.is_empty() {
            break;
        }
        let _: () = redis::cmd("MIGRATE")
            .arg("127.0.0.1")
            .arg(&port)
            .arg("")
            .arg(0)
            .arg(5000)
            .arg("KEYS")
            .arg(&keys)
            .query_async(&mut src)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let dst_id = text(&mut node(&urls[to]).await, &["CLUSTER", "MYID"]).await;
    for u in &urls {
        text(
            &mut node(u).await,
            &["CLUSTER", "SETSLOT", &slot, "NODE", &dst_id],
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slot_migrating_during_invalidate_and_keys_is_neither_skipped_nor_doubled() {
    let sb = RedisClusterSandbox::start(3).await.unwrap();
    let urls = sb.urls();
    let want = fill(&sb.seed_url()).await;
    let redis = connect_url(&sb.seed_url(), None).await.unwrap();
    let (slot, from, to) = hot_slot(&urls).await;

    // Listing while the slot moves from `from` to `to`.
    begin_migration(&urls, &slot, from, to).await;
    let mover = tokio::spawn(migrate(urls.clone(), slot.clone(), from, to));
    let mut listed = Vec::new();
    let summary = cache::keys(
        &redis,
        &KeysOptions {
            pattern: Some(b"m:*".to_vec()),
            ..KeysOptions::default()
        },
        |page| {
            listed.extend(page.iter().map(|e| e.key.clone()));
            Ok(())
        },
    )
    .await
    .unwrap();
    mover.await.unwrap();
    let unique: HashSet<String> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "a key listed twice");
    let missed: Vec<&String> = want.difference(&unique).take(5).collect();
    let extra: Vec<&String> = unique.difference(&want).take(5).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "missed {} (e.g. {missed:?}), extra {extra:?}",
        want.difference(&unique).count()
    );
    assert_eq!(summary.found as usize, HOT + SPREAD);

    // Invalidating while it moves back.
    let (slot, from, to) = hot_slot(&urls).await;
    begin_migration(&urls, &slot, from, to).await;
    let dir = tempfile::tempdir().unwrap();
    let audit = Audit::new(
        dir.path().join("audit.jsonl"),
        None,
        Actor::current(None),
        "t".into(),
    );
    let plan = Plan::pattern("m:*")
        .unwrap()
        .invalidation(&redis.target, None);
    let approved = Safety::new(false, audit)
        .authorize(plan, Approval::AssumeYes)
        .await
        .unwrap();
    let mover = tokio::spawn(migrate(urls.clone(), slot, from, to));
    let throttle = Throttle {
        batch: 50,
        pause: Duration::from_millis(1),
        ..Throttle::default()
    };
    let done = cache::invalidate::run(&redis, approved, throttle, &Stop::new(), |_| {})
        .await
        .unwrap();
    mover.await.unwrap();
    assert_eq!(
        done.deleted as usize,
        HOT + SPREAD,
        "each key deleted once, none missed"
    );
    let (left, _) = matching(&urls).await;
    assert!(
        left.is_empty(),
        "{} keys skipped, e.g. {:?}",
        left.len(),
        left.iter().next()
    );
    let others: usize = {
        let mut n = 0;
        for u in &urls {
            let keys: Vec<String> = redis::cmd("KEYS")
                .arg("other:*")
                .query_async(&mut node(u).await)
                .await
                .unwrap();
            n += keys.len();
        }
        n
    };
    assert_eq!(others, 1_000, "keys outside the pattern untouched");
    let log = std::fs::read_to_string(dir.path().join("audit.jsonl")).unwrap();
    let end: serde_json::Value = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    assert_eq!(end["outcome"], "ok", "{end}");
    assert_eq!(end["detail"]["deleted"], (HOT + SPREAD) as u64, "{end}");
}
