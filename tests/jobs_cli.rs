//! `opsdeck jobs` on the command line against pg-boss's real schema: usage
//! errors exit 2, a database without a job system says so, a group is
//! selected by the pattern `jobs errors` prints, CSV has the contract's
//! header, and a bulk retry stopped by SIGINT exits 130 with an audit end
//! record saying how many jobs it had retried.

mod common;
#[path = "jobs_support/npm.rs"]
mod npm;

use common::{home, kill, opsdeck, spawn, TestDb};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Command;

/// pg-boss's schema and queue `q`, with `failed` failed jobs in two groups,
/// analyzed as autovacuum would have (without statistics the planner picks
/// pg-boss's partial state index for its own `id = ANY` statements).
async fn pgboss(failed: i64) -> TestDb {
    let db = TestDb::new().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/jobs_support/pgboss_bench.mjs"
    );
    let out = Command::new("node")
        .arg(script)
        .arg(npm::npm_dir())
        .arg(&db.url)
        .arg("q")
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    db.client()
        .await
        .batch_execute(&format!(
            "INSERT INTO pgboss.job (name, data, state, retry_limit, started_on, completed_on, output)
             SELECT 'q', '{{}}', 'failed', 0, now(), now(),
                    jsonb_build_object('message', CASE WHEN g % 10 = 0 THEN 'disk full on /dev/sd' || g
                                                       ELSE 'timeout after ' || g || 'ms' END)
             FROM generate_series(1, {failed}) g;
             ANALYZE pgboss.job;"
        ))
        .await
        .unwrap();
    db
}

fn run(h: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = opsdeck(h).args(args).output().expect("opsdeck runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn usage_groups_csv_and_an_empty_database() {
    let h = home();
    let empty = TestDb::new().await;
    let (code, _, err) = run(h.path(), &["--pg", &empty.url, "jobs", "queues"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no job system found"), "{err}");

    let db = pgboss(50).await;
    let url = db.url.as_str();
    for args in [
        vec!["jobs", "retry"],
        vec!["jobs", "retry", "--queue", "q", "x"],
        vec!["jobs", "list", "--state", "dead"],
        vec!["jobs", "list", "--source", "sidekiq"],
    ] {
        let (code, _, err) = run(h.path(), &[&["--pg", url][..], &args[..]].concat());
        assert_eq!(code, 2, "{args:?}: {err}");
    }

    let (code, out, err) = run(
        h.path(),
        &["--pg", url, "--output", "json", "jobs", "errors"],
    );
    assert_eq!(code, 0, "{err}");
    let groups: Value = serde_json::from_str(&out).unwrap();
    let patterns: Vec<(&str, i64)> = groups
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["pattern"].as_str().unwrap(), g["count"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        patterns,
        [("timeout after <n>ms", 45), ("disk full on /dev/sd<n>", 5)]
    );

    let (code, out, err) = run(
        h.path(),
        &[
            "--pg",
            url,
            "--output",
            "json",
            "jobs",
            "discard",
            "--all-failed",
            "--pattern",
            "disk full on /dev/sd<n>",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let dry: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(dry["matched"], 5);

    let (code, out, err) = run(
        h.path(),
        &[
            "--pg", url, "--output", "csv", "jobs", "list", "--limit", "3",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "source,queue,id,state,attempts,max_attempts,error,created_at,failed_at"
    );
    assert_eq!(lines.len(), 4, "{out}");
    assert!(lines[1].starts_with("pgboss,q,"), "{out}");

    // The group alone, retried; the others stay failed.
    let (code, _, err) = run(
        h.path(),
        &[
            "--pg",
            url,
            "--yes",
            "jobs",
            "retry",
            "--all-failed",
            "--pattern",
            "disk full on /dev/sd<n>",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let c = db.client().await;
    let counts: Vec<(String, i64)> = c
        .query(
            "SELECT state::text, count(*) FROM pgboss.job GROUP BY 1 ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        counts,
        [("failed".to_string(), 45), ("retry".to_string(), 5)]
    );
}

#[tokio::test]
async fn a_bulk_retry_stopped_by_sigint_records_what_it_did() {
    const JOBS: i64 = 60_000;
    let db = pgboss(JOBS).await;
    let h = home();
    let mut child = spawn(
        h.path(),
        &["--pg", &db.url, "--yes", "jobs", "retry", "--all-failed"],
    );
    // The first progress line comes after the first batch.
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (mut line, mut seen) = (String::new(), String::new());
    while err.read_line(&mut line).unwrap() > 0 && !line.contains("progress:") {
        seen.push_str(&line);
        line.clear();
    }
    assert!(line.contains("progress:"), "no progress line: {seen}");
    kill(child.id(), "INT");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));

    let retried: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM pgboss.job WHERE state = 'retry'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(retried > 0 && retried < JOBS, "stopped part way: {retried}");
    let (_, out, _) = run(h.path(), &["--output", "json", "audit", "list"]);
    let audit: Value = serde_json::from_str(&out).unwrap();
    let rec = audit
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["action"] == "jobs.retry")
        .expect("audited");
    assert_eq!(rec["outcome"], "cancelled", "{rec}");
    assert_eq!(rec["detail"]["done"], retried, "{rec}");
    assert_eq!(
        rec["detail"]["ids"].as_array().unwrap().len() as i64,
        retried.min(10_000)
    );
}
