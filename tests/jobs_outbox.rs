//! The transactional outbox (backlog, oldest unpublished age, failures;
//! retry for the relay, discard of unpublished rows) and the demo's Postgres
//! job seed read back through the River and outbox adapters.

mod common;
mod pgjobs_support;

use common::TestDb;
use opsdeck::config::jobs::Outbox as OutboxConfig;
use opsdeck::jobs::outbox::Outbox;
use opsdeck::jobs::river::River;
use opsdeck::jobs::{Filter, JobSource, State};
use opsdeck::ExitCode;
use pgjobs_support::{failed, ids, list, pg, OUTBOX, OUTBOX_TOML};

async fn outbox(db: &TestDb, toml_text: &str) -> Outbox {
    let cfg: OutboxConfig = toml::from_str(toml_text).unwrap();
    Outbox::new(pg(db).await, cfg).unwrap()
}

#[tokio::test]
async fn outbox_backlog_age_and_failures() {
    let db = TestDb::with(OUTBOX).await;
    let o = outbox(&db, OUTBOX_TOML).await;
    let qs = o.queues().await.unwrap();
    let names: Vec<&str> = qs.iter().map(|q| q.queue.as_str()).collect();
    assert_eq!(names, vec!["invoice.paid", "user.created"]);
    let inv = &qs[0];
    assert_eq!(
        (inv.counts.waiting, inv.counts.failed, inv.counts.completed),
        (1, 1, 2)
    );
    assert_eq!(inv.completed_last_hour, 1);
    let age = inv.oldest_waiting_ms.expect("backlog");
    assert!((19 * 60_000..40 * 60_000).contains(&age), "{age}");
    assert_eq!((qs[1].counts.waiting, qs[1].counts.failed), (1, 1));

    let failing = list(&o, failed()).await;
    assert_eq!(ids(&failing), vec!["5", "4"]);
    assert_eq!(
        failing[1].error.as_deref(),
        Some("kafka: broker not available")
    );
    assert_eq!(failing[1].attempts, 4);
    let waiting = list(
        &o,
        Filter {
            state: Some(State::Waiting),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&waiting), vec!["6", "3"]);
    let large = list(
        &o,
        Filter {
            error_like: Some("too large".into()),
            queue: Some("user.created".into()),
            ..Filter::default()
        },
    )
    .await;
    assert_eq!(ids(&large), vec!["5"]);
    let shown = o.show("2").await.unwrap().unwrap();
    assert_eq!(shown.state, State::Completed);
    assert_eq!(shown.payload.unwrap()["invoice"], 2);
    assert!(shown.finished_at.is_some());
}

#[tokio::test]
async fn outbox_retry_resets_attempts_and_discard_drops_unpublished_rows() {
    let db = TestDb::with(OUTBOX).await;
    let o = outbox(&db, OUTBOX_TOML).await;
    let report = o
        .retry(&["4".into(), "3".into(), "1".into()])
        .await
        .unwrap();
    assert_eq!(report.done, vec!["4"]);
    let reasons: Vec<&str> = report.skipped.iter().map(|s| s.1.as_str()).collect();
    assert_eq!(reasons[0], "already published");
    assert!(reasons[1].starts_with("not failed"), "{reasons:?}");
    let c = db.client().await;
    let row = c
        .query_one("SELECT attempts, last_error FROM outbox WHERE id = 4", &[])
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 0);
    assert_eq!(row.get::<_, Option<String>>(1), None);

    let report = o.discard(&["5".into(), "2".into()]).await.unwrap();
    assert_eq!(report.done, vec!["5"]);
    assert_eq!(report.skipped[0], ("2".into(), "already published".into()));
    let left: Vec<i64> = c
        .query("SELECT id FROM outbox ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(left, vec![1, 2, 3, 4, 6]);

    let bare = outbox(
        &db,
        "table = \"outbox\"\nid_column = \"id\"\npublished_at_column = \"published_at\"\ncreated_at_column = \"created_at\"",
    )
    .await;
    let err = bare.retry(&["3".into()]).await.unwrap_err();
    assert_eq!(err.exit_code(), ExitCode::Refused);
    assert_eq!(list(&bare, Filter::default()).await.len(), 5);
}

#[tokio::test]
async fn the_demo_seed_reads_as_river_failures_and_an_outbox_backlog() {
    let db = TestDb::new().await;
    opsdeck::sandbox::seed::jobs_pg::seed(&db.client().await, 30)
        .await
        .unwrap();
    let p = pg(&db).await;
    let r = River::locate(p.clone(), "river_job")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(r.check_version().await.unwrap(), "river migration 6");
    let failed = list(&r, failed()).await;
    assert_eq!(failed.len(), 160);
    let errors: std::collections::BTreeSet<&str> =
        failed.iter().filter_map(|j| j.error.as_deref()).collect();
    assert_eq!(errors.len(), 4, "{errors:?}");
    assert!(failed.iter().all(|j| j.failed_at.is_some()));
    let qs = r.queues().await.unwrap();
    assert_eq!(qs.len(), 4);
    let total = |f: fn(&opsdeck::jobs::QueueSummary) -> i64| qs.iter().map(f).sum::<i64>();
    assert_eq!(total(|q| q.counts.waiting), 45);
    assert_eq!(total(|q| q.counts.retrying), 14);
    assert_eq!(total(|q| q.counts.scheduled), 24);
    assert_eq!(total(|q| q.counts.completed), 3000);
    assert!(total(|q| q.failed_last_hour) > 0);
    let one = r.show(&failed[0].id).await.unwrap().unwrap();
    assert!(!one.history.is_empty() && one.history.iter().all(|h| h.at.is_some()));
    assert!(one.payload.unwrap()["tenant_id"].as_i64().is_some());

    let outbox =
        opsdeck::jobs::outbox::Outbox::new(p, opsdeck::sandbox::seed::jobs_pg::outbox_config())
            .unwrap();
    let qs = outbox.queues().await.unwrap();
    let backlog: i64 = qs.iter().map(|q| q.counts.waiting + q.counts.failed).sum();
    let failing: i64 = qs.iter().map(|q| q.counts.failed).sum();
    assert_eq!((backlog, failing), (180, 14));
    let oldest = qs.iter().filter_map(|q| q.oldest_waiting_ms).max().unwrap();
    assert!((20 * 60_000..30 * 60_000).contains(&oldest), "{oldest}");
}
