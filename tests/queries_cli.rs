//! `opsdeck queries …` as a script sees it: JSON and CSV shapes, exit codes
//! (2 usage, 3 refused, 5 pg_stat_statements missing or not loaded), cancel
//! and terminate with and without --yes, explain, reset-stats; on a sandbox
//! cluster with pg_stat_statements preloaded, and on the machine's Postgres,
//! which does not preload it.

mod common;

use common::pg::{backend_pid as pid, client};

use common::{home, opsdeck, unique, TestDb};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use serde_json::Value;
use std::time::Duration;

fn json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_commands_on_a_sandbox() {
    let sb = PgSandbox::start(PgOptions::default())
        .await
        .expect("sandbox");
    let db = unique("qcli");
    let app = unique("app");
    sb.create_database(&db).await.unwrap();
    sb.connect(&db)
        .await
        .unwrap()
        .batch_execute(&format!(
            "CREATE ROLE {app} LOGIN; CREATE TABLE t (id int PRIMARY KEY, v text);
             INSERT INTO t SELECT g, 'x' FROM generate_series(1, 2000) g; ANALYZE t;
             GRANT ALL ON t TO {app};"
        ))
        .await
        .unwrap();
    let url = sb.url_for(&db);
    let as_app = |name: &str| {
        format!(
            "postgres://{app}@127.0.0.1:{}/{db}?application_name={name}",
            sb.port()
        )
    };
    let worker = client(&as_app("worker")).await;
    worker.batch_execute("SELECT pg_sleep(0.3)").await.unwrap();
    let h = home();
    let run = |args: &[&str]| {
        opsdeck(h.path())
            .args(["--pg", &url])
            .args(args)
            .output()
            .unwrap()
    };

    let out = run(&["queries", "slow", "--output", "json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v = json(&out);
    let first = &v[0];
    assert!(first["query"].as_str().unwrap().contains("pg_sleep"), "{v}");
    for field in [
        "queryid",
        "calls",
        "total_time_ms",
        "mean_time_ms",
        "max_time_ms",
        "rows",
        "share_pct",
    ] {
        assert!(first.get(field).is_some(), "{field}: {first}");
    }
    let out = run(&["queries", "slow", "--sort", "io", "--output", "csv"]);
    let csv = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        csv.starts_with("queryid,calls,total_ms,mean_ms,max_ms,rows,blks_read,share_pct,query\n"),
        "{csv}"
    );

    // A blocker, a waiter, and the tree as JSON.
    let blocker = client(&as_app("blocker")).await;
    let blocker_pid = pid(&blocker).await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE t IN EXCLUSIVE MODE")
        .await
        .unwrap();
    let waiter = client(&as_app("waiter")).await;
    let waiter_pid = pid(&waiter).await;
    let waiting = tokio::spawn(async move {
        waiter
            .batch_execute("UPDATE t SET v = 'y' WHERE id = 1")
            .await
    });
    let mut tree = Value::Null;
    for _ in 0..100 {
        tree = json(&run(&["queries", "locks", "--output", "json"]));
        if tree.as_array().unwrap().len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let w = tree
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["pid"] == waiter_pid)
        .unwrap_or_else(|| panic!("{tree}"));
    assert_eq!(w["blocked_by"], serde_json::json!([blocker_pid]), "{tree}");
    assert_eq!(w["waiting_mode"], "RowExclusiveLock", "{tree}");
    assert_eq!(w["depth"], 1);

    let active = json(&run(&["queries", "active", "--output", "json"]));
    let apps: Vec<&str> = active
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["application_name"].as_str().unwrap())
        .collect();
    assert!(
        apps.contains(&"blocker") && apps.contains(&"waiter"),
        "{apps:?}"
    );
    assert!(!apps.iter().any(|a| a.starts_with("opsdeck")), "{apps:?}");

    // Terminate without --yes and without a terminal: refused, nothing sent.
    let out = run(&["queries", "terminate", &blocker_pid.to_string()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(!blocker.is_closed());
    let out = run(&["--read-only", "queries", "cancel", &waiter_pid.to_string()]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("read-only"), "{}", stderr(&out));

    let out = run(&[
        "queries",
        "cancel",
        &waiter_pid.to_string(),
        "--yes",
        "--output",
        "json",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out)["signalled"], true);
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    let out = run(&["queries", "terminate", &blocker_pid.to_string(), "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for _ in 0..100 {
        if blocker.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(blocker.is_closed(), "terminated");
    let audit = json(&run(&["audit", "list", "--output", "json"]));
    let actions: Vec<String> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{} {}", e["action"], e["outcome"]))
        .collect();
    for want in [
        "\"queries.cancel\" \"ok\"",
        "\"queries.terminate\" \"ok\"",
        "\"queries.terminate\" \"refused\"",
    ] {
        assert!(actions.iter().any(|a| a == want), "{want}: {actions:?}");
    }
    let out = run(&["queries", "cancel", "99999999"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no session with pid"),
        "{}",
        stderr(&out)
    );

    let out = run(&["queries", "explain", "SELECT v FROM t WHERE id = $1"]);
    let plan = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        plan.contains("Index Scan using t_pkey on t") && plan.contains("<- hottest"),
        "{plan}"
    );
    let out = run(&["queries", "explain", "--analyze", "SELECT pg_sleep(5)"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let out = run(&[
        "queries",
        "explain",
        "--analyze",
        "--output",
        "json",
        "SELECT count(*) FROM t",
    ]);
    let e = json(&out);
    assert_eq!(e["analyzed"], true);
    assert!(e["nodes"][0]["actual_ms"].is_number(), "{e}");

    let out = run(&["queries", "reset-stats", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let after = json(&run(&["queries", "slow", "--output", "json"]));
    assert!(!after.to_string().contains("pg_sleep"), "{after}");
}

#[tokio::test]
async fn missing_or_unloaded_extension_names_the_fix() {
    let db = TestDb::new().await;
    let h = home();
    let run = |args: &[&str]| {
        opsdeck(h.path())
            .args(["--pg", &db.url])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["queries", "slow"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(
        e.contains("not installed")
            && e.contains("shared_preload_libraries")
            && e.contains("CREATE EXTENSION pg_stat_statements"),
        "{e}"
    );
    assert_eq!(e.lines().count(), 1, "{e}");
    // The machine's Postgres does not preload it: created, it still cannot be read.
    db.client()
        .await
        .batch_execute("CREATE EXTENSION pg_stat_statements")
        .await
        .unwrap();
    let out = run(&["queries", "slow"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    let e = stderr(&out);
    assert!(e.contains("not loaded") && e.contains("restart"), "{e}");
    let doctor = json(&run(&["doctor", "--output", "json"]));
    let check = doctor
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "queries_view")
        .unwrap_or_else(|| panic!("{doctor}"));
    assert_eq!(check["status"], "warn", "{check}");
    assert!(
        check["fix"]
            .as_str()
            .unwrap()
            .contains("shared_preload_libraries"),
        "{check}"
    );
    // Sessions and locks need no extension.
    assert!(run(&["queries", "active"]).status.success());
    assert!(run(&["queries", "locks"]).status.success());
}

#[test]
fn bad_arguments_are_usage_errors() {
    let h = home();
    for args in [
        vec!["queries", "slow", "--sort", "slowest"],
        vec!["queries", "cancel", "abc"],
        vec!["queries", "terminate"],
    ] {
        let out = opsdeck(h.path())
            .args(["--pg", "postgres://nobody@127.0.0.1:1/x"])
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().count(), 1, "{}", stderr(&out));
    }
}
