//! The River adapter against River's own schema (src/sandbox/seed/river_schema.sql,
//! migrations 001-006, also what the demo seeds): detection, version checks,
//! state mapping, listing in pages, detail with the per-attempt errors, and
//! writes that do what River's client does; a retried job is then fetched by
//! River's own fetch query (JobGetAvailable) the way a River worker takes it.

mod common;
mod pgjobs_support;

use common::TestDb;
use futures_util::TryStreamExt;
use opsdeck::config::jobs::JobsConfig;
use opsdeck::jobs::river::River;
use opsdeck::jobs::{Backends, Filter, JobSource, State};
use pgjobs_support::{pg, RIVER_JOBS as JOBS, RIVER_SCHEMA as SCHEMA};

/// River's JobGetAvailable for one job of `queue`, as a River worker runs it.
const FETCH: &str = "WITH locked_jobs AS (
    SELECT * FROM river_job
    WHERE state = 'available' AND queue = $1 AND scheduled_at <= now()
    ORDER BY priority ASC, scheduled_at ASC, id ASC LIMIT 1
    FOR UPDATE SKIP LOCKED)
  UPDATE river_job SET state = 'running', attempt = river_job.attempt + 1, attempted_at = now(),
    attempted_by = array_append(river_job.attempted_by, 'worker-1')
  FROM locked_jobs WHERE river_job.id = locked_jobs.id
  RETURNING river_job.id, river_job.attempt, river_job.max_attempts";

async fn river_db() -> TestDb {
    TestDb::with(&format!("{SCHEMA}\n{JOBS}")).await
}

async fn river(db: &TestDb) -> River {
    River::locate(pg(db).await, "river_job")
        .await
        .unwrap()
        .expect("river_job found")
}

async fn list(r: &River, filter: &Filter) -> Vec<opsdeck::jobs::Job> {
    r.list(filter).try_collect().await.unwrap()
}

fn ids(jobs: &[opsdeck::jobs::Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

#[tokio::test]
async fn detects_river_and_reads_its_version() {
    let db = river_db().await;
    let backends = Backends {
        pg: Some(pg(&db).await),
        redis: None,
    };
    let found = opsdeck::jobs::river::detect(&backends, &JobsConfig::default())
        .await
        .unwrap()
        .expect("detected");
    assert_eq!(found.kind().as_str(), "river");
    assert_eq!(found.check_version().await.unwrap(), "river migration 6");

    let off = JobsConfig {
        sources: Some(vec![opsdeck::jobs::SourceKind::Bullmq]),
        ..JobsConfig::default()
    };
    assert!(opsdeck::jobs::river::detect(&backends, &off)
        .await
        .unwrap()
        .is_none());

    let empty = TestDb::new().await;
    let none = Backends {
        pg: Some(pg(&empty).await),
        redis: None,
    };
    assert!(opsdeck::jobs::river::detect(&none, &JobsConfig::default())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn queues_count_each_state_per_queue() {
    let db = river_db().await;
    let r = river(&db).await;
    let qs = r.queues().await.unwrap();
    let names: Vec<&str> = qs.iter().map(|q| q.queue.as_str()).collect();
    assert_eq!(names, vec!["billing", "default"]);
    let (billing, default) = (&qs[0], &qs[1]);
    assert_eq!(billing.counts.failed, 1);
    assert_eq!(billing.counts.completed, 1);
    assert_eq!(billing.counts.cancelled, 1);
    assert_eq!(billing.failed_last_hour, 1);
    assert_eq!(billing.completed_last_hour, 1);
    assert_eq!(billing.oldest_waiting_ms, None);
    assert_eq!(default.counts.failed, 1);
    assert_eq!(default.counts.retrying, 1);
    assert_eq!(default.counts.active, 1);
    assert_eq!(default.counts.waiting, 1);
    assert_eq!(default.counts.scheduled, 1);
    let age = default.oldest_waiting_ms.expect("job 5 waits");
    assert!((85_000..600_000).contains(&age), "{age}");
}

#[tokio::test]
async fn list_maps_states_and_filters_server_side() {
    let db = river_db().await;
    let r = river(&db).await;
    let all = list(&r, &Filter::default()).await;
    assert_eq!(ids(&all), vec!["8", "7", "6", "5", "4", "3", "2", "1"]);
    let states: Vec<State> = all.iter().map(|j| j.state).collect();
    use State::*;
    assert_eq!(
        states,
        vec![Cancelled, Completed, Scheduled, Waiting, Active, Retrying, Failed, Failed]
    );

    let failed = list(
        &r,
        &Filter {
            state: Some(Failed),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&failed), vec!["2", "1"]);
    let one = &failed[1];
    assert_eq!(one.error.as_deref(), Some("smtp: 554 rejected"));
    assert_eq!((one.attempts, one.max_attempts), (2, 2));
    assert!(one.failed_at.is_some() && one.created_at.is_some());
    let json = serde_json::to_value(one).unwrap();
    for key in [
        "source",
        "queue",
        "id",
        "state",
        "attempts",
        "max_attempts",
        "error",
        "created_at",
        "failed_at",
    ] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["source"], "river");
    assert_eq!(json["state"], "failed");

    let smtp = list(
        &r,
        &Filter {
            error_like: Some("SMTP".into()),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&smtp), vec!["3", "1"]);
    let billing = list(
        &r,
        &Filter {
            queue: Some("billing".into()),
            state: Some(Failed),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&billing), vec!["2"]);
    // A literal % matches itself, not everything.
    let none = list(
        &r,
        &Filter {
            error_like: Some("%".into()),
            ..Filter::default()
        },
    )
    .await;
    assert!(none.is_empty());
}

#[tokio::test]
async fn list_pages_through_many_jobs_within_the_limit() {
    let db = river_db().await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO river_job (state, max_attempts, args, kind, queue)
             SELECT 'available', 25, jsonb_build_object('n', g), 'bulk', 'bulk' FROM generate_series(1, 1234) g",
        )
        .await
        .unwrap();
    let r = river(&db).await;
    let bulk = Filter {
        queue: Some("bulk".into()),
        ..Filter::default()
    };
    let all = list(&r, &bulk).await;
    assert_eq!(all.len(), 1234);
    assert!(all
        .windows(2)
        .all(|w| w[0].id.parse::<i64>().unwrap() > w[1].id.parse::<i64>().unwrap()));
    let limited = Filter {
        limit: Some(700),
        ..bulk.clone()
    };
    let some = list(&r, &limited).await;
    assert_eq!(some.len(), 700);
    let rest = Filter {
        after: Some(some[699].id.clone()),
        ..bulk
    };
    assert_eq!(list(&r, &rest).await.len(), 534);
}

#[tokio::test]
async fn show_gives_payload_trace_and_every_attempt() {
    let db = river_db().await;
    let r = river(&db).await;
    let job = r.show("1").await.unwrap().expect("job 1");
    assert_eq!(job.name.as_deref(), Some("send_email"));
    assert_eq!(job.payload.as_ref().unwrap()["to"], "a@example.com");
    assert_eq!(job.stack.as_deref(), Some("mail.go:42\nworker.go:7"));
    assert!(job.started_at.is_some() && job.finished_at.is_some() && job.run_at.is_some());
    let attempts: Vec<(Option<i64>, Option<&str>)> = job
        .history
        .iter()
        .map(|h| (h.attempt, h.error.as_deref()))
        .collect();
    assert_eq!(
        attempts,
        vec![
            (Some(1), Some("smtp: connection refused")),
            (Some(2), Some("smtp: 554 rejected"))
        ]
    );
    assert!(job.history[0].at.is_some());
    assert!(r.show("999").await.unwrap().is_none());
    assert!(r.show("not-a-number").await.unwrap().is_none());
}

#[tokio::test]
async fn retry_is_rivers_job_retry_and_a_worker_then_takes_the_job() {
    let db = river_db().await;
    let r = river(&db).await;
    let ask: Vec<String> = ["1", "4", "5", "999", "x"].map(String::from).to_vec();
    let report = r.retry(&ask).await.unwrap();
    assert_eq!(report.done, vec!["1"]);
    let skipped: Vec<&str> = report.skipped.iter().map(|s| s.0.as_str()).collect();
    assert_eq!(skipped, vec!["x", "4", "5", "999"]);
    assert!(report.skipped[1].1.contains("running"));

    let c = db.client().await;
    let row = c
        .query_one(
            "SELECT state::text, max_attempts, finalized_at IS NULL, scheduled_at <= now() FROM river_job WHERE id = 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "available");
    // The attempts were used up, so River raises the limit by one.
    assert_eq!(row.get::<_, i16>(1), 3);
    assert!(row.get::<_, bool>(2) && row.get::<_, bool>(3));
    // Job 4 was running and stays so.
    let four: String = c
        .query_one("SELECT state::text FROM river_job WHERE id = 4", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(four, "running");

    let fetched = c.query_one(FETCH, &[&"default"]).await.unwrap();
    // Job 5 was due before the retry, so River's ordering takes it first...
    assert_eq!(fetched.get::<_, i64>(0), 5);
    let next = c.query_one(FETCH, &[&"default"]).await.unwrap();
    // ...and then the retried job, on its third attempt of three.
    assert_eq!(next.get::<_, i64>(0), 1);
    assert_eq!((next.get::<_, i16>(1), next.get::<_, i16>(2)), (3, 3));
    let job = r.show("1").await.unwrap().unwrap();
    assert_eq!(job.state, State::Active);
}

#[tokio::test]
async fn discard_is_rivers_job_delete() {
    let db = river_db().await;
    let r = river(&db).await;
    let report = r
        .discard(&["2".into(), "3".into(), "4".into(), "2".into()])
        .await
        .unwrap();
    assert_eq!(report.done, vec!["2", "3"]);
    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].0, "4");
    let left: Vec<i64> = db
        .client()
        .await
        .query("SELECT id FROM river_job ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, vec![1, 4, 5, 6, 7, 8]);
}

#[tokio::test]
async fn unknown_or_missing_versions_refuse_writes() {
    let db = river_db().await;
    let r = river(&db).await;
    let c = db.client().await;
    c.batch_execute(
        "INSERT INTO river_migration (line, version) VALUES ('main', 99), ('other', 500)",
    )
    .await
    .unwrap();
    let err = r.check_version().await.unwrap_err();
    assert!(err.to_string().contains("99"), "{err}");
    assert_eq!(err.exit_code(), opsdeck::ExitCode::Refused);
    assert!(r.retry(&["1".into()]).await.is_err());
    assert!(r.discard(&["1".into()]).await.is_err());
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM river_job WHERE id = 1 AND state = 'discarded'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "nothing written");
    // Reads do not depend on the version.
    assert_eq!(list(&r, &Filter::default()).await.len(), 8);

    c.batch_execute("DROP TABLE river_migration").await.unwrap();
    let err = r.check_version().await.unwrap_err();
    assert!(err.to_string().contains("river_migration"), "{err}");
}

#[tokio::test]
async fn pre_005_migration_table_without_line_is_read() {
    let db = river_db().await;
    let c = db.client().await;
    c.batch_execute(
        "DROP TABLE river_migration;
         CREATE TABLE river_migration (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now(), version bigint NOT NULL UNIQUE);
         INSERT INTO river_migration (version) VALUES (1), (2), (3), (4);",
    )
    .await
    .unwrap();
    assert_eq!(
        river(&db).await.check_version().await.unwrap(),
        "river migration 4"
    );
}

#[tokio::test]
async fn river_in_its_own_oddly_named_schema() {
    let db = TestDb::with(&format!(
        "CREATE SCHEMA \"Go's \"\"jobs\"\"\"; SET search_path = \"Go's \"\"jobs\"\"\";\n{SCHEMA}\n{JOBS}"
    ))
    .await;
    let p = pg(&db).await;
    // Not on the search_path: only found where configured.
    assert!(River::locate(p.clone(), "river_job")
        .await
        .unwrap()
        .is_none());
    let r = River::locate(p, "\"Go's \"\"jobs\"\"\".river_job")
        .await
        .unwrap()
        .expect("configured table");
    assert_eq!(r.table(), "Go's \"jobs\".river_job");
    assert_eq!(r.check_version().await.unwrap(), "river migration 6");
    let failed = list(
        &r,
        &Filter {
            state: Some(State::Failed),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&failed), vec!["2", "1"]);
    assert_eq!(r.retry(&["2".into()]).await.unwrap().done, vec!["2"]);
}

#[tokio::test]
async fn a_cursor_that_is_not_a_river_id_is_a_usage_error() {
    let db = river_db().await;
    let r = river(&db).await;
    let err = r
        .list(&Filter {
            after: Some("0b5e3c9e-36a1-4f6b-9d0e-6f1f5d7a2b11".into()),
            ..Filter::default()
        })
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), opsdeck::ExitCode::Usage);
    assert!(err.to_string().contains("--after"), "{err}");
}
