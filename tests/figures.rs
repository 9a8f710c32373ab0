//! opsdeck must not move the figures it reports: hit ratio and ops/s are over
//! a window between two INFO samples, and opsdeck's own reads (key sampling,
//! key listing, value reads) are left out of it. Each test runs on its own
//! throwaway redis-server so that nothing else moves its counters.

mod common;

use common::{home, opsdeck};
use opsdeck::cache::{self, KeysOptions};
use opsdeck::config::CacheLayout;
use opsdeck::conn::redis::{connect_url, Redis};
use opsdeck::health::overview::{self, Overview};
use opsdeck::sandbox::RedisSandbox;
use serde_json::Value;

struct Server {
    sb: RedisSandbox,
    redis: Redis,
    /// A client standing for the application: its commands are the traffic.
    app: redis::aio::MultiplexedConnection,
}

/// A fresh server holding `keys` cache keys with a TTL.
async fn server(keys: usize) -> Server {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let mut app = redis::Client::open(sb.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut pipe = redis::pipe();
    for i in 0..keys {
        pipe.cmd("SET")
            .arg(format!("t:{}:user:{i}", i % 20))
            .arg("v")
            .arg("EX")
            .arg(600)
            .ignore();
    }
    pipe.query_async::<()>(&mut app).await.unwrap();
    let redis = connect_url(&sb.url(), None).await.expect("connect");
    Server { sb, redis, app }
}

impl Server {
    /// keyspace_hits, keyspace_misses as the server counts them.
    async fn counters(&mut self) -> (u64, u64) {
        let text: String = redis::cmd("INFO")
            .arg("stats")
            .query_async(&mut self.app)
            .await
            .unwrap();
        let num = |k: &str| {
            text.lines()
                .find_map(|l| l.trim().strip_prefix(k)?.strip_prefix(':')?.parse().ok())
                .unwrap()
        };
        (num("keyspace_hits"), num("keyspace_misses"))
    }

    /// `hits` GETs of existing keys and `misses` GETs of missing ones.
    async fn workload(&mut self, hits: usize, misses: usize) {
        for i in 0..hits {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("t:{}:user:{i}", i % 20))
                .query_async(&mut self.app)
                .await
                .unwrap();
        }
        for i in 0..misses {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("missing:{i}"))
                .query_async(&mut self.app)
                .await
                .unwrap();
        }
    }

    fn json(&self, h: &std::path::Path, args: &[&str]) -> Value {
        let out = opsdeck(h)
            .args(["--redis", &self.sb.url(), "--output", "json"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_stats_on_an_idle_server_reports_no_traffic_not_its_own_sampling() {
    let mut s = server(3000).await;
    let h = home();
    let before = s.counters().await;
    let first = s.json(h.path(), &["cache", "stats", "--sample-ms", "300"]);
    let after = s.counters().await;
    // The sampling's PTTLs are lookups the server counts (nothing can read a
    // TTL without one): that is why the window must leave them out.
    assert_eq!(first["sample"]["sampled_keys"], 3000);
    assert_eq!(after.0 - before.0, 3000, "one PTTL hit per sampled key");
    assert_eq!(after.1, before.1);

    let second = s.json(h.path(), &["cache", "stats", "--sample-ms", "300"]);
    for run in [&first, &second] {
        let w = &run["window"];
        assert!(w["window_ms"].as_u64().unwrap() >= 300, "{w}");
        assert_eq!(w["keyspace_hits"], 0, "{w}");
        assert_eq!(w["keyspace_misses"], 0, "{w}");
        assert_eq!(w["commands"], 0, "{w}");
        assert!(w["hit_ratio"].is_null(), "no lookups is no ratio: {w}");
        assert_eq!(w["ops_per_sec"], 0.0, "{w}");
    }
    // The earlier run's sampling shows only in the figure labelled lifetime.
    assert_eq!(second["totals"]["hit_ratio_lifetime"], 1.0);
    assert_eq!(second["totals"]["keyspace_hits"], 3000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_counts_exactly_the_applications_hits_and_misses() {
    let mut s = server(500).await;
    let layout = CacheLayout::default();
    let _: () = redis::cmd("SADD")
        .arg("tag:t1")
        .arg("t:1:user:1")
        .arg("t:1:user:21")
        .query_async(&mut s.app)
        .await
        .unwrap();
    let start = cache::stats(&s.redis, &layout).await.unwrap();
    assert_eq!(start.window, None, "one sample has no window");

    s.workload(30, 0).await;
    // opsdeck's own reads in the middle of the window: listing with sizes
    // (TYPE, PTTL per key), reading a value, and a whole stats sample.
    let opts = KeysOptions {
        pattern: None,
        limit: Some(200),
        sizes: true,
    };
    let listed = cache::keys(&s.redis, &opts, |_| Ok(())).await.unwrap();
    assert_eq!(listed.found, 200);
    cache::get(&s.redis, b"t:1:user:1").await.unwrap();
    assert!(cache::get(&s.redis, b"missing:x").await.is_err());
    cache::stats(&s.redis, &layout).await.unwrap();
    // Dry runs: a tag's SSCAN and EXISTS, a tenant's SCANs.
    let tag = cache::dry_run(&s.redis, &cache::Plan::tag(&layout, "t1"))
        .await
        .unwrap();
    assert_eq!(tag.matched, 2);
    let tenant = cache::Plan::tenant(&layout, "1", "1", None).unwrap();
    assert_eq!(cache::dry_run(&s.redis, &tenant).await.unwrap().matched, 25);
    s.workload(0, 10).await;

    let end = cache::stats_since(&s.redis, &layout, start.info_sample.as_ref())
        .await
        .unwrap();
    let w = end.window.expect("a window");
    assert_eq!((w.keyspace_hits, w.keyspace_misses), (30, 10), "{w:?}");
    assert_eq!(w.hit_ratio, Some(0.75));
    assert_eq!(w.commands, 40, "only the application's GETs: {w:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_judges_the_window_and_labels_the_lifetime_ratio() {
    let mut s = server(100).await;
    // A history of misses, as on a long-running shared server.
    s.workload(0, 5000).await;
    let h = home();
    let v = s.json(h.path(), &["overview", "--sample-ms", "300"]);
    let r = &v["redis"];
    assert_eq!(r["hit_ratio_lifetime"], 0.0, "{r}");
    assert_eq!(r["window"]["keyspace_misses"], 0, "{r}");
    assert_eq!(r["window"]["commands"], 0, "{r}");
    let fig = v["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "redis_hit")
        .unwrap()
        .clone();
    assert!(fig["value"].is_null(), "{fig}");
    assert_eq!(fig["level"], "unknown", "a lifetime ratio is not judged");
    assert_eq!(fig["display"], "no lookups (lifetime 0.0%)");

    let one = |ov: overview::RedisHealth| Overview {
        collected_at: chrono::Utc::now(),
        postgres: None,
        postgres_error: None,
        redis: Some(ov),
        redis_error: None,
    };
    let mut a = one(overview::redis(&s.redis).await.unwrap());
    let listed = cache::keys(&s.redis, &KeysOptions::default(), |_| Ok(()))
        .await
        .unwrap();
    assert_eq!(listed.found, 100);
    s.workload(9, 1).await;
    let mut b = one(overview::redis(&s.redis).await.unwrap());
    b.window_since(&a);
    let w = b.redis.as_ref().unwrap().window.clone().expect("a window");
    assert_eq!((w.keyspace_hits, w.keyspace_misses, w.commands), (9, 1, 10));
    let hit = b
        .figures(&Default::default())
        .into_iter()
        .find(|f| f.key == "redis_hit")
        .unwrap();
    assert_eq!(hit.value, Some(90.0));
    a.window_since(&b);
    assert_eq!(a.redis.unwrap().window, None, "backwards is no window");
}
