//! The table adapter and the transactional outbox against tables the tests
//! create the way applications write them (an enum state column, odd column
//! names, uuid ids): states through the configured mapping, queue figures,
//! paging, detail, retry that a plain `FOR UPDATE SKIP LOCKED` worker then
//! picks up, discard by delete or by state, and refusal when a configured
//! column is missing.

mod common;

use common::TestDb;
use futures_util::TryStreamExt;
use opsdeck::config::jobs::{JobsConfig, Outbox as OutboxConfig, TableJobs};
use opsdeck::config::{Context, ContextOverrides, ResolvedContext};
use opsdeck::conn::Pg;
use opsdeck::jobs::outbox::Outbox;
use opsdeck::jobs::table::Table;
use opsdeck::jobs::{Backends, Filter, Job, JobSource, State};
use opsdeck::ExitCode;
use std::sync::Arc;

const JOBS: &str = r#"
CREATE SCHEMA app;
CREATE TYPE app.job_status AS ENUM ('queued', 'running', 'done', 'dead', 'cancelled');
CREATE TABLE app.jobs (
  job_id bigserial PRIMARY KEY,
  "Queue Name" text NOT NULL,
  status app.job_status NOT NULL DEFAULT 'queued',
  tries int NOT NULL DEFAULT 0,
  max_tries int NOT NULL DEFAULT 3,
  last_error text,
  body jsonb,
  inserted_at timestamptz NOT NULL DEFAULT now(),
  run_after timestamptz NOT NULL DEFAULT now(),
  died_at timestamptz,
  finished_at timestamptz,
  task text NOT NULL DEFAULT 'work'
);
CREATE INDEX ON app.jobs (status);
INSERT INTO app.jobs (job_id, "Queue Name", status, tries, last_error, body, inserted_at, run_after, died_at, finished_at, task) VALUES
 (1, 'mail', 'dead', 3, 'Timeout after 30s', '{"to": "x@example.com"}', now() - interval '1 hour', now() - interval '50 min', now() - interval '10 min', now() - interval '10 min', 'send'),
 (2, 'mail', 'dead', 3, 'timeout after 30s (smtp)', '{}', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', now() - interval '2 days', 'send'),
 (3, 'reports', 'dead', 3, 'KeyError: ''total''', '{}', now() - interval '20 min', now() - interval '20 min', now() - interval '5 min', now() - interval '5 min', 'build'),
 (4, 'mail', 'queued', 0, NULL, '{}', now() - interval '2 min', now() - interval '2 min', NULL, NULL, 'send'),
 (5, 'mail', 'queued', 0, NULL, '{}', now(), now() + interval '1 hour', NULL, NULL, 'send'),
 (6, 'mail', 'running', 1, NULL, '{}', now() - interval '1 min', now() - interval '1 min', NULL, NULL, 'send'),
 (7, 'reports', 'done', 1, NULL, '{}', now() - interval '9 min', now() - interval '9 min', NULL, now() - interval '8 min', 'build'),
 (8, 'reports', 'cancelled', 0, NULL, '{}', now() - interval '9 min', now() - interval '9 min', NULL, NULL, 'build');
SELECT setval('app.jobs_job_id_seq', 100);
"#;

const TABLE_TOML: &str = r#"
table = "app.jobs"
id_column = "job_id"
queue_column = "Queue Name"
state_column = "status"
attempts_column = "tries"
max_attempts_column = "max_tries"
error_column = "last_error"
payload_column = "body"
created_at_column = "inserted_at"
run_at_column = "run_after"
failed_at_column = "died_at"
finished_at_column = "finished_at"
name_column = "task"
[states]
waiting = ["queued"]
active = ["running"]
completed = ["done"]
failed = ["dead"]
cancelled = ["cancelled"]
"#;

/// The application's own worker: takes the oldest due job with attempts left.
const TAKE: &str = "UPDATE app.jobs SET status = 'running', tries = tries + 1
  WHERE job_id = (SELECT job_id FROM app.jobs WHERE status = 'queued' AND run_after <= now() AND tries < max_tries
                  ORDER BY job_id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING job_id";

const OUTBOX: &str = r#"
CREATE TABLE outbox (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts int NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;
INSERT INTO outbox (id, topic, payload, created_at, published_at, attempts, last_error) VALUES
 (1, 'invoice.paid', '{"invoice": 1}', now() - interval '3 hour', now() - interval '3 hour', 1, NULL),
 (2, 'invoice.paid', '{"invoice": 2}', now() - interval '30 min', now() - interval '29 min', 1, NULL),
 (3, 'invoice.paid', '{"invoice": 3}', now() - interval '10 min', NULL, 0, NULL),
 (4, 'invoice.paid', '{"invoice": 4}', now() - interval '20 min', NULL, 4, 'kafka: broker not available'),
 (5, 'user.created', '{"user": 5}', now() - interval '5 min', NULL, 2, 'kafka: message too large'),
 (6, 'user.created', '{"user": 6}', now() - interval '1 min', NULL, 0, NULL);
"#;

const OUTBOX_TOML: &str = r#"
table = "outbox"
id_column = "id"
published_at_column = "published_at"
created_at_column = "created_at"
attempts_column = "attempts"
error_column = "last_error"
topic_column = "topic"
payload_column = "payload"
"#;

async fn pg(db: &TestDb) -> Arc<Pg> {
    let ctx = Context {
        pg: Some(db.url.clone()),
        ..Context::default()
    };
    let resolved = ResolvedContext::resolve("t".into(), ctx, &ContextOverrides::default());
    Arc::new(opsdeck::conn::connect_pg(&resolved).await.unwrap())
}

fn table_cfg(extra: &str) -> TableJobs {
    // Extra keys go before [states], where top-level keys must be.
    let (head, states) = TABLE_TOML.split_once("[states]").unwrap();
    toml::from_str(&format!("{head}{extra}\n[states]{states}")).unwrap()
}

async fn table(db: &TestDb, extra: &str) -> Table {
    Table::new(pg(db).await, table_cfg(extra)).unwrap()
}

async fn outbox(db: &TestDb, toml_text: &str) -> Outbox {
    let cfg: OutboxConfig = toml::from_str(toml_text).unwrap();
    Outbox::new(pg(db).await, cfg).unwrap()
}

async fn list(s: &dyn JobSource, filter: Filter) -> Vec<Job> {
    s.list(&filter).try_collect().await.unwrap()
}

fn ids(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

fn failed() -> Filter {
    Filter {
        state: Some(State::Failed),
        ..Filter::default()
    }
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
async fn cli_reads_the_configured_table_and_a_read_only_context_refuses() {
    let db = TestDb::with(&format!("{JOBS}{OUTBOX}")).await;
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
