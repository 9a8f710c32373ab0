//! `overview` and `doctor` through the real binary against real servers.
//! A test that asserts on figures or on the exit code they decide runs on
//! throwaway servers: the shared ones carry other clients' connections,
//! databases and cache misses.

mod common;

use common::{home, opsdeck, redis_url, TestDb};
use opsdeck::sandbox::{PgOptions, PgSandbox, RedisSandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_json_against_real_servers() {
    let (pg, redis) = tokio::join!(
        PgSandbox::start(PgOptions::default()),
        RedisSandbox::start()
    );
    let (pg, redis) = (pg.expect("pg sandbox"), redis.expect("redis sandbox"));
    let h = home();
    let out = opsdeck(h.path())
        .args([
            "--pg",
            &pg.url(),
            "--redis",
            &redis.url(),
            "overview",
            "--output",
            "json",
            "--sample-ms",
            "200",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pg = &v["postgres"];
    assert!(pg["max_connections"].as_i64().unwrap() > 0);
    assert!(pg["connections"].as_i64().unwrap() >= 1);
    assert!(pg["tps"].as_f64().is_some(), "two samples give TPS: {pg}");
    assert!(v["redis"]["used_memory_bytes"].as_u64().unwrap() > 0);
    assert!(v["redis"]["window"]["window_ms"].as_u64().unwrap() >= 200);
    let keys: Vec<&str> = v["figures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    for k in [
        "connections",
        "tps",
        "cache_hit",
        "replication_lag",
        "longest_transaction",
        "blocked_sessions",
        "redis_memory",
        "redis_hit",
        "redis_ops",
    ] {
        assert!(keys.contains(&k), "missing figure {k}: {keys:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_sees_a_long_transaction_and_a_blocked_session() {
    let db = TestDb::new().await;
    let a = db.client().await;
    let b = db.client().await;
    a.batch_execute("CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    a.batch_execute("BEGIN; UPDATE t SET id = 1 WHERE id = 1")
        .await
        .unwrap();
    let blocked =
        tokio::spawn(async move { b.execute("UPDATE t SET id = 1 WHERE id = 1", &[]).await });
    let watcher = db.client().await;
    for _ in 0..100 {
        let waiting: i64 = watcher
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", &[])
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let h = home();
    let out = opsdeck(h.path())
        .args([
            "--pg",
            &db.url,
            "overview",
            "--output",
            "json",
            "--sample-ms",
            "0",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["postgres"]["blocked_sessions"].as_i64().unwrap() >= 1,
        "{v}"
    );
    assert!(
        v["postgres"]["longest_transaction_ms"].as_f64().unwrap() >= 250.0,
        "{v}"
    );
    a.batch_execute("ROLLBACK").await.unwrap();
    let r = blocked.await.unwrap();
    assert!(r.is_ok(), "{r:?}");
}

#[test]
fn overview_unreachable_is_one_line_exit_4() {
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", "postgres://nobody@127.0.0.1:1/x", "overview"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim().lines().count(),
        1
    );
}

#[tokio::test]
async fn doctor_json_and_exit_codes() {
    let db = TestDb::new().await;
    let h = home();
    let out = opsdeck(h.path())
        .args([
            "--pg",
            &db.url,
            "--redis",
            &redis_url(),
            "doctor",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checks = v.as_array().unwrap();
    let status = |name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(status("postgres").as_deref(), Some("ok"));
    assert_eq!(status("redis").as_deref(), Some("ok"));
    assert_eq!(status("opsdeck_schema").as_deref(), Some("warn"));
    assert!(
        checks
            .iter()
            .all(|c| c["status"] == "ok" || !c["fix"].as_str().unwrap().is_empty()),
        "every warning has a fix"
    );

    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "--redis", "redis://127.0.0.1:1", "doctor"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a failed check exits 1");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.split_whitespace().take(2).eq(["redis", "fail"])),
        "{text}"
    );
}

#[tokio::test]
async fn doctor_checks_read_only_sessions() {
    let db = TestDb::new().await;
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "--read-only", "doctor", "--output", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ro = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "read_only")
        .unwrap();
    assert_eq!(ro["status"], "ok", "{ro}");
}

/// Checks from a `doctor --output json` run, by name.
fn doctor_checks(home: &std::path::Path, args: &[&str]) -> (Option<i32>, Vec<serde_json::Value>) {
    let out = opsdeck(home)
        .args(args)
        .args(["doctor", "--output", "json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    });
    (out.status.code(), v.as_array().unwrap().clone())
}

#[tokio::test]
async fn doctor_works_for_a_role_that_is_not_superuser() {
    let db = TestDb::new().await;
    let role = common::unique("opsdeck_plain");
    let admin = db.client().await;
    admin
        .batch_execute(&format!("CREATE ROLE \"{role}\" LOGIN"))
        .await
        .unwrap();
    let url = db.url.replacen("postgres@", &format!("{role}@"), 1);
    let h = home();
    let (code, checks) = doctor_checks(h.path(), &["--pg", &url]);
    admin
        .batch_execute(&format!("DROP ROLE \"{role}\""))
        .await
        .unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| c["status"] == "fail").collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(code, Some(0));
    for name in [
        "pg_stat_statements",
        "privileges",
        "session_limits",
        "tenancy",
    ] {
        assert!(
            checks.iter().any(|c| c["check"] == name),
            "{name} missing: {checks:?}"
        );
    }
}

#[tokio::test]
async fn doctor_tenancy_reads_quoted_schema_qualified_tenants_table() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA \"Odd Schema\";
             CREATE TABLE \"Odd Schema\".orgs (org_uuid uuid PRIMARY KEY, handle text, title text, state text);
             CREATE SCHEMA billing;
             CREATE TABLE billing.invoices (id bigint, org_id uuid NOT NULL);",
        )
        .await
        .unwrap();
    let h = home();
    let config = h.path().join("odd.toml");
    std::fs::write(
        &config,
        format!(
            r#"[contexts.odd]
pg = "{}"
[contexts.odd.schema]
app_schema = "billing"
tenants_table = '"Odd Schema".orgs'
tenant_column = "org_id"
"#,
            db.url
        ),
    )
    .unwrap();
    let (_, checks) = doctor_checks(h.path(), &["--config", config.to_str().unwrap()]);
    let tenancy = checks.iter().find(|c| c["check"] == "tenancy").unwrap();
    let detail = tenancy["detail"].as_str().unwrap();
    assert!(
        detail.contains("1 of 1 tables with org_id have row-level security off"),
        "{tenancy}"
    );
}
