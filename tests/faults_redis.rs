//! Fault matrix, Redis: the server down at start for reads and changes, and
//! killed during `cache invalidate` (the audit end record says how many keys
//! were deleted before the loss).

mod common;
mod faults_support;

use common::home;
use faults_support::{local_records, no_start_without_end, one_error_line};
use opsdeck::sandbox::RedisSandbox;
use std::time::{Duration, Instant};

fn run(home: &std::path::Path, url: &str, args: &[&str]) -> (i32, String, String) {
    let out = common::opsdeck(home)
        .args(["--redis", url])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn conn(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn dbsize(c: &mut redis::aio::MultiplexedConnection) -> u64 {
    redis::cmd("DBSIZE").query_async(c).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_is_one_line_exit_4_and_changes_nothing() {
    let mut sb = RedisSandbox::start().await.unwrap();
    let url = sb.url();
    sb.kill();
    let h = home();
    for args in [
        &["cache", "stats"][..],
        &["cache", "keys", "--pattern", "t:*"],
        &["cache", "get", "t:1"],
        &["cache", "del", "t:1", "--yes"],
        &["cache", "invalidate", "--pattern", "t:*", "--yes"],
        &["cache", "invalidate", "--tag", "x", "--yes"],
    ] {
        let (code, out, err) = run(h.path(), &url, args);
        assert_eq!(code, 4, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        one_error_line(&err);
        assert!(err.contains(&format!("127.0.0.1:{}", sb.port())), "{err}");
    }
    no_start_without_end(h.path());
}

const N: u64 = 300_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_during_invalidate_audits_the_keys_deleted_before_the_loss() {
    let mut sb = RedisSandbox::start().await.unwrap();
    let mut c = conn(&sb.url()).await;
    let mut pipe = redis::pipe();
    for i in 0..N {
        pipe.cmd("SET").arg(format!("big:{i}")).arg("v").ignore();
        if i % 20_000 == 19_999 {
            pipe.query_async::<()>(&mut c).await.unwrap();
            pipe = redis::pipe();
        }
    }
    assert_eq!(dbsize(&mut c).await, N);
    let h = home();
    let child = common::spawn(
        h.path(),
        &[
            "--redis",
            &sb.url(),
            "--output",
            "json",
            "cache",
            "invalidate",
            "--pattern",
            "big:*",
            "--yes",
        ],
    );
    // Kill the server once a good part is gone.
    let started = Instant::now();
    let mut left = N;
    while left > N * 3 / 4 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "deletion never progressed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        left = dbsize(&mut c).await;
    }
    sb.kill();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(out.stdout.is_empty(), "no result printed as if complete");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with("opsdeck: error: cannot connect to redis"),
        "{err}"
    );
    assert!(
        last.contains("keys were deleted before"),
        "says how far it got: {err}"
    );

    let recs = local_records(h.path(), "cache.invalidate");
    assert_eq!(recs.len(), 2, "{recs:#?}");
    let end = &recs[1];
    assert_eq!(end["phase"], "end");
    assert_eq!(end["outcome"], "error", "{end}");
    let deleted = end["detail"]["done"]["deleted"].as_u64().expect("a count");
    // At least what was gone when last seen (less a batch in flight), and
    // never more than there were.
    assert!(
        deleted + 500 >= N - left && deleted < N,
        "{deleted} vs {left} left: {end}"
    );
    assert!(
        last.contains(&format!("{deleted} keys were deleted before")),
        "{err}"
    );
}
