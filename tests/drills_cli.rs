//! `opsdeck drill` as cron runs it: JSON on stdout, exit 1 for a failed
//! drill, 3 for a refused target, history in opsdeck.drills after `opsdeck
//! init`, the last drill in `opsdeck overview`; and SIGTERM mid-restore: exit 143, the audit end record, no
//! throwaway cluster left (directory or postgres process).

mod common;
mod drills_support;

use common::{home, kill, opsdeck, write_config, TestDb};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn config(home: &Path, url: &str, extra: &str) {
    write_config(
        home,
        &format!("default_context = \"d\"\n[contexts.d]\npg = \"{url}\"\n{extra}"),
    );
}

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {} / {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[tokio::test]
async fn cron_gets_json_exit_codes_and_a_history_in_the_database() {
    let src = TestDb::with(
        "CREATE TABLE plans (id serial PRIMARY KEY, name text NOT NULL);
         INSERT INTO plans (name) VALUES ('free'), ('pro');",
    )
    .await;
    let h = home();
    config(
        h.path(),
        &src.url,
        "[[contexts.d.drills.checks]]\nname = \"plans\"\nsql = \"SELECT count(*) FROM plans\"\nexpect = \"2\"\n",
    );
    opsdeck(h.path()).args(["init", "--yes"]).assert().success();
    let out = opsdeck(h.path())
        .args([
            "drill", "run", "--source", "fresh", "--yes", "--output", "json",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("proves the dump and restore procedure"),
        "{err}"
    );
    assert!(err.contains("drill: restore"), "progress per phase: {err}");
    let passed = json(&out);
    assert_eq!(passed["status"], "passed", "{passed:#}");
    for key in ["id", "source", "backup_taken_at", "rpo_ms", "rto_ms"] {
        assert!(!passed[key].is_null(), "{key}: {passed:#}");
    }
    let checks = passed["checks"].as_array().unwrap();
    assert!(checks.iter().all(|c| c["status"] == "ok"), "{passed:#}");
    assert!(checks.iter().any(|c| c["name"] == "check plans"));

    config(
        h.path(),
        &src.url,
        "[[contexts.d.drills.checks]]\nname = \"plans\"\nsql = \"SELECT count(*) FROM plans\"\nexpect = \"3\"\n",
    );
    let out = opsdeck(h.path())
        .args(["drill", "run", "--yes", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed drill exits 1");
    let failed = json(&out);
    assert_eq!(failed["status"], "failed");
    let bad: Vec<&Value> = failed["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert_eq!(bad.len(), 1, "{failed:#}");
    assert_eq!(bad[0]["detail"], "got 2, expected 3");

    let stored: i64 = src
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM opsdeck.drills WHERE report IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 2);
    let list = json(
        &opsdeck(h.path())
            .args(["drill", "list", "--output", "json"])
            .output()
            .unwrap(),
    );
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], failed["id"], "newest first");
    let id = passed["id"].as_i64().unwrap().to_string();
    let shown = json(
        &opsdeck(h.path())
            .args(["drill", "show", &id, "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(shown["checks"], passed["checks"]);
    let table = opsdeck(h.path())
        .args(["drill", "show", &id])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("check plans: got 2, expected 2"), "{text}");
    opsdeck(h.path())
        .args(["drill", "show", "999999"])
        .assert()
        .code(1);

    // The overview's last drill is the failed one: red (error), with its age.
    let ov = json(
        &opsdeck(h.path())
            .args(["overview", "--sample-ms", "0", "--output", "json"])
            .output()
            .unwrap(),
    );
    let fig = ov["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "last_drill")
        .unwrap_or_else(|| panic!("{ov:#}"))
        .clone();
    assert_eq!(fig["level"], "error", "{fig}");
    assert!(
        fig["display"].as_str().unwrap().starts_with("failed"),
        "{fig}"
    );
    assert_eq!(ov["last_drill"]["id"], failed["id"]);

    let out = opsdeck(h.path())
        .args(["drill", "run", "--yes", "--target", &src.url])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("is the source database"));
}

/// Directories of throwaway clusters opsdeck process `pid` made.
fn sandbox_dirs(pid: u32) -> Vec<String> {
    let root = std::env::temp_dir().join("opsdeck-sandbox");
    std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&format!("pg-{pid}-")))
        .collect()
}

/// Processes whose command line names one of opsdeck `pid`'s sandbox dirs.
fn postgres_of(pid: u32) -> Vec<String> {
    let needle = format!("opsdeck-sandbox/pg-{pid}-");
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&needle))
        .collect()
}

/// `opsdeck drill run --path ARCHIVE` started in the background, returned
/// once its stderr says the restore phase began.
fn mid_restore(home: &Path, archive: &Path) -> (std::process::Child, Vec<String>) {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("opsdeck"));
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .env("OPSDECK_HOME", home)
        .args(["drill", "run", "--yes", "--path"])
        .arg(archive)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let mut seen = Vec::new();
    loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("no restore progress: {seen:#?}"));
        seen.push(line.clone());
        if line.contains("drill: restore") {
            break;
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    (child, seen)
}

#[tokio::test]
async fn sigterm_mid_restore_exits_143_audits_and_leaves_no_cluster() {
    let src = TestDb::with(
        "CREATE TABLE events (id bigint PRIMARY KEY, tenant_id int NOT NULL, body text NOT NULL);
         INSERT INTO events SELECT g, g % 50, md5(g::text) || md5((g * 7)::text)
         FROM generate_series(1, 1500000) g;
         CREATE INDEX events_tenant ON events (tenant_id, id);",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let archive = drills_support::dump(&src.url, dir.path(), "big", &[]);
    let h = home();
    config(h.path(), &src.url, "");

    let started = Instant::now();
    let (mut child, seen) = mid_restore(h.path(), &archive);
    let pid = child.id();
    assert!(
        !postgres_of(pid).is_empty(),
        "the throwaway cluster runs mid-restore"
    );
    kill(pid, "TERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{seen:#?}");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(sandbox_dirs(pid).is_empty(), "{:?}", sandbox_dirs(pid));
    assert!(postgres_of(pid).is_empty(), "{:?}", postgres_of(pid));
    let audit = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    let recs: Vec<Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["action"] == "drill.run")
        .collect();
    assert_eq!(recs.len(), 2, "{audit}");
    assert_eq!(recs[1]["phase"], "end");
    assert_eq!(recs[1]["outcome"], "cancelled", "{}", recs[1]);
    assert_eq!(recs[1]["detail"]["phase"], "restore", "{}", recs[1]);

    // SIGKILL leaves the cluster behind; the next drill's start removes it.
    let (mut child, _) = mid_restore(h.path(), &archive);
    let killed = child.id();
    kill(killed, "KILL");
    child.wait().unwrap();
    assert_eq!(sandbox_dirs(killed).len(), 1, "left behind by SIGKILL");
    let small =
        TestDb::with("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);").await;
    let h2 = home();
    config(h2.path(), &small.url, "");
    let out = opsdeck(h2.path())
        .args(["drill", "run", "--source", "fresh", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        sandbox_dirs(killed).is_empty(),
        "{:?}",
        sandbox_dirs(killed)
    );
    assert!(postgres_of(killed).is_empty(), "{:?}", postgres_of(killed));
}

/// A server that checks passwords (scram) for the role `app` over TCP.
async fn password_server() -> opsdeck::sandbox::PgSandbox {
    use opsdeck::sandbox::{PgOptions, PgSandbox};
    let sb = PgSandbox::start(PgOptions::default()).await.unwrap();
    let c = sb.connect("postgres").await.unwrap();
    c.batch_execute("CREATE ROLE app LOGIN PASSWORD 'dr1ll-pw'")
        .await
        .unwrap();
    c.batch_execute("CREATE DATABASE appdb OWNER app")
        .await
        .unwrap();
    let app = sb.connect("appdb").await.unwrap();
    app.batch_execute(
        "SET ROLE app;
         CREATE TABLE plans (id serial PRIMARY KEY, name text NOT NULL);
         INSERT INTO plans (name) VALUES ('free'), ('pro');",
    )
    .await
    .unwrap();
    std::fs::write(
        sb.data_dir().join("pg_hba.conf"),
        "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
    )
    .unwrap();
    c.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    sb
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_dump_logs_in_with_the_password_opsdeck_resolved() {
    let sb = password_server().await;
    let h = home();
    let url = format!("postgres://app@127.0.0.1:{}/appdb", sb.port());
    // Without a password pg_dump cannot log in: the drill fails at its dump.
    config(h.path(), &url, "");
    let out = opsdeck(h.path())
        .env_remove("PGPASSWORD")
        .args(["drill", "run", "--source", "fresh", "--yes"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0), "no password, no dump");
    // With the password from password_command (not in the spec, not in the
    // environment) pg_dump gets it through its environment and the drill passes.
    config(h.path(), &url, "password_command = \"printf dr1ll-pw\"\n");
    let out = opsdeck(h.path())
        .env_remove("PGPASSWORD")
        .args([
            "drill", "run", "--source", "fresh", "--yes", "--output", "json",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let report = json(&out);
    assert_eq!(out.status.code(), Some(0), "{err}\n{report:#}");
    assert_eq!(report["status"], "passed");
    assert!(
        !err.contains("dr1ll-pw"),
        "the password is never printed: {err}"
    );
}

#[tokio::test]
async fn a_read_only_context_refuses_a_drill_and_records_nothing() {
    let src = TestDb::with("CREATE TABLE plans (id serial PRIMARY KEY);").await;
    let h = home();
    config(h.path(), &src.url, "read_only = true\n");
    let out = opsdeck(h.path())
        .args([
            "drill", "run", "--source", "fresh", "--yes", "--output", "json",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(err.contains("read-only"), "{err}");
    assert!(!err.contains("drill: restore"), "nothing ran: {err}");
    let list = json(
        &opsdeck(h.path())
            .args(["drill", "list", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(list.as_array().map(Vec::len), Some(0), "no history: {list}");
}
