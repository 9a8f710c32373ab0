//! The cache core against real Redis: each test owns a throwaway
//! redis-server (RedisSandbox), so counts over the whole keyspace are exact.

mod common;

use opsdeck::audit::{Actor, Audit};
use opsdeck::cache::Invalidation;
use opsdeck::cache::{self, invalidate, KeysOptions, Plan, Throttle};
use opsdeck::config::CacheLayout;
use opsdeck::conn::redis::{connect_url, Redis};
use opsdeck::safety::{Approval, Authorized, Safety};
use opsdeck::sandbox::RedisSandbox;
use opsdeck::stop::Stop;
use opsdeck::Error;
use std::collections::HashSet;

async fn server() -> (RedisSandbox, Redis, redis::aio::MultiplexedConnection) {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let redis = connect_url(&sb.url(), None).await.expect("connect");
    let raw = redis::Client::open(sb.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    (sb, redis, raw)
}

/// SETs every key (value = key), pipelined in chunks; `ttl` in seconds when given.
async fn fill<I>(c: &mut redis::aio::MultiplexedConnection, keys: I, ttl: Option<u64>)
where
    I: IntoIterator<Item = String>,
{
    let mut pipe = redis::pipe();
    let mut n = 0;
    for k in keys {
        match ttl {
            Some(t) => pipe.cmd("SET").arg(&k).arg(&k).arg("EX").arg(t).ignore(),
            None => pipe.cmd("SET").arg(&k).arg(&k).ignore(),
        };
        n += 1;
        if n % 10_000 == 0 {
            pipe.query_async::<()>(c).await.unwrap();
            pipe = redis::pipe();
        }
    }
    pipe.query_async::<()>(c).await.unwrap();
}

async fn all_keys(c: &mut redis::aio::MultiplexedConnection) -> HashSet<String> {
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(c).await.unwrap();
    keys.into_iter().collect()
}

struct Audited {
    _dir: tempfile::TempDir,
    safety: Safety,
}

impl Audited {
    fn new() -> Audited {
        let dir = tempfile::tempdir().unwrap();
        let audit = Audit::new(
            dir.path().join("audit.jsonl"),
            None,
            Actor::current(None),
            "test".into(),
        );
        Audited {
            safety: Safety::new(false, audit),
            _dir: dir,
        }
    }

    async fn guard(&self, plan: &Plan, redis: &Redis) -> Authorized<Invalidation> {
        self.safety
            .authorize(
                plan.clone().invalidation(&redis.target, None),
                Approval::AssumeYes,
            )
            .await
            .unwrap()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.safety.audit().local_path()).unwrap()
    }
}

async fn invalidate_all(redis: &Redis, plan: &Plan, audited: &Audited) -> cache::Invalidated {
    let guard = audited.guard(plan, redis).await;
    invalidate::run(redis, guard, Throttle::default(), &Stop::new(), |_| {})
        .await
        .unwrap()
}

#[tokio::test]
async fn scan_finds_exactly_the_matching_keys_among_100k() {
    let (_sb, redis, mut c) = server().await;
    // 1,500 matches; decoys share the prefix but not the pattern.
    let matching: HashSet<String> = (0..1500).map(|i| format!("m:{i}:x")).collect();
    let decoys = (0..98_500).map(|i| match i % 3 {
        0 => format!("m:{i}:y"),
        1 => format!("mm:{i}:x"),
        _ => format!("other:{i}"),
    });
    fill(&mut c, matching.iter().cloned().chain(decoys), None).await;
    let dbsize: u64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
    assert_eq!(dbsize, 100_000);

    let opts = KeysOptions {
        pattern: Some(b"m:*:x".to_vec()),
        ..KeysOptions::default()
    };
    let mut found = Vec::new();
    let mut pages = 0;
    let summary = cache::keys(&redis, &opts, |page| {
        pages += 1;
        found.extend(page.iter().map(|e| e.key.clone()));
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(summary.found, 1500);
    assert!(!summary.limited);
    assert!(pages > 1, "results should stream page by page");
    assert_eq!(found.len(), 1500);
    assert_eq!(found.into_iter().collect::<HashSet<_>>(), matching);

    let limited = cache::keys(
        &redis,
        &KeysOptions {
            limit: Some(10),
            ..opts.clone()
        },
        |page| {
            assert!(page.iter().all(|e| matching.contains(&e.key)));
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!((limited.found, limited.limited), (10, true));

    let dry = cache::dry_run(&redis, &Plan::pattern("m:*:x").unwrap())
        .await
        .unwrap();
    assert_eq!(dry.matched, 1500);
    assert_eq!(dry.sample.len(), invalidate::SAMPLE);
}

#[tokio::test]
async fn keys_with_sizes_and_binary_names() {
    let (_sb, redis, mut c) = server().await;
    let _: () = redis::cmd("SET")
        .arg(b"bin:\x00\xff")
        .arg("v")
        .arg("EX")
        .arg(100)
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("RPUSH")
        .arg("bin:list")
        .arg(&["a", "b"])
        .query_async(&mut c)
        .await
        .unwrap();
    let mut entries = Vec::new();
    cache::keys(
        &redis,
        &KeysOptions {
            pattern: Some(b"bin:*".to_vec()),
            sizes: true,
            ..KeysOptions::default()
        },
        |page| {
            entries.extend_from_slice(page);
            Ok(())
        },
    )
    .await
    .unwrap();
    entries.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].key, "bin:\\x00\\xff");
    assert_eq!(entries[0].raw, b"bin:\x00\xff");
    let s = entries[0].sizes.as_ref().unwrap();
    assert_eq!(s.kind, "string");
    assert!(s.ttl_ms.is_some_and(|t| t > 90_000 && t <= 100_000));
    assert!(s.memory_bytes.is_some_and(|m| m > 0));
    let l = entries[1].sizes.as_ref().unwrap();
    assert_eq!((l.kind.as_str(), l.ttl_ms), ("list", None));
    // The escaped form reads back to the same key.
    let v = cache::get(&redis, &cache::unescape(&entries[0].key).unwrap())
        .await
        .unwrap();
    assert_eq!(v.value, "v");
}

#[tokio::test]
async fn invalidate_by_pattern_deletes_exactly_the_matches() {
    let (_sb, redis, mut c) = server().await;
    let doomed: Vec<String> = (0..2345).map(|i| format!("sess:{i}")).collect();
    let kept: Vec<String> = (0..1000)
        .map(|i| format!("session:{i}"))
        .chain((0..100).map(|i| format!("xsess:{i}")))
        .collect();
    fill(&mut c, doomed.iter().chain(&kept).cloned(), Some(600)).await;
    let audited = Audited::new();

    let plan = Plan::pattern("sess:*").unwrap();
    let before = all_keys(&mut c).await;
    let dry = cache::dry_run(&redis, &plan).await.unwrap();
    assert_eq!(dry.matched, 2345);
    assert!(dry.sample.iter().all(|k| k.starts_with("sess:")));
    assert_eq!(all_keys(&mut c).await, before, "dry run changed something");

    let mut seen = Vec::new();
    let guard = audited.guard(&plan, &redis).await;
    let done = invalidate::run(&redis, guard, Throttle::default(), &Stop::new(), |p| {
        seen.push(p.deleted)
    })
    .await
    .unwrap();
    assert_eq!(done.deleted, 2345);
    assert!(!done.cancelled);
    assert!(
        seen.len() >= 5 && seen.windows(2).all(|w| w[0] < w[1]),
        "progress per batch of 500: {seen:?}"
    );
    assert_eq!(all_keys(&mut c).await, kept.into_iter().collect());
    let log = audited.log();
    assert!(log.contains("\"cache.invalidate\""), "{log}");
    assert!(log.contains("\"deleted\":2345"), "{log}");
}

#[tokio::test]
async fn invalidate_by_tag_deletes_members_and_the_set_only() {
    let (_sb, redis, mut c) = server().await;
    let members: Vec<String> = (0..1200).map(|i| format!("t:7:product:{i}")).collect();
    let others: Vec<String> = (0..300).map(|i| format!("t:7:user:{i}")).collect();
    fill(&mut c, members.iter().chain(&others).cloned(), Some(600)).await;
    // Two members already expired: listed in the set, gone from the keyspace.
    let mut listed = members.clone();
    listed.extend(["t:7:product:gone1".to_string(), "t:7:product:gone2".into()]);
    let _: () = redis::cmd("SADD")
        .arg("tag:catalog")
        .arg(&listed)
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("SADD")
        .arg("tag:users")
        .arg(&others)
        .query_async(&mut c)
        .await
        .unwrap();
    let layout = CacheLayout::default();
    let plan = Plan::tag(&layout, "catalog");

    let before = all_keys(&mut c).await;
    let dry = cache::dry_run(&redis, &plan).await.unwrap();
    assert_eq!(dry.matched, 1200);
    assert_eq!(dry.tag_key.as_deref(), Some("tag:catalog"));
    assert_eq!(all_keys(&mut c).await, before);

    let audited = Audited::new();
    let done = invalidate_all(&redis, &plan, &audited).await;
    assert_eq!(done.deleted, 1200);
    assert_eq!(done.scanned, 1202);
    assert_eq!(done.tag_set_deleted, Some(true));
    let mut want: HashSet<String> = others.into_iter().collect();
    want.insert("tag:users".into());
    assert_eq!(all_keys(&mut c).await, want);
    assert!(audited.log().contains("\"deleted\":1200"));
}

#[tokio::test]
async fn invalidate_by_tenant_spares_other_tenants() {
    let (_sb, redis, mut c) = server().await;
    let mut keys = Vec::new();
    for tenant in [1, 10, 11, 2] {
        for i in 0..400 {
            keys.push(format!("t:{tenant}:user:{i}"));
        }
    }
    keys.push("t:1".into());
    fill(&mut c, keys.clone(), Some(600)).await;
    let plan = Plan::tenant(&CacheLayout::default(), "1", "1", None).unwrap();
    assert_eq!(cache::dry_run(&redis, &plan).await.unwrap().matched, 400);

    let done = invalidate_all(&redis, &plan, &Audited::new()).await;
    assert_eq!(done.deleted, 400);
    let want: HashSet<String> = keys
        .into_iter()
        .filter(|k| !k.starts_with("t:1:"))
        .collect();
    assert_eq!(all_keys(&mut c).await, want);
}

#[tokio::test]
async fn cancelling_stops_between_batches_and_reports_the_count() {
    let (_sb, redis, mut c) = server().await;
    fill(&mut c, (0..5000).map(|i| format!("c:{i}")), None).await;
    let plan = Plan::pattern("c:*").unwrap();
    let audited = Audited::new();
    let guard = audited.guard(&plan, &redis).await;
    let cancel = Stop::new();
    let done = invalidate::run(&redis, guard, Throttle::default(), &cancel, |p| {
        if p.batches == 2 {
            cancel.trigger();
        }
    })
    .await
    .unwrap();
    assert!(done.cancelled);
    assert_eq!(done.batches, 2);
    let left: u64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
    assert!(done.deleted > 0 && done.deleted <= 1000, "{}", done.deleted);
    assert_eq!(left, 5000 - done.deleted);
    let log = audited.log();
    assert!(log.contains("\"cancelled\":true"), "{log}");
    assert!(
        log.contains(&format!("\"deleted\":{}", done.deleted)),
        "{log}"
    );
}

#[tokio::test]
async fn stats_cover_server_and_sample() {
    let (_sb, redis, mut c) = server().await;
    fill(&mut c, (0..300).map(|i| format!("t:{i}:user:1")), Some(30)).await;
    fill(
        &mut c,
        (0..200).map(|i| format!("t:{i}:invoice:9")),
        Some(7200),
    )
    .await;
    fill(&mut c, (0..50).map(|i| format!("cfg:{i}")), None).await;
    // Log every command from here on, so the slowlog has entries to show.
    let _: () = redis::cmd("CONFIG")
        .arg(&["SET", "slowlog-log-slower-than", "0"])
        .query_async(&mut c)
        .await
        .unwrap();
    let _: Option<String> = redis::cmd("GET")
        .arg("cfg:1")
        .query_async(&mut c)
        .await
        .unwrap();
    let _: Option<String> = redis::cmd("GET")
        .arg("nope")
        .query_async(&mut c)
        .await
        .unwrap();

    let layout = CacheLayout {
        sample_size: 400,
        ..CacheLayout::default()
    };
    let s = cache::stats(&redis, &layout).await.unwrap();
    assert!(!s.cluster);
    assert_eq!(s.nodes.len(), 1);
    let n = &s.nodes[0];
    assert!(n.used_memory_bytes.is_some_and(|m| m > 0));
    assert_eq!((n.keyspace_hits, n.keyspace_misses), (Some(1), Some(1)));
    assert_eq!(n.hit_ratio, Some(0.5));
    assert_eq!(n.dbs[0].keys, 550);
    assert_eq!(n.dbs[0].expires, 500);
    assert_eq!(s.totals.keys, 550);
    assert!(
        !s.slowlog.is_empty() && s.slowlog.len() <= 10,
        "{:?}",
        s.slowlog
    );
    assert!(s
        .slowlog
        .windows(2)
        .all(|w| w[0].duration_ms >= w[1].duration_ms));
    assert!(
        s.slowlog.iter().any(|e| e.command.starts_with("GET")),
        "{:?}",
        s.slowlog
    );
    assert!(s.notes.is_empty(), "{:?}", s.notes);
    // Bounded: the sample stops at sample_size and says so.
    assert_eq!(s.sample.sample_size, 400);
    assert_eq!(s.sample.sampled_keys, 400);
    assert!(s.sample.memory_sampled);
    let total: u64 = s.sample.prefixes.iter().map(|p| p.keys).sum();
    assert_eq!(total, 400);
    let groups: HashSet<&str> = s
        .sample
        .prefixes
        .iter()
        .map(|p| p.prefix.as_str())
        .collect();
    assert!(
        groups.is_subset(&["t:*:user", "t:*:invoice", "cfg"].into()),
        "{groups:?}"
    );
    let cfg_no_ttl: u64 = s
        .sample
        .prefixes
        .iter()
        .filter(|p| p.prefix == "cfg")
        .map(|p| p.keys_without_ttl)
        .sum();
    assert_eq!(s.sample.keys_without_ttl, cfg_no_ttl);
    let buckets: u64 = s.sample.ttl_buckets.iter().map(|b| b.keys).sum();
    assert_eq!(buckets, 400);
    assert_eq!(s.tree.keys, 400);

    // The whole keyspace when the sample is larger than it.
    let all = cache::stats(&redis, &CacheLayout::default()).await.unwrap();
    assert_eq!(all.sample.sampled_keys, 550);
    assert_eq!(all.sample.keys_without_ttl, 50);
    let lt_1m = all
        .sample
        .ttl_buckets
        .iter()
        .find(|b| b.bucket == "lt_1m")
        .unwrap();
    assert_eq!(lt_1m.keys, 300);
}

#[tokio::test]
async fn restricted_acl_user_degrades_with_notes() {
    let (sb, _redis, mut c) = server().await;
    let _: () = redis::cmd("ACL")
        .arg(&[
            "SETUSER", "ops", "on", ">s3cret", "~*", "+@all", "-memory", "-slowlog", "-object",
        ])
        .query_async(&mut c)
        .await
        .unwrap();
    fill(&mut c, (0..20).map(|i| format!("k:{i}")), None).await;
    let url = format!("redis://ops:s3cret@127.0.0.1:{}/0", sb.port());
    let redis = connect_url(&url, None).await.unwrap();
    let s = cache::stats(&redis, &CacheLayout::default()).await.unwrap();
    assert_eq!(s.sample.sampled_keys, 20);
    assert!(!s.sample.memory_sampled);
    assert_eq!(s.sample.prefixes[0].memory_bytes, None);
    assert!(
        s.notes.iter().any(|n| n.contains("SLOWLOG")),
        "{:?}",
        s.notes
    );
    assert!(
        s.notes.iter().any(|n| n.contains("MEMORY USAGE")),
        "{:?}",
        s.notes
    );

    let mut entries = Vec::new();
    let summary = cache::keys(
        &redis,
        &KeysOptions {
            sizes: true,
            ..KeysOptions::default()
        },
        |p| {
            entries.extend_from_slice(p);
            Ok(())
        },
    )
    .await
    .unwrap();
    assert_eq!(entries.len(), 20);
    assert!(entries.iter().all(|e| e
        .sizes
        .as_ref()
        .is_some_and(|s| s.memory_bytes.is_none() && s.kind == "string")));
    assert_eq!(summary.notes.len(), 1, "{:?}", summary.notes);

    let v = cache::get(&redis, b"k:1").await.unwrap();
    assert_eq!((v.memory_bytes, v.encoding.clone()), (None, None));
    assert_eq!(v.notes.len(), 2, "{:?}", v.notes);
}

#[tokio::test]
async fn get_shows_every_type_bounded() {
    let (_sb, redis, mut c) = server().await;
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg("j")
        .arg(r#"{"plan":"pro","n":[1,2]}"#)
        .ignore();
    pipe.cmd("SET").arg("b").arg(b"\x00\x01\xff").ignore();
    pipe.cmd("HSET")
        .arg("h")
        .arg(&["a", "1", "b", "2"])
        .ignore();
    let items: Vec<String> = (0..250).map(|i| i.to_string()).collect();
    pipe.cmd("RPUSH").arg("l").arg(&items).ignore();
    pipe.cmd("SADD").arg("s").arg(&["x", "y"]).ignore();
    pipe.cmd("ZADD")
        .arg("z")
        .arg(&["2", "b", "1", "a"])
        .ignore();
    pipe.cmd("XADD")
        .arg("x")
        .arg("1-1")
        .arg(&["f", "v"])
        .ignore();
    pipe.cmd("EXPIRE").arg("j").arg(100).ignore();
    pipe.query_async::<()>(&mut c).await.unwrap();

    let j = cache::get(&redis, b"j").await.unwrap();
    assert_eq!((j.kind.as_str(), j.format), ("string", "json"));
    assert_eq!(j.value["plan"], "pro");
    assert!(j.ttl_ms.is_some_and(|t| t > 0));
    let b = cache::get(&redis, b"b").await.unwrap();
    assert_eq!(
        (b.format, b.value.as_str()),
        ("binary", Some("\\x00\\x01\\xff"))
    );
    let h = cache::get(&redis, b"h").await.unwrap();
    assert_eq!(h.value, serde_json::json!({"a": "1", "b": "2"}));
    let l = cache::get(&redis, b"l").await.unwrap();
    assert_eq!((l.length, l.shown, l.truncated), (250, 100, true));
    assert_eq!(l.value[99], "99");
    let s = cache::get(&redis, b"s").await.unwrap();
    assert_eq!(s.value, serde_json::json!(["x", "y"]));
    let z = cache::get(&redis, b"z").await.unwrap();
    assert_eq!(z.value[0], serde_json::json!({"member": "a", "score": 1.0}));
    let x = cache::get(&redis, b"x").await.unwrap();
    assert_eq!(x.value[0]["id"], "1-1");
    assert_eq!(x.value[0]["fields"]["f"], "v");
    assert!(x.encoding.is_some() && x.memory_bytes.is_some());
    let missing = cache::get(&redis, b"nope").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound(_)), "{missing}");
}
