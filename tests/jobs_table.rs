//! The table adapter against a jobs table the way applications write them
//! (an enum state column, odd column names, uuid ids): states through the
//! configured mapping, queue figures, paging, detail, retry that a plain
//! `FOR UPDATE SKIP LOCKED` worker then picks up, discard by delete or by
//! state, and refusal when a configured column is missing.

mod common;
mod pgjobs_support;

use common::TestDb;
use futures_util::TryStreamExt;
use opsdeck::config::jobs::{JobsConfig, TableJobs};
use opsdeck::jobs::table::Table;
use opsdeck::jobs::{Backends, Filter, JobSource, State};
use opsdeck::ExitCode;
use pgjobs_support::{failed, ids, list, pg, table_cfg, OUTBOX, OUTBOX_TOML, TABLE_JOBS as JOBS};

const TAKE: &str = "UPDATE app.jobs SET status = 'running', tries = tries + 1
  WHERE job_id = (SELECT job_id FROM app.jobs WHERE status = 'queued' AND run_after <= now() AND tries < max_tries
                  ORDER BY job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING job_id";

async fn table(db: &TestDb, extra: &str) -> Table {
    Table::new(pg(db).await, table_cfg(extra)).unwrap()
}

#[tokio::test]
async fn detection_needs_the_config() {
    let db = TestDb::with(&format!("{JOBS}{OUTBOX}")).await;
    let backends = Backends {
        pg: Some(pg(&db).await),
        redis: None,
    };
    let none = JobsConfig::default();
    assert!(opsdeck::jobs::table::detect(&backends, &none)
        .await
        .unwrap()
        .is_none());
    assert!(opsdeck::jobs::outbox::detect(&backends, &none)
        .await
        .unwrap()
        .is_none());
    let cfg = JobsConfig {
        table: Some(table_cfg("")),
        outbox: Some(toml::from_str(OUTBOX_TOML).unwrap()),
        ..JobsConfig::default()
    };
    let t = opsdeck::jobs::table::detect(&backends, &cfg)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.check_version().await.unwrap(), "table app.jobs");
    let o = opsdeck::jobs::outbox::detect(&backends, &cfg)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(o.check_version().await.unwrap(), "outbox public.outbox");
    assert_eq!(o.kind().as_str(), "table");
}

#[tokio::test]
async fn queues_map_the_apps_states() {
    let db = TestDb::with(JOBS).await;
    let t = table(&db, "").await;
    let qs = t.queues().await.unwrap();
    let names: Vec<&str> = qs.iter().map(|q| q.queue.as_str()).collect();
    assert_eq!(names, vec!["mail", "reports"]);
    let (mail, reports) = (&qs[0], &qs[1]);
    assert_eq!(
        (mail.counts.failed, mail.counts.waiting, mail.counts.active),
        (2, 2, 1)
    );
    // Job 2 died two days ago: only job 1 counts for the last hour.
    assert_eq!(mail.failed_last_hour, 1);
    let age = mail.oldest_waiting_ms.expect("job 4 is due");
    assert!((110_000..600_000).contains(&age), "{age}");
    assert_eq!(
        (
            reports.counts.failed,
            reports.counts.completed,
            reports.counts.cancelled
        ),
        (1, 1, 1)
    );
    assert_eq!(
        (reports.failed_last_hour, reports.completed_last_hour),
        (1, 1)
    );
    assert_eq!(reports.oldest_waiting_ms, None);
}

#[tokio::test]
async fn list_filters_and_pages() {
    let db = TestDb::with(JOBS).await;
    let t = table(&db, "").await;
    let dead = list(&t, failed()).await;
    assert_eq!(ids(&dead), vec!["3", "2", "1"]);
    assert_eq!(dead[2].error.as_deref(), Some("Timeout after 30s"));
    assert_eq!((dead[2].attempts, dead[2].max_attempts), (3, 3));
    assert!(dead[2].failed_at.is_some() && dead[2].created_at.is_some());
    let json = serde_json::to_value(&dead[2]).unwrap();
    assert_eq!(json["source"], "table");
    assert_eq!(json["state"], "failed");
    assert_eq!(json["queue"], "mail");

    let timeouts = list(
        &t,
        Filter {
            error_like: Some("TIMEOUT".into()),
            ..failed()
        },
    )
    .await;
    assert_eq!(ids(&timeouts), vec!["2", "1"]);
    let quoted = list(
        &t,
        Filter {
            error_like: Some("'total'".into()),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&quoted), vec!["3"]);
    let reports = list(
        &t,
        Filter {
            queue: Some("reports".into()),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&reports), vec!["8", "7", "3"]);

    db.client()
        .await
        .batch_execute(
            "INSERT INTO app.jobs (\"Queue Name\", status) SELECT 'bulk', 'queued' FROM generate_series(1, 1100)",
        )
        .await
        .unwrap();
    let bulk = Filter {
        queue: Some("bulk".into()),
        ..Filter::default()
    };
    assert_eq!(list(&t, bulk.clone()).await.len(), 1100);
    let first = list(
        &t,
        Filter {
            limit: Some(600),
            ..bulk.clone()
        },
    )
    .await;
    assert_eq!(first.len(), 600);
    let rest = list(
        &t,
        Filter {
            after: Some(first[599].id.clone()),
            ..bulk
        },
    )
    .await;
    assert_eq!(rest.len(), 500);
}

#[tokio::test]
async fn show_gives_the_detail_columns() {
    let db = TestDb::with(JOBS).await;
    let t = table(&db, "").await;
    let job = t.show("1").await.unwrap().unwrap();
    assert_eq!(job.payload.unwrap()["to"], "x@example.com");
    assert_eq!(job.name.as_deref(), Some("send"));
    assert!(job.run_at.is_some() && job.finished_at.is_some());
    assert!(t.show("12345").await.unwrap().is_none());
    assert!(t.show("abc").await.unwrap().is_none());
}

#[tokio::test]
async fn retry_makes_a_dead_job_runnable_and_the_worker_takes_it() {
    let db = TestDb::with(JOBS).await;
    let t = table(&db, "").await;
    let c = db.client().await;
    // Job 4 is due first; the worker takes it before the retry.
    let first: i64 = c.query_one(TAKE, &[]).await.unwrap().get(0);
    assert_eq!(first, 4);

    let report = t
        .retry(&["1".into(), "6".into(), "999".into(), "abc".into()])
        .await
        .unwrap();
    assert_eq!(report.done, vec!["1"]);
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|(i, w)| (i.as_str(), w.as_str()))
        .collect();
    assert_eq!(skipped[0].0, "abc");
    assert!(
        skipped[1].0 == "6" && skipped[1].1.contains("running"),
        "{skipped:?}"
    );
    assert_eq!(skipped[2].0, "999");

    let row = c
        .query_one(
            "SELECT status::text, max_tries, died_at IS NULL, finished_at IS NULL, run_after <= now(), last_error FROM app.jobs WHERE job_id = 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "queued");
    assert_eq!(row.get::<_, i32>(1), 4, "one more attempt allowed");
    assert!(row.get::<_, bool>(2) && row.get::<_, bool>(3) && row.get::<_, bool>(4));
    assert_eq!(
        row.get::<_, String>(5),
        "Timeout after 30s",
        "the error stays"
    );

    let taken: i64 = c.query_one(TAKE, &[]).await.unwrap().get(0);
    assert_eq!(taken, 1);
    assert_eq!(t.show("1").await.unwrap().unwrap().state, State::Active);
}

#[tokio::test]
async fn discard_deletes_or_sets_the_discard_state() {
    let db = TestDb::with(JOBS).await;
    let t = table(&db, "").await;
    let report = t.discard(&["2".into(), "6".into()]).await.unwrap();
    assert_eq!(report.done, vec!["2"]);
    assert_eq!(report.skipped[0].0, "6");
    let c = db.client().await;
    let n: i64 = c
        .query_one("SELECT count(*) FROM app.jobs WHERE job_id IN (2, 6)", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "2 deleted, the running 6 kept");

    let by_state = table(&db, "discard_state = \"cancelled\"").await;
    assert_eq!(
        by_state.discard(&["3".into()]).await.unwrap().done,
        vec!["3"]
    );
    let s: String = c
        .query_one("SELECT status::text FROM app.jobs WHERE job_id = 3", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(s, "cancelled");
}

#[tokio::test]
async fn missing_columns_or_table_refuse_with_what_to_fix() {
    let db = TestDb::with(JOBS).await;
    let mut cfg = table_cfg("");
    cfg.error_column = Some("error_message".into());
    cfg.run_at_column = Some("Run At".into());
    let t = Table::new(pg(&db).await, cfg).unwrap();
    let err = t.check_version().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("error_message (error_column)") && text.contains("Run At (run_at_column)"),
        "{text}"
    );
    assert_eq!(err.exit_code(), ExitCode::Usage);
    assert!(t.retry(&["1".into()]).await.is_err());
    assert!(t.discard(&["1".into()]).await.is_err());
    let n: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM app.jobs WHERE job_id = 1 AND status = 'dead'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1, "nothing written");

    let mut cfg = table_cfg("");
    cfg.table = "app.job_queue".into();
    let err = Table::new(pg(&db).await, cfg)
        .unwrap()
        .check_version()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("app.job_queue"), "{err}");
}

#[tokio::test]
async fn uuid_ids_and_unmapped_states() {
    let db = TestDb::with(
        "CREATE TABLE work (id uuid PRIMARY KEY, state text NOT NULL, err text);
         INSERT INTO work VALUES ('0b5e3c9e-36a1-4f6b-9d0e-6f1f5d7a2b11', 'failed', 'boom'),
                                 ('1b5e3c9e-36a1-4f6b-9d0e-6f1f5d7a2b11', 'weird', NULL);",
    )
    .await;
    let cfg: TableJobs = toml::from_str(
        "table = \"work\"\nid_column = \"id\"\nstate_column = \"state\"\nerror_column = \"err\"",
    )
    .unwrap();
    let t = Table::new(pg(&db).await, cfg).unwrap();
    let all = list(&t, Filter::default()).await;
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].state, State::Waiting, "unmapped values wait");
    assert_eq!(all[0].queue, "public.work");
    let report = t
        .retry(&["0B5E3C9E-36A1-4F6B-9D0E-6F1F5D7A2B11".into(), "nope".into()])
        .await
        .unwrap();
    assert_eq!(report.done, vec!["0b5e3c9e-36a1-4f6b-9d0e-6f1f5d7a2b11"]);
    assert_eq!(report.skipped[0].0, "nope");
    let s: String = db
        .client()
        .await
        .query_one(
            "SELECT state FROM work WHERE id = '0b5e3c9e-36a1-4f6b-9d0e-6f1f5d7a2b11'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(s, "queued", "the first default waiting value");
}

#[tokio::test]
async fn enum_states_with_the_default_mapping_and_a_bad_retry_state() {
    let db = TestDb::with(JOBS).await;
    let (head, _) = pgjobs_support::TABLE_TOML.split_once("[states]").unwrap();
    let plain: TableJobs = toml::from_str(head).unwrap();
    let t = Table::new(pg(&db).await, plain.clone()).unwrap();
    // The defaults name values the enum lacks ("failed", "error" ...): only
    // its own labels are sent, so the filter works.
    assert_eq!(ids(&list(&t, failed()).await), vec!["3", "2", "1"]);
    assert_eq!(t.check_version().await.unwrap(), "table app.jobs");

    let bad = TableJobs {
        retry_state: Some("requeued".into()),
        ..plain
    };
    let t = Table::new(pg(&db).await, bad).unwrap();
    let err = t.check_version().await.unwrap_err();
    assert!(
        err.to_string().contains("requeued (retry_state)")
            && err.to_string().contains("queued, running"),
        "{err}"
    );
    assert!(t.retry(&["1".into()]).await.is_err());

    let err = t
        .list(&Filter {
            after: Some("abc".into()),
            ..Filter::default()
        })
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Usage);
}
