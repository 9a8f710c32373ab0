//! `opsdeck cache …` through the built binary: JSON on stdout, messages on
//! stderr, exit codes, safety refusals and audit records.

mod common;

use common::{home, opsdeck, TestDb};
use opsdeck::sandbox::RedisSandbox;
use serde_json::Value;

struct Fixture {
    sb: RedisSandbox,
    home: tempfile::TempDir,
    conn: redis::aio::MultiplexedConnection,
}

impl Fixture {
    async fn new() -> Fixture {
        let sb = RedisSandbox::start().await.expect("redis sandbox");
        let conn = redis::Client::open(sb.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        Fixture {
            sb,
            home: home(),
            conn,
        }
    }

    /// Runs opsdeck with this Redis; returns (exit code, stdout, stderr).
    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = opsdeck(self.home.path())
            .args(["--redis", &self.sb.url()])
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = vec!["--output", "json"];
        a.extend_from_slice(args);
        let (code, out, err) = self.run(&a);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }

    async fn fill(&mut self, keys: &[String]) {
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("SET").arg(k).arg("v").arg("EX").arg(600).ignore();
        }
        pipe.query_async::<()>(&mut self.conn).await.unwrap();
    }

    async fn dbsize(&mut self) -> u64 {
        redis::cmd("DBSIZE")
            .query_async(&mut self.conn)
            .await
            .unwrap()
    }

    fn audit(&self) -> Vec<Value> {
        match self.json(&["audit", "list"]) {
            Value::Array(a) => a,
            other => panic!("audit list: {other}"),
        }
    }
}

fn tenant_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for t in [1, 2, 12] {
        for i in 0..30 {
            keys.push(format!("t:{t}:user:{i}"));
        }
    }
    keys
}

#[tokio::test]
async fn keys_stream_as_json_csv_and_lines() {
    let mut f = Fixture::new().await;
    f.fill(&tenant_keys()).await;
    let v = f.json(&["cache", "keys", "--pattern", "t:2:*"]);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 30);
    assert!(arr
        .iter()
        .all(|e| e["key"].as_str().unwrap().starts_with("t:2:user:")));

    let v = f.json(&[
        "cache",
        "keys",
        "--pattern",
        "t:1:*",
        "--sizes",
        "--limit",
        "5",
    ]);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 5);
    assert_eq!(arr[0]["type"], "string");
    assert!(arr[0]["ttl_ms"].as_i64().unwrap() > 0);
    assert!(arr[0]["memory_bytes"].as_u64().unwrap() > 0);

    let (code, out, _) = f.run(&["cache", "keys", "--pattern", "t:12:*"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 30);
    let (code, out, _) = f.run(&[
        "--output",
        "csv",
        "cache",
        "keys",
        "--pattern",
        "t:12:*",
        "--sizes",
    ]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().next(), Some("key,type,ttl_ms,memory_bytes"));
    assert_eq!(out.lines().count(), 31);

    let v = f.json(&["cache", "keys", "--pattern", "none:*"]);
    assert_eq!(v, serde_json::json!([]));
}

#[tokio::test]
async fn get_stats_and_not_found() {
    let mut f = Fixture::new().await;
    f.fill(&tenant_keys()).await;
    let _: () = redis::cmd("SET")
        .arg("doc")
        .arg(r#"{"a":[1,2]}"#)
        .query_async(&mut f.conn)
        .await
        .unwrap();
    let v = f.json(&["cache", "get", "doc"]);
    assert_eq!(v["format"], "json");
    assert_eq!(v["value"]["a"][1], 2);
    assert_eq!(v["ttl_ms"], Value::Null);

    let (code, out, err) = f.run(&["cache", "get", "missing"]);
    assert_eq!(code, 1, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("does not exist"), "{err}");
    assert_eq!(err.trim().lines().count(), 1);

    let s = f.json(&["cache", "stats"]);
    assert_eq!(s["sample"]["sampled_keys"], 91);
    assert_eq!(s["sample"]["sample_size"], 10_000);
    assert_eq!(s["sample"]["keys_without_ttl"], 1);
    assert_eq!(s["sample"]["prefixes"][0]["prefix"], "t:*:user");
    assert_eq!(s["sample"]["prefixes"][0]["keys"], 90);
    assert_eq!(s["nodes"][0]["dbs"][0]["keys"], 91);
    let (code, out, _) = f.run(&["cache", "stats"]);
    assert_eq!(code, 0);
    assert!(out.contains("t:*:user"), "{out}");
}

#[tokio::test]
async fn invalidate_dry_run_then_real_run_is_audited() {
    let mut f = Fixture::new().await;
    f.fill(&tenant_keys()).await;
    let (code, out, err) = f.run(&[
        "--output",
        "json",
        "cache",
        "invalidate",
        "--tenant",
        "1",
        "--dry-run",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err.lines().collect::<Vec<_>>(),
        ["opsdeck: dry run: 30 keys would be deleted; nothing was changed"]
    );
    let dry: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dry["matched"], 30);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["pattern"], "t:1:*");
    assert_eq!(dry["sample"].as_array().unwrap().len(), 20);
    assert_eq!(f.dbsize().await, 90, "dry run deleted keys");

    // No terminal and no --yes: refused, nothing deleted.
    let (code, out, err) = f.run(&["cache", "invalidate", "--tenant", "1"]);
    assert_eq!(code, 3, "{err}");
    assert!(out.is_empty());
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(f.dbsize().await, 90);

    // Progress reaches stderr even when it is not a terminal.
    let (code, out, err) = f.run(&[
        "--output",
        "json",
        "cache",
        "invalidate",
        "--tenant",
        "1",
        "--yes",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("opsdeck: progress: deleted 30 keys"), "{err}");
    // Every narration line has the one prefix that errors have too.
    assert!(err.lines().all(|l| l.starts_with("opsdeck: ")), "{err}");
    assert!(err.ends_with("opsdeck: deleted 30 keys\n"), "{err}");
    let done: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(done["deleted"], 30);
    assert_eq!(done["cancelled"], false);
    assert_eq!(f.dbsize().await, 60);

    let audit = f.audit();
    let ok = audit
        .iter()
        .find(|e| e["action"] == "cache.invalidate" && e["outcome"] == "ok")
        .expect("audited");
    assert_eq!(ok["target"], "1");
    assert_eq!(ok["detail"]["deleted"], 30);
    assert_eq!(ok["params"]["pattern"], "t:1:*");
    assert!(audit
        .iter()
        .any(|e| e["action"] == "cache.invalidate" && e["outcome"] == "refused"));
}

#[tokio::test]
async fn read_only_refuses_with_exit_3_and_deletes_nothing() {
    let mut f = Fixture::new().await;
    f.fill(&tenant_keys()).await;
    for args in [
        vec![
            "--read-only",
            "cache",
            "invalidate",
            "--pattern",
            "t:*",
            "--yes",
        ],
        vec!["--read-only", "cache", "invalidate", "--tag", "x", "--yes"],
        vec!["--read-only", "cache", "del", "t:1:user:1", "--yes"],
    ] {
        let (code, out, err) = f.run(&args);
        assert_eq!(code, 3, "{args:?}: {err}");
        assert!(out.is_empty());
        assert!(err.contains("read-only"), "{err}");
    }
    assert_eq!(f.dbsize().await, 90);
    let audit = f.audit();
    assert_eq!(
        audit.iter().filter(|e| e["outcome"] == "refused").count(),
        3
    );
}

#[tokio::test]
async fn del_counts_and_tag_invalidation_removes_the_set() {
    let mut f = Fixture::new().await;
    f.fill(&tenant_keys()).await;
    let v = f.json(&["cache", "del", "t:1:user:1", "t:1:user:2", "nope", "--yes"]);
    assert_eq!(v, serde_json::json!({"requested": 3, "deleted": 2}));
    let audit = f.audit();
    assert_eq!(audit[0]["target"], "3 keys");
    assert_eq!(audit[0]["detail"]["deleted"], 2);

    let members: Vec<String> = (0..30).map(|i| format!("t:2:user:{i}")).collect();
    let _: () = redis::cmd("SADD")
        .arg("tag:plan:pro")
        .arg(&members)
        .query_async(&mut f.conn)
        .await
        .unwrap();
    let v = f.json(&["cache", "invalidate", "--tag", "plan:pro", "--yes"]);
    assert_eq!(v["deleted"], 30);
    assert_eq!(v["tag_set_deleted"], true);
    assert_eq!(f.dbsize().await, 88 - 30);
}

#[tokio::test]
async fn tenant_slug_resolves_through_postgres() {
    let mut f = Fixture::new().await;
    f.fill(&tenant_keys()).await;
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            // The default schema map's tenants columns: the resolver loads them all.
            "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE, name text,
                                   plan text, status text, created_at timestamptz);
             INSERT INTO tenants (id, slug, name, status)
             VALUES (12, 'acme', 'Acme Corp', 'active'), (2, 'globex', 'Globex', 'active');",
        )
        .await
        .unwrap();
    let out = opsdeck(f.home.path())
        .args(["--redis", &f.sb.url(), "--pg", &db.url, "--output", "json"])
        .args(["cache", "invalidate", "--tenant", "acme", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["tenant_id"], "12");
    assert_eq!(v["target"], "acme");
    assert_eq!(v["deleted"], 30);
    let left: Vec<String> = redis::cmd("KEYS")
        .arg("t:12:*")
        .query_async(&mut f.conn)
        .await
        .unwrap();
    assert!(left.is_empty());
    assert_eq!(f.dbsize().await, 60);

    let out = opsdeck(f.home.path())
        .args(["--redis", &f.sb.url(), "--pg", &db.url])
        .args(["cache", "invalidate", "--tenant", "nosuch", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenant"));
}

#[test]
fn usage_and_connection_errors() {
    let h = home();
    let out = opsdeck(h.path()).args(["cache", "stats"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--redis"));

    let out = opsdeck(h.path())
        .args(["--redis", "redis://127.0.0.1:1/0", "cache", "keys"])
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");

    let out = opsdeck(h.path())
        .args([
            "--redis",
            "redis://127.0.0.1:1/0",
            "cache",
            "invalidate",
            "--pattern",
            "a",
            "--tag",
            "b",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn ctrl_c_stops_between_batches_and_reports_what_was_deleted() {
    signal_stops_between_batches("INT", "interrupted", 130).await;
}

#[tokio::test]
async fn sigterm_stops_between_batches_and_reports_what_was_deleted() {
    signal_stops_between_batches("TERM", "terminated", 143).await;
}

#[tokio::test]
async fn sighup_stops_between_batches_and_reports_what_was_deleted() {
    signal_stops_between_batches("HUP", "hangup", 129).await;
}

/// A real invalidation of 300,000 keys, sent `signal` once deleting has
/// begun: it stops between batches, prints the partial result, says so on
/// stderr (naming the signal as `name`), audits it as cancelled with the
/// count, and exits 128 + the signal's number (`code`).
async fn signal_stops_between_batches(signal: &str, name: &str, code: i32) {
    let mut f = Fixture::new().await;
    const N: u64 = 300_000;
    let mut pipe = redis::pipe();
    for i in 0..N {
        pipe.cmd("SET").arg(format!("big:{i}")).arg("v").ignore();
        if i % 20_000 == 19_999 {
            pipe.query_async::<()>(&mut f.conn).await.unwrap();
            pipe = redis::pipe();
        }
    }
    pipe.query_async::<()>(&mut f.conn).await.unwrap();
    assert_eq!(f.dbsize().await, N);
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("opsdeck"));
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    let child = cmd
        .env("OPSDECK_HOME", f.home.path())
        .env("NO_COLOR", "1")
        .args(["--redis", &f.sb.url(), "--output", "json"])
        .args(["cache", "invalidate", "--pattern", "big:*", "--yes"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Signal once deleting has begun (the handler is in place by then).
    let started = std::time::Instant::now();
    while f.dbsize().await == N {
        assert!(started.elapsed().as_secs() < 30, "deletion never started");
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    send_signal(signal, child.id());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "SIG{signal}: {err}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cancelled"], true, "SIG{signal}");
    let deleted = v["deleted"].as_u64().unwrap();
    assert!(deleted > 0 && deleted < N, "SIG{signal}: {deleted}");
    assert_eq!(f.dbsize().await, N - deleted, "SIG{signal}");
    // stderr names the signal, says how far the run got and that it stopped.
    assert!(
        err.contains(&format!(
            "opsdeck: cancelled: {deleted} keys were deleted before stopping"
        )),
        "SIG{signal}: {err}"
    );
    assert!(
        err.contains(&format!("opsdeck: {name}: stopping the change")),
        "SIG{signal}: {err}"
    );
    assert!(
        err.contains(&format!("opsdeck: {name}: the change stopped")),
        "SIG{signal}: {err}"
    );
    let audit = f.audit();
    assert_eq!(audit[0]["detail"]["cancelled"], true, "SIG{signal}");
    assert_eq!(audit[0]["detail"]["deleted"], deleted, "SIG{signal}");
    assert_eq!(
        audit[0]["outcome"], "cancelled",
        "SIG{signal}: {}",
        audit[0]
    );
}

/// Sends `-SIGNAL` through the `kill` command (no unsafe code in tests).
fn send_signal(signal: &str, pid: u32) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{signal}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn keys_stop_quietly_when_the_reader_goes_away() {
    use std::io::BufRead;
    let mut f = Fixture::new().await;
    let keys: Vec<String> = (0..50_000).map(|i| format!("k:{i}")).collect();
    for chunk in keys.chunks(10_000) {
        f.fill(chunk).await;
    }
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("opsdeck"))
        .env("OPSDECK_HOME", f.home.path())
        .args(["--redis", &f.sb.url(), "cache", "keys"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut first).unwrap();
    assert!(first.starts_with("k:"), "{first}");
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
