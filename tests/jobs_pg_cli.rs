//! `opsdeck jobs` over River and a configured jobs table: the `jobs list`
//! JSON contract, read-only sessions and contexts refused (exit 3) before
//! anything is written, an unknown River version refused, scoped bulk retry.

mod common;
mod pgjobs_support;

use common::TestDb;
use pgjobs_support::{RIVER_JOBS, RIVER_SCHEMA, TABLE_JOBS, TABLE_TOML};

async fn river_db() -> TestDb {
    TestDb::with(&format!("{RIVER_SCHEMA}\n{RIVER_JOBS}")).await
}

fn cli(h: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = common::opsdeck(h).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

async fn state_of(db: &TestDb, id: i64) -> String {
    db.client()
        .await
        .query_one("SELECT state::text FROM river_job WHERE id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn cli_lists_river_jobs_and_retries_only_where_allowed() {
    let db = river_db().await;
    let h = common::home();
    let (code, out, err) = cli(
        h.path(),
        &[
            "--pg", &db.url, "jobs", "list", "--state", "failed", "--output", "json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{v}");
    assert_eq!(rows[1]["source"], "river");
    assert_eq!(rows[1]["id"], "1");
    assert_eq!(rows[1]["error"], "smtp: 554 rejected");

    // A read-only session refuses before anything is written.
    let (code, _, err) = cli(
        h.path(),
        &[
            "--pg",
            &db.url,
            "--read-only",
            "jobs",
            "retry",
            "1",
            "--yes",
        ],
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(state_of(&db, 1).await, "discarded");

    // An unknown schema version refuses too.
    db.client()
        .await
        .batch_execute("INSERT INTO river_migration (line, version) VALUES ('main', 42)")
        .await
        .unwrap();
    let (code, _, err) = cli(h.path(), &["--pg", &db.url, "jobs", "retry", "1", "--yes"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("42"), "{err}");
    assert_eq!(state_of(&db, 1).await, "discarded");
    db.client()
        .await
        .batch_execute("DELETE FROM river_migration WHERE version = 42")
        .await
        .unwrap();

    let (code, _, err) = cli(
        h.path(),
        &[
            "--pg",
            &db.url,
            "jobs",
            "retry",
            "--all-failed",
            "--queue",
            "default",
            "--yes",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(state_of(&db, 1).await, "available");
    assert_eq!(state_of(&db, 2).await, "discarded", "other queue untouched");
}

#[tokio::test]
async fn cli_reads_the_configured_table_and_a_read_only_context_refuses() {
    let db = TestDb::with(TABLE_JOBS).await;
    let h = common::home();
    let section = |name: &str, read_only: bool| {
        format!(
            "[contexts.{name}]\npg = \"{}\"\nread_only = {read_only}\n[contexts.{name}.jobs.table]\n{}\n",
            db.url,
            TABLE_TOML.replace("[states]", &format!("[contexts.{name}.jobs.table.states]"))
        )
    };
    common::write_config(
        h.path(),
        &format!("{}{}", section("app", false), section("prod", true)),
    );
    let run = |args: &[&str]| {
        let out = common::opsdeck(h.path()).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, out, err) = run(&["--context", "app", "jobs", "queues", "--output", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mail = v
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "mail")
        .unwrap_or_else(|| panic!("{v}"));
    assert_eq!(mail["source"], "table");
    assert_eq!(mail["counts"]["failed"], 2);

    let status = |id: i64| {
        let db = &db;
        async move {
            let s: String = db
                .client()
                .await
                .query_one(
                    "SELECT status::text FROM app.jobs WHERE job_id = $1",
                    &[&id],
                )
                .await
                .unwrap()
                .get(0);
            s
        }
    };
    let (code, _, err) = run(&["--context", "prod", "jobs", "discard", "1", "--yes"]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(status(1).await, "dead");
    let (code, _, err) = run(&["--context", "app", "jobs", "retry", "1", "--yes"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(status(1).await, "queued");
}
