//! No start without an end: a tenant change interrupted while its hook runs
//! (SIGINT, SIGTERM or SIGHUP to the CLI; Esc or SIGTERM in the console) is
//! cancelled on the server and rolled back, the tenant is unchanged, and the
//! audit holds a start and an end record saying so. A run dropped without
//! finishing (its task aborted) still gets an `aborted` end record.

mod common;

use common::pty::Tui;
use common::{home, kill, write_config, TestDb};
use opsdeck::audit::{Actor, Audit};
use opsdeck::safety::{Approval, Intent, Mutation, Risk, Safety};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A hook that runs until cancelled: the interruption lands inside it.
const SLOW_HOOK: &str = "SELECT pg_sleep(60)";

const SCHEMA: &str = r#"
CREATE SCHEMA billing;
CREATE TABLE billing.orgs (org_id bigint PRIMARY KEY, handle text UNIQUE NOT NULL,
    title text, state text NOT NULL);
INSERT INTO billing.orgs VALUES (7, 'o''brien-ünï', 'O''Brien & Søn', 'on'),
                                (8, 'other', 'Other', 'on');
"#;

/// A database of its own with the orgs table, `opsdeck init` run on it, and
/// a context `b` mapping the orgs table with the slow suspend hook.
async fn system(home: &Path) -> TestDb {
    let db = TestDb::new().await;
    db.client().await.batch_execute(SCHEMA).await.unwrap();
    write_config(
        home,
        &format!(
            r#"default_context = "b"
[tui]
refresh_secs = 60
[contexts.b]
pg = "{}"
[contexts.b.schema]
app_schema = "billing"
tenants_table = "orgs"
tenant_id = "org_id"
tenant_slug = "handle"
tenant_name = "title"
tenant_plan = ""
tenant_status = "state"
tenant_created_at = ""
status_active = "on"
status_suspended = "paused"
suspend_hooks = ["{SLOW_HOOK}"]
"#,
            db.url
        ),
    );
    common::opsdeck(home)
        .args(["init", "--yes"])
        .assert()
        .success();
    db
}

async fn state_of(db: &TestDb, id: i64) -> String {
    db.client()
        .await
        .query_one("SELECT state FROM billing.orgs WHERE org_id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

/// Waits until the hook is running on the server, so the signal lands in it.
async fn wait_for_hook(db: &TestDb) {
    let c = db.client().await;
    let start = Instant::now();
    loop {
        let n: i64 = c
            .query_one(
                "SELECT count(*) FROM pg_stat_activity
                 WHERE datname = current_database() AND state = 'active' AND query = $1",
                &[&SLOW_HOOK],
            )
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the hook never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the hook still runs on the server.
async fn hook_running(db: &TestDb) -> bool {
    let n: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query = $1",
            &[&SLOW_HOOK],
        )
        .await
        .unwrap()
        .get(0);
    n > 0
}

/// The local audit records of `action`, oldest first.
fn local_records(home: &Path, action: &str) -> Vec<Value> {
    std::fs::read_to_string(home.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["action"] == action)
        .collect()
}

/// The database copy's (phase, outcome) of `action`, oldest first.
async fn db_records(db: &TestDb, action: &str) -> Vec<(String, Option<String>)> {
    db.client()
        .await
        .query(
            "SELECT phase, outcome FROM opsdeck.audit WHERE action = $1 ORDER BY id",
            &[&action],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

/// One start and one end record for the same operation, the end `cancelled`
/// and saying the change was rolled back; the same pair in opsdeck.audit.
async fn assert_cancelled_and_rolled_back(home: &Path, db: &TestDb) {
    let recs = local_records(home, "tenants.suspend");
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[0]["phase"], "start");
    assert_eq!(recs[1]["phase"], "end");
    assert_eq!(recs[0]["op_id"], recs[1]["op_id"]);
    assert_eq!(recs[1]["outcome"], "cancelled", "{}", recs[1]);
    assert_eq!(recs[1]["detail"]["changed"], false, "{}", recs[1]);
    assert_eq!(recs[1]["detail"]["rolled_back"], true, "{}", recs[1]);
    assert_eq!(
        db_records(db, "tenants.suspend").await,
        vec![
            ("start".to_string(), None),
            ("end".to_string(), Some("cancelled".to_string()))
        ]
    );
}

fn suspend_in_background(home: &Path, tenant: &str) -> Child {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("opsdeck"));
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.env("OPSDECK_HOME", home)
        .args(["tenants", "suspend", tenant, "--yes"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

async fn cli_signal_during_the_hook(sig: &str, code: i32) {
    let h = home();
    let db = system(h.path()).await;
    let child = suspend_in_background(h.path(), "o'brien-ünï");
    wait_for_hook(&db).await;
    kill(child.id(), sig);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "SIG{sig}: {err}");
    assert!(err.contains("audit list"), "says where to look: {err}");
    assert_eq!(state_of(&db, 7).await, "on", "rolled back, not half done");
    assert!(
        !hook_running(&db).await,
        "the hook was cancelled on the server"
    );
    assert_cancelled_and_rolled_back(h.path(), &db).await;
}

#[tokio::test]
async fn sigterm_to_the_cli_during_a_slow_hook_rolls_back_and_audits() {
    cli_signal_during_the_hook("TERM", 143).await;
}

#[tokio::test]
async fn sigint_to_the_cli_during_a_slow_hook_rolls_back_and_audits() {
    cli_signal_during_the_hook("INT", 130).await;
}

#[tokio::test]
async fn sighup_to_the_cli_during_a_slow_hook_rolls_back_and_audits() {
    cli_signal_during_the_hook("HUP", 129).await;
}

/// Opens `:tenants`, selects the first tenant (org 7) and confirms suspend.
async fn console_suspending(home: &Path, db: &TestDb) -> Tui {
    let mut tui = Tui::spawn(home, &["--no-color"]);
    tui.wait_for("the overview", |s| s.contains("overview"));
    tui.send(":tenants\r");
    tui.wait_for("the tenants list", |s| s.contains("Other"));
    tui.send("s");
    tui.wait_for("the confirm popup", |s| s.contains("confirm"));
    tui.send("y");
    wait_for_hook(db).await;
    tui
}

#[tokio::test]
async fn esc_in_the_console_during_a_slow_hook_rolls_back_and_audits() {
    let h = home();
    let db = system(h.path()).await;
    let mut tui = console_suspending(h.path(), &db).await;
    tui.send("\x1b");
    tui.wait_for("the cancellation in the status line", |s| {
        s.contains("cancelled")
    });
    let start = Instant::now();
    while hook_running(&db).await {
        assert!(start.elapsed() < Duration::from_secs(10), "hook still runs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state_of(&db, 7).await, "on");
    tui.send("q");
    let (out, code, _) = tui.finish();
    assert_eq!(code, 0, "{out:?}");
    assert_cancelled_and_rolled_back(h.path(), &db).await;
}

#[tokio::test]
async fn sigterm_to_the_console_during_a_slow_hook_rolls_back_and_audits() {
    let h = home();
    let db = system(h.path()).await;
    let mut tui = console_suspending(h.path(), &db).await;
    kill(tui.opsdeck_pid() as u32, "TERM");
    let (out, code, _) = tui.finish();
    assert_eq!(code, 143, "{out:?}");
    assert_eq!(state_of(&db, 7).await, "on");
    assert!(!hook_running(&db).await);
    assert_cancelled_and_rolled_back(h.path(), &db).await;
}

/// A plan for the safety layer alone.
struct Probe(Intent);

impl Mutation for Probe {
    fn intent(&self) -> &Intent {
        &self.0
    }
}

#[tokio::test]
async fn a_run_dropped_midway_gets_an_aborted_end_record_with_what_was_done() {
    let h = home();
    let file = h.path().join("audit.jsonl");
    let audit = Audit::new(file.clone(), None, Actor::current(None), "probe".into());
    let approved = Safety::new(false, audit)
        .authorize(
            Probe(Intent::new(
                "cache.invalidate",
                "t:*",
                Risk::Destructive,
                "x",
            )),
            Approval::AssumeYes,
        )
        .await
        .unwrap();
    let task = tokio::spawn(approved.run(
        |_, done| async move {
            done.set(serde_json::json!({"deleted": 500}));
            std::future::pending::<opsdeck::Result<()>>().await
        },
        |_| Value::Null,
    ));
    tokio::time::sleep(Duration::from_millis(100)).await;
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    let recs: Vec<Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[1]["phase"], "end");
    assert_eq!(recs[1]["outcome"], "aborted");
    assert_eq!(recs[1]["detail"]["deleted"], 500);
}
