//! Interop with the real BullMQ (bullmq + ioredis from npm, versions pinned
//! in tests/bullmq.sh and README.md) on a throwaway redis-server: a real
//! Worker fails a job, `opsdeck jobs list` shows it as failed with its
//! error, `opsdeck jobs retry` makes it runnable and the same worker (still
//! running) completes it; `opsdeck jobs discard` removes a job
//! so that `Queue.getJob` finds nothing and the library's counts agree.
//! Also: retry keeps BullMQ's paused / prioritized invariants, refuses
//! layouts it does not know, and the demo seed reads as BullMQ's own.

mod common;

use futures_util::TryStreamExt;
use opsdeck::conn::redis::{connect_url, Redis};
use opsdeck::jobs::bullmq::Bullmq;
use opsdeck::jobs::{Filter, JobSource, State};
use opsdeck::sandbox::seed::jobs_bullmq;
use opsdeck::sandbox::seed::Scale;
use opsdeck::sandbox::RedisSandbox;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::Duration;

const SUPPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jobs_support");

/// The cached install, made by tests/bullmq.sh when it is not there yet.
fn bullmq_modules() -> PathBuf {
    if let Ok(dir) = std::env::var("OPSDECK_TEST_BULLMQ") {
        return PathBuf::from(dir).join("node_modules");
    }
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bullmq.sh"))
        .output()
        .expect("bash runs tests/bullmq.sh");
    assert!(
        out.status.success(),
        "tests/bullmq.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let dir = text
        .trim()
        .strip_prefix("export OPSDECK_TEST_BULLMQ=")
        .expect("export line");
    PathBuf::from(dir).join("node_modules")
}

/// One queue under a prefix of its own on a sandboxed Redis.
struct Lib {
    url: String,
    prefix: String,
    queue: String,
}

impl Lib {
    fn node(&self, script: &str) -> Command {
        let mut c = Command::new("node");
        c.arg(format!("{SUPPORT}/{script}"))
            .env("NODE_PATH", bullmq_modules())
            .env("REDIS_URL", &self.url)
            .env("BULLMQ_PREFIX", &self.prefix)
            .env("BULLMQ_QUEUE", &self.queue);
        c
    }

    /// Runs one Queue API call through bullmq_client.mjs.
    fn call(&self, command: &str, arg: Value) -> Value {
        let out = self
            .node("bullmq_client.mjs")
            .arg(command)
            .arg(arg.to_string())
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "bullmq_client {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("one JSON line")
    }

    fn add(&self, name: &str, data: Value, opts: Value) -> String {
        let r = self.call("add", json!({"name": name, "data": data, "opts": opts}));
        r["id"].as_str().expect("job id").to_string()
    }

    fn worker(&self) -> Worker {
        let mut child = self
            .node("bullmq_worker.mjs")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("node runs the worker");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    let _ = tx.send(v);
                }
            }
        });
        let stdin = child.stdin.take();
        let w = Worker { child, stdin, rx };
        w.wait_for("ready", None);
        w
    }
}

/// A running bullmq_worker.mjs; closing its stdin stops it.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
}

impl Worker {
    /// The next event of this kind (for job `id` when given), within 20 s.
    fn wait_for(&self, event: &str, id: Option<&str>) -> Value {
        loop {
            let v = self
                .rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no '{event}' event for {id:?} within 20 s"));
            if v["event"] == event && id.is_none_or(|id| v["id"] == id) {
                return v;
            }
        }
    }

    /// Every (event, job id) of `want`, in whatever order the worker's
    /// concurrency delivers them, within 20 s each.
    fn wait_for_all(&self, want: &[(&str, &str)]) {
        let mut left = want.to_vec();
        while !left.is_empty() {
            let v = self
                .rx
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no events {left:?} within 20 s"));
            left.retain(|(event, id)| v["event"] != *event || v["id"] != *id);
        }
    }

    /// No event at all for `ms`.
    fn quiet_for(&self, ms: u64) -> Option<Value> {
        self.rx.recv_timeout(Duration::from_millis(ms)).ok()
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if let Some(mut s) = self.stdin.take() {
            let _ = s.flush();
        }
        let _ = self.child.wait();
    }
}

async fn setup(sb: &RedisSandbox, prefix: &str) -> (Lib, Redis, Bullmq) {
    let lib = Lib {
        url: sb.url(),
        prefix: prefix.to_string(),
        queue: "emails".into(),
    };
    let redis = connect_url(&sb.url(), None).await.expect("connect");
    let source = Bullmq::new(redis.clone(), prefix);
    (lib, redis, source)
}

fn ids(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

async fn failed(source: &Bullmq, error_like: Option<&str>) -> Vec<opsdeck::jobs::Job> {
    let filter = Filter {
        state: Some(State::Failed),
        error_like: error_like.map(str::to_string),
        ..Filter::default()
    };
    source.list(&filter).try_collect().await.expect("list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_worker_completes_what_opsdeck_retries_and_discard_removes_the_library_way() {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let (lib, _redis, source) = setup(&sb, "bull").await;
    let worker = lib.worker();
    let flaky = lib.add(
        "send",
        json!({"fail": "first", "error": "smtp timeout", "tenant_id": 7}),
        json!({}),
    );
    let doomed = lib.add(
        "send",
        json!({"fail": "always", "error": "bad address"}),
        json!({}),
    );
    worker.wait_for("failed", Some(&flaky));
    worker.wait_for("failed", Some(&doomed));

    assert_eq!(source.check_version().await.unwrap(), "bullmq:6.7.0");
    let home = common::home();
    let cli = |args: &[&str]| {
        let mut c = common::opsdeck(home.path());
        c.arg("--redis").arg(sb.url()).arg("jobs").args(args);
        c.output().expect("opsdeck runs")
    };
    let out = cli(&[
        "list", "--source", "bullmq", "--state", "failed", "--output", "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Vec<Value> = serde_json::from_slice(&out.stdout).expect("JSON array");
    assert_eq!(listed.len(), 2, "{listed:?}");
    let flaky_ref = format!("emails:{flaky}");
    let job = listed
        .iter()
        .find(|j| j["id"] == flaky_ref.as_str())
        .unwrap();
    assert_eq!(job["source"], "bullmq");
    assert_eq!(job["queue"], "emails");
    assert_eq!(job["state"], "failed");
    assert_eq!(job["error"], "smtp timeout (run 1)");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["max_attempts"], 1);
    assert!(job["failed_at"].is_string() && job["created_at"].is_string());
    assert!(job["payload"].is_null(), "lists leave the payload to show");
    let only = failed(&source, Some("SMTP")).await;
    assert_eq!(only.len(), 1);
    let shown = source
        .show(&flaky)
        .await
        .unwrap()
        .expect("bare id is unique");
    assert!(shown.stack.as_deref().unwrap().contains("smtp timeout"));
    assert_eq!(shown.payload.as_ref().unwrap()["tenant_id"], 7);
    assert_eq!(shown.history.len(), 1);

    let summary = source.queues().await.unwrap();
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].counts.failed, 2);
    assert_eq!(summary[0].failed_last_hour, 2);

    // Retry: the running worker picks it up and completes it.
    let out = cli(&["retry", &flaky_ref, "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = worker.wait_for("completed", Some(&flaky));
    assert_eq!(done["attemptsMade"], 1, "attempts were reset by the retry");
    let after = lib.call("job", json!({"id": flaky}));
    assert_eq!(after["state"], "completed");
    assert_eq!(after["returnvalue"]["ok"], flaky);
    assert!(after["failedReason"].is_null() || after["failedReason"] == "");

    // A job that is not failed any more is skipped, with the reason.
    let out = cli(&["retry", &flaky_ref, "--yes"]);
    assert_eq!(out.status.code(), Some(1), "a job left alone exits 1");
    let again = source.retry(&ids(&[&flaky_ref])).await.unwrap();
    assert!(again.done.is_empty());
    assert_eq!(again.skipped[0].1, "not in the failed state");

    // Discard: gone for the library, counts agree.
    let out = cli(&["discard", &format!("emails:{doomed}"), "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lib.call("job", json!({"id": doomed})), Value::Null);
    let counts = lib.call("counts", json!({}));
    assert_eq!(counts["failed"], 0);
    assert_eq!(counts["completed"], 1);
    let ours = &source.queues().await.unwrap()[0].counts;
    assert_eq!((ours.failed, ours.completed), (0, 1));
    assert!(
        worker.quiet_for(300).is_none(),
        "the discarded job never ran again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_keeps_paused_and_prioritized_invariants_and_the_worker_resumes() {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let (lib, _redis, source) = setup(&sb, "{app}").await;
    let worker = lib.worker();
    let plain = lib.add("a", json!({"fail": "first"}), json!({}));
    let urgent = lib.add("b", json!({"fail": "first"}), json!({"priority": 3}));
    worker.wait_for("failed", Some(&plain));
    worker.wait_for("failed", Some(&urgent));
    lib.call("pause", json!({}));

    let report = source
        .retry(&ids(&[
            &format!("emails:{plain}"),
            &format!("emails:{urgent}"),
        ]))
        .await
        .unwrap();
    assert_eq!(report.done.len(), 2);
    // Paused: nothing runs, and the library sees each job where its own
    // retry would have put it.
    assert!(worker.quiet_for(500).is_none(), "a paused queue ran a job");
    assert_eq!(
        lib.call("job", json!({"id": urgent}))["state"],
        "prioritized"
    );
    let plain_state = lib.call("job", json!({"id": plain}))["state"].clone();
    assert!(
        plain_state == "waiting" || plain_state == "paused",
        "{plain_state}"
    );
    let waiting: Vec<_> = source
        .list(&Filter {
            state: Some(State::Waiting),
            ..Filter::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(waiting.len(), 2);

    lib.call("resume", json!({}));
    worker.wait_for("completed", None);
    worker.wait_for("completed", None);
    let counts = lib.call("counts", json!({}));
    assert_eq!(counts["completed"], 2, "{counts}");
    assert_eq!(counts["failed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_refuse_layouts_opsdeck_does_not_know() {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let (_lib, redis, source) = setup(&sb, "bull").await;
    let mut c = redis.routed();
    jobs_bullmq::write_failed(
        &mut c,
        "bull",
        "old",
        3,
        chrono::Utc::now().timestamp_millis(),
    )
    .await
    .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("bull:old:meta")
        .arg("version")
        .arg("bullmq:4.17.0")
        .query_async(&mut c)
        .await
        .unwrap();
    let err = source.check_version().await.unwrap_err();
    assert!(err.to_string().contains("bullmq:4.17.0"), "{err}");
    let err = source.retry(&ids(&["old:1"])).await.unwrap_err();
    assert_eq!(err.exit_code(), opsdeck::error::ExitCode::Refused);
    let err = source.discard(&ids(&["old:2"])).await.unwrap_err();
    assert!(err.to_string().contains("BullMQ 5 and 6"), "{err}");
    // Nothing moved.
    let n: i64 = redis::cmd("ZCARD")
        .arg("bull:old:failed")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(n, 3);
    let unknown = source.retry(&ids(&["nosuch:1"])).await.unwrap();
    assert_eq!(unknown.skipped.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seed_reads_as_bullmq_s_own_and_lists_page_by_page() {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let report = opsdeck::sandbox::seed::seed_bullmq(&sb.url(), Scale::Small)
        .await
        .unwrap();
    let (lib, _redis, source) = setup(&sb, "bull").await;
    let counts = lib.call("counts", json!({}));
    assert_eq!(counts["failed"], 120, "{counts}");
    assert_eq!(counts["waiting"], 48);
    assert_eq!(counts["delayed"], 16);
    assert_eq!(counts["completed"], 800);
    let summaries = source.queues().await.unwrap();
    let emails = summaries.iter().find(|s| s.queue == "emails").unwrap();
    assert_eq!(emails.counts.failed, counts["failed"].as_i64().unwrap());
    assert_eq!(emails.counts.waiting, counts["waiting"].as_i64().unwrap());
    assert_eq!(emails.counts.scheduled, counts["delayed"].as_i64().unwrap());
    assert_eq!(
        emails.counts.completed,
        counts["completed"].as_i64().unwrap()
    );
    assert!(emails.oldest_waiting_ms.is_some());
    assert_eq!(summaries.len(), report.queues);

    // The library reads a seeded failed job as its own.
    let failed_jobs = failed(&source, None).await;
    assert_eq!(failed_jobs.len() as u64, report.failed);
    let one = &failed_jobs[0];
    let bare = one.id.split_once(':').unwrap().1;
    let lib_q = Lib {
        queue: one.queue.clone(),
        ..lib
    };
    let theirs = lib_q.call("job", json!({"id": bare}));
    assert_eq!(theirs["state"], "failed");
    assert_eq!(theirs["failedReason"].as_str(), one.error.as_deref());
    assert_eq!(theirs["attemptsMade"], one.attempts);
    assert_eq!(theirs["stacktrace"].as_array().unwrap().len(), 3);

    // Pages: a limit stops the stream, a cursor resumes after the last job
    // without repeats or gaps, over more than one page of the emails queue.
    let all: Vec<String> = source
        .list(&Filter {
            queue: Some("emails".into()),
            ..Filter::default()
        })
        .map_ok(|j| j.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 984);
    let mut resumed: Vec<String> = Vec::new();
    let mut after = None;
    loop {
        let page: Vec<String> = source
            .list(&Filter {
                queue: Some("emails".into()),
                limit: Some(300),
                after: after.clone(),
                ..Filter::default()
            })
            .map_ok(|j| j.id)
            .try_collect()
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().cloned();
        resumed.extend(page);
    }
    assert_eq!(resumed, all);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_cluster_a_tagged_prefix_is_written_atomically_and_an_untagged_one_refused() {
    let sb = opsdeck::sandbox::RedisClusterSandbox::start(3)
        .await
        .expect("cluster sandbox");
    let redis = connect_url(&sb.seed_url(), None).await.unwrap();
    assert!(redis.is_cluster());
    let now = chrono::Utc::now().timestamp_millis();
    let mut c = redis.routed();
    jobs_bullmq::write_failed(&mut c, "{bull}", "emails", 40, now)
        .await
        .unwrap();
    // Untagged keys land in many slots: one command at a time, as no
    // pipeline may cross slots.
    let _: () = redis::cmd("HSET")
        .arg("bull:emails:meta")
        .arg("version")
        .arg(jobs_bullmq::VERSION)
        .query_async(&mut c)
        .await
        .unwrap();
    for id in 1..=40 {
        let _: () = redis::cmd("HSET")
            .arg(format!("bull:emails:{id}"))
            .arg("name")
            .arg("send")
            .arg("opts")
            .arg("{}")
            .arg("timestamp")
            .arg(now)
            .arg("failedReason")
            .arg("boom")
            .query_async(&mut c)
            .await
            .unwrap();
        let _: () = redis::cmd("ZADD")
            .arg("bull:emails:failed")
            .arg(now + id)
            .arg(id)
            .query_async(&mut c)
            .await
            .unwrap();
    }

    let tagged = Bullmq::new(redis.clone(), "{bull}");
    assert_eq!(failed(&tagged, None).await.len(), 40);
    let all: Vec<String> = (1..=40).map(|i| format!("emails:{i}")).collect();
    let report = tagged.retry(&all[..30]).await.unwrap();
    assert_eq!(report.done.len(), 30);
    let report = tagged.discard(&all[30..]).await.unwrap();
    assert_eq!(report.done.len(), 10);
    let (waiting, left): (i64, i64) = redis::pipe()
        .cmd("LLEN")
        .arg("{bull}:emails:wait")
        .cmd("ZCARD")
        .arg("{bull}:emails:failed")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!((waiting, left), (30, 0));

    // Untagged: readable (discovered on every master), never half-written.
    let plain = Bullmq::new(redis.clone(), "bull");
    assert_eq!(failed(&plain, None).await.len(), 40);
    let err = plain.retry(&all[..1]).await.unwrap_err();
    assert_eq!(err.exit_code(), opsdeck::error::ExitCode::Refused);
    assert!(err.to_string().contains("hash-tagged prefix"), "{err}");
    let left: i64 = redis::cmd("ZCARD")
        .arg("bull:emails:failed")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(left, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flow_children_retried_or_discarded_release_their_parent_as_bullmq_does() {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let (lib, _redis, source) = setup(&sb, "bull").await;
    let worker = lib.worker();
    let flow = lib.call(
        "flow",
        json!({"children": [{"fail": "first"}, {"fail": "always"}]}),
    );
    let parent = flow["parent"].as_str().unwrap().to_string();
    let flaky = flow["children"][0].as_str().unwrap().to_string();
    let doomed = flow["children"][1].as_str().unwrap().to_string();
    worker.wait_for("failed", Some(&flaky));
    worker.wait_for("failed", Some(&doomed));
    assert_eq!(
        lib.call("job", json!({"id": parent}))["state"],
        "waiting-children"
    );

    // The retried child completes; the parent still waits for the other.
    let report = source
        .retry(&ids(&[&format!("emails:{flaky}")]))
        .await
        .unwrap();
    assert_eq!(report.done.len(), 1);
    worker.wait_for("completed", Some(&flaky));
    assert_eq!(
        lib.call("job", json!({"id": parent}))["state"],
        "waiting-children"
    );

    // Discarding the last pending child lets the parent run, as
    // Job.remove does.
    let report = source
        .discard(&ids(&[&format!("emails:{doomed}")]))
        .await
        .unwrap();
    assert_eq!(report.done.len(), 1);
    worker.wait_for("completed", Some(&parent));
    assert_eq!(lib.call("job", json!({"id": doomed})), Value::Null);
    assert_eq!(lib.call("job", json!({"id": parent}))["state"], "completed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyset_pages_hold_over_ties_and_jobs_leaving_the_set_mid_list() {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let (_lib, redis, source) = setup(&sb, "bull").await;
    let mut c = redis.routed();
    let now = chrono::Utc::now().timestamp_millis();
    jobs_bullmq::write_failed(&mut c, "bull", "bulk", 2500, now)
        .await
        .unwrap();
    // A burst that failed in one millisecond: newest first, ids 1300..1700
    // sit at positions 800..1200, across the first page boundary.
    let tied: String = redis::cmd("ZSCORE")
        .arg("bull:bulk:failed")
        .arg(1500)
        .query_async(&mut c)
        .await
        .unwrap();
    for id in 1300..1700 {
        let _: () = redis::cmd("ZADD")
            .arg("bull:bulk:failed")
            .arg(&tied)
            .arg(id)
            .query_async(&mut c)
            .await
            .unwrap();
    }
    let all: Vec<String> = source
        .list(&Filter::default())
        .map_ok(|j| j.id)
        .try_collect()
        .await
        .unwrap();
    let unique: std::collections::BTreeSet<&String> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (2500, 2500));
    let mut resumed = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page: Vec<String> = source
            .list(&Filter {
                limit: Some(700),
                after: after.clone(),
                ..Filter::default()
            })
            .map_ok(|j| j.id)
            .try_collect()
            .await
            .unwrap();
        let Some(last) = page.last().cloned() else {
            break;
        };
        after = Some(last);
        resumed.extend(page);
    }
    assert_eq!(resumed, all);

    // What the bulk executor does: retry each batch while the list goes on.
    let failed_only = Filter {
        state: Some(State::Failed),
        ..Filter::default()
    };
    let mut jobs = source.list(&failed_only);
    let mut batch = Vec::new();
    let mut retried = 0;
    while let Some(j) = jobs.try_next().await.unwrap() {
        batch.push(j.id);
        if batch.len() == 1000 {
            retried += source
                .retry(&std::mem::take(&mut batch))
                .await
                .unwrap()
                .done
                .len();
        }
    }
    retried += source.retry(&batch).await.unwrap().done.len();
    assert_eq!(retried, 2500);
    let (failed, waiting): (i64, i64) = redis::pipe()
        .cmd("ZCARD")
        .arg("bull:bulk:failed")
        .cmd("LLEN")
        .arg("bull:bulk:wait")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!((failed, waiting), (0, 2500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_failed_is_swept_in_redis_the_real_worker_runs_it_and_discard_empties_the_set() {
    let sb = RedisSandbox::start().await.expect("redis sandbox");
    let (lib, redis, source) = setup(&sb, "bull").await;
    let worker = lib.worker();
    let flaky: Vec<String> = (0..3)
        .map(|i| {
            lib.add(
                "send",
                json!({"fail": "first", "error": format!("smtp timeout {i}")}),
                json!({}),
            )
        })
        .collect();
    let doomed = lib.add(
        "send",
        json!({"fail": "always", "error": "bad address"}),
        json!({}),
    );
    let all: Vec<(&str, &str)> = flaky
        .iter()
        .chain([&doomed])
        .map(|id| ("failed", id.as_str()))
        .collect();
    worker.wait_for_all(&all);
    // A member of `failed` whose hash is gone: a sweep must step over it,
    // not pick it again on every call.
    let _: i64 = redis::cmd("ZADD")
        .arg("bull:emails:failed")
        .arg(1)
        .arg("ghost")
        .query_async(&mut redis.routed())
        .await
        .unwrap();

    let home = common::home();
    let cli = |args: &[&str]| {
        let mut c = common::opsdeck(home.path());
        c.arg("--redis")
            .arg(sb.url())
            .arg("--output")
            .arg("json")
            .arg("jobs")
            .args(args);
        c.output().expect("opsdeck runs")
    };
    let out = cli(&["retry", "--all-failed", "--queue", "emails", "--yes"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the ghost is left alone: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let outcome: Value = serde_json::from_slice(&out.stdout).expect("JSON outcome");
    assert_eq!(outcome["done"], 4, "{outcome}");
    assert_eq!(outcome["skipped"], 1, "{outcome}");
    let mut after: Vec<(&str, &str)> = flaky.iter().map(|id| ("completed", id.as_str())).collect();
    after.push(("failed", &doomed));
    worker.wait_for_all(&after);
    let counts = lib.call("counts", json!({}));
    assert_eq!(counts["completed"], 3, "{counts}");

    let out = cli(&["discard", "--all-failed", "--yes"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lib.call("job", json!({"id": doomed})), Value::Null);
    let counts = lib.call("counts", json!({}));
    assert_eq!(counts["failed"], 0, "{counts}");
    let left: Vec<_> = source.list(&Filter::default()).try_collect().await.unwrap();
    assert_eq!(left.len(), 3, "the completed jobs remain: {left:?}");
}
