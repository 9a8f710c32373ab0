//! Interop with the real graphile-worker (version pinned in
//! tests/jobs_npm.sh and README.md): its worker fails a job for good;
//! opsdeck lists it failed with its error, retries it through
//! `reschedule_jobs` so the same worker completes it (and deletes it, as
//! graphile-worker does with completed jobs), discards another through its
//! admin functions, and refuses writes on a migration level it does not know.

#[path = "jobs_support/cli.rs"]
mod cli;
mod common;
#[path = "jobs_support/npm.rs"]
mod npm;
#[path = "jobs_support/worker.rs"]
mod worker;

use cli::{run, wait_listed};
use common::{home, TestDb};
use std::time::{Duration, Instant};
use worker::Worker;

async fn row(db: &TestDb, id: &str) -> Option<(i16, i16)> {
    db.client()
        .await
        .query_opt(
            "SELECT attempts, max_attempts FROM graphile_worker._private_jobs WHERE id = $1::text::bigint",
            &[&id],
        )
        .await
        .expect("query _private_jobs")
        .map(|r| (r.get(0), r.get(1)))
}

#[tokio::test]
async fn a_real_graphile_worker_fails_opsdeck_retries_it_completes() {
    let db = TestDb::new().await;
    let h = home();
    let flag = h.path().join("fail");
    std::fs::write(&flag, "").unwrap();
    let mut worker = Worker::start(
        "graphile_worker.mjs",
        &[&db.url, "send_email", flag.to_str().unwrap()],
    );
    let id = worker.expect("sent");
    worker.expect_line("failed", &id);

    let job = wait_listed(h.path(), &db.url, "graphile_worker", &id, "failed");
    assert_eq!(job["source"], "graphile_worker");
    assert_eq!(job["queue"], "send_email");
    assert_eq!(job["error"], "smtp connect refused for tenant t-42");
    assert_eq!(job["attempts"], 1);
    assert_eq!(job["max_attempts"], 1);

    let (code, detail, err) = run(h.path(), &db.url, &["jobs", "show", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(detail["payload"]["to"], "ops@example.com");

    worker.send("send");
    let second = worker.expect("sent");
    worker.expect_line("failed", &second);
    wait_listed(h.path(), &db.url, "graphile_worker", &second, "failed");
    let (code, groups, err) = run(h.path(), &db.url, &["jobs", "errors"]);
    assert_eq!(code, 0, "{err}");
    let groups = groups.as_array().unwrap();
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(
        groups[0]["pattern"],
        "smtp connect refused for tenant t-<n>"
    );
    assert_eq!(groups[0]["count"], 2);

    let (code, dry, err) = run(
        h.path(),
        &db.url,
        &[
            "jobs",
            "discard",
            "--all-failed",
            "--queue",
            "send_email",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(dry["matched"], 2);

    let (code, _, err) = run(
        h.path(),
        &db.url,
        &["--read-only", "--yes", "jobs", "retry", &id],
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(row(&db, &id).await, Some((1, 1)));

    // Retry through reschedule_jobs: the worker runs it again and, once it
    // succeeds, deletes it.
    std::fs::remove_file(&flag).unwrap();
    let (code, done, err) = run(h.path(), &db.url, &["--yes", "jobs", "retry", &id]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(done["done"], 1);
    worker.expect_line("completed", &id);
    let deadline = Instant::now() + Duration::from_secs(20);
    while row(&db, &id).await.is_some() {
        assert!(
            Instant::now() < deadline,
            "graphile-worker never completed {id}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Discard a permanently failed job: removed, and no worker runs it.
    let (code, done, err) = run(h.path(), &db.url, &["--yes", "jobs", "discard", &second]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(done["done"], 1);
    assert_eq!(row(&db, &second).await, None);
    drop(worker);

    // A job due to run (not failed yet) is permanently failed instead, the
    // way permanently_fail_jobs does, and kept for inspection.
    let c = db.client().await;
    let r = c
        .query_one(
            "SELECT (graphile_worker.add_job('send_email', '{}'::json, run_at := now() + interval '1 hour')).id::text",
            &[],
        )
        .await
        .unwrap();
    let later: String = r.get(0);
    let (code, _, err) = run(h.path(), &db.url, &["--yes", "jobs", "discard", &later]);
    assert_eq!(code, 0, "{err}");
    let failed = wait_listed(h.path(), &db.url, "graphile_worker", &later, "failed");
    assert_eq!(failed["error"], "discarded with opsdeck");

    c.batch_execute("INSERT INTO graphile_worker.migrations (id) VALUES (21)")
        .await
        .unwrap();
    let (code, _, err) = run(h.path(), &db.url, &["--yes", "jobs", "retry", &later]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("graphile-worker migration 21"), "{err}");
}
