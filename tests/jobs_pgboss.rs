//! Interop with the real pg-boss (version pinned in tests/jobs_npm.sh and
//! README.md): its worker fails a job; opsdeck lists it failed with its
//! error, groups it, retries it so the same worker completes it, discards
//! another the way pg-boss's deleteJob does, refuses writes read-only and
//! on a schema version it does not know, and audits what it did.

#[path = "jobs_support/cli.rs"]
mod cli;
mod common;
#[path = "jobs_support/npm.rs"]
mod npm;
#[path = "jobs_support/worker.rs"]
mod worker;

use cli::{run, wait_listed};
use common::{home, write_config, TestDb};
use serde_json::Value;
use std::time::{Duration, Instant};
use worker::Worker;

async fn db_state(db: &TestDb, id: &str) -> Option<String> {
    db.client()
        .await
        .query_opt(
            "SELECT state::text FROM pgboss.job WHERE id = $1::text::uuid",
            &[&id],
        )
        .await
        .expect("query pgboss.job")
        .map(|r| r.get(0))
}

#[tokio::test]
async fn a_real_pgboss_worker_fails_opsdeck_retries_it_completes() {
    let db = TestDb::new().await;
    let h = home();
    let flag = h.path().join("fail");
    std::fs::write(&flag, "").unwrap();
    let mut worker = Worker::start(
        "pgboss_worker.mjs",
        &[&db.url, "invoices", flag.to_str().unwrap()],
    );
    let id = worker.expect("sent");
    worker.expect_line("failed", &id);

    let job = wait_listed(h.path(), &db.url, "pgboss", &id, "failed");
    assert_eq!(job["source"], "pgboss");
    assert_eq!(job["queue"], "invoices");
    assert_eq!(job["error"], "payment gateway timeout for invoice 1234");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["max_attempts"], 1);
    assert!(job["failed_at"].is_string() && job["created_at"].is_string());

    // The detail carries the payload and pg-boss's stack.
    let (code, detail, err) = run(h.path(), &db.url, &["jobs", "show", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(detail["payload"]["tenant"]["id"], "t-42");
    assert!(detail["stack"]
        .as_str()
        .unwrap()
        .contains("pgboss_worker.mjs"));

    // One more failure of the same kind groups with the first.
    worker.send("send");
    let second = worker.expect("sent");
    worker.expect_line("failed", &second);
    wait_listed(h.path(), &db.url, "pgboss", &second, "failed");
    let (code, groups, err) = run(h.path(), &db.url, &["jobs", "errors"]);
    assert_eq!(code, 0, "{err}");
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(
        groups[0]["pattern"],
        "payment gateway timeout for invoice <n>"
    );
    assert_eq!(groups[0]["count"], 2);
    assert_eq!(groups[0]["queues"], serde_json::json!(["invoices"]));

    // The tenant's detail finds both at the configured payload path.
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE tenants (id text PRIMARY KEY, slug text UNIQUE, name text, plan text,
                                   status text, created_at timestamptz DEFAULT now());
             INSERT INTO tenants (id, slug, name, plan, status) VALUES ('t-42', 'acme', 'Acme', 'pro', 'active');",
        )
        .await
        .unwrap();
    write_config(
        h.path(),
        &format!(
            "[contexts.t]\npg = \"{}\"\n[contexts.t.jobs]\ntenant_path = \"tenant.id\"\n",
            db.url
        ),
    );
    let (code, tenant, err) = run(
        h.path(),
        &db.url,
        &["--context", "t", "tenants", "show", "acme"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(tenant["failed_jobs"]["source"], "pgboss");
    assert_eq!(tenant["failed_jobs"]["count"], 2);
    let recent: Vec<&str> = tenant["failed_jobs"]["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(
        recent.contains(&id.as_str()) && recent.contains(&second.as_str()),
        "{recent:?}"
    );

    // The queue's figures count both.
    let (_, queues, _) = run(h.path(), &db.url, &["jobs", "queues"]);
    let q = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "invoices")
        .expect("queue listed")
        .clone();
    assert_eq!(q["counts"]["failed"], 2);
    assert_eq!(q["failed_last_hour"], 2);

    // A bulk dry run counts and changes nothing.
    let (code, dry, err) = run(
        h.path(),
        &db.url,
        &[
            "jobs",
            "retry",
            "--all-failed",
            "--error-like",
            "GATEWAY",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(dry["matched"], 2);
    assert_eq!(dry["sample"].as_array().unwrap().len(), 2);
    assert_eq!(db_state(&db, &id).await.as_deref(), Some("failed"));

    // Read-only refuses with exit 3 and leaves the job failed.
    let (code, _, err) = run(
        h.path(),
        &db.url,
        &["--read-only", "--yes", "jobs", "retry", &id],
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(db_state(&db, &id).await.as_deref(), Some("failed"));

    // Retry: pg-boss's own retry state, then its worker completes the job.
    std::fs::remove_file(&flag).unwrap();
    let (code, done, err) = run(h.path(), &db.url, &["--yes", "jobs", "retry", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(done["done"], 1);
    worker.expect_line("completed", &id);
    let deadline = Instant::now() + Duration::from_secs(20);
    while db_state(&db, &id).await.as_deref() != Some("completed") {
        assert!(Instant::now() < deadline, "pg-boss never completed {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Discard: the failed job's row is deleted, as deleteJob does.
    let (code, done, err) = run(h.path(), &db.url, &["--yes", "jobs", "discard", &second]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(done["done"], 1);
    assert_eq!(db_state(&db, &second).await, None);
    let (code, _, _) = run(h.path(), &db.url, &["jobs", "show", &second]);
    assert_eq!(code, 1);

    // Both changes are audited with their ids.
    let (_, audit, _) = run(h.path(), &db.url, &["audit", "list"]);
    let ends: Vec<&Value> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "ok")
        .collect();
    let retry = ends
        .iter()
        .find(|r| r["action"] == "jobs.retry")
        .expect("retry audited");
    assert_eq!(retry["detail"]["ids"], serde_json::json!([id]));
    let discard = ends
        .iter()
        .find(|r| r["action"] == "jobs.discard")
        .expect("discard audited");
    assert_eq!(discard["detail"]["ids"], serde_json::json!([second]));
    drop(worker);

    // A schema version opsdeck has not been checked against: writes refused.
    db.client()
        .await
        .batch_execute("UPDATE pgboss.version SET version = 99")
        .await
        .unwrap();
    let (code, _, err) = run(
        h.path(),
        &db.url,
        &["--yes", "jobs", "retry", "--all-failed"],
    );
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("pg-boss schema version 99"), "{err}");
}
