//! Fixtures shared by the River, table and outbox tests: River's schema and
//! jobs in every state, an application's jobs table and its config, an
//! outbox, and a Pg for a test database.
#![allow(dead_code)]

use crate::common::TestDb;
use futures_util::TryStreamExt;
use opsdeck::config::jobs::TableJobs;
use opsdeck::config::{Context, ContextOverrides, ResolvedContext};
use opsdeck::conn::Pg;
use opsdeck::jobs::{Filter, Job, JobSource, State};
use std::sync::Arc;

pub const RIVER_SCHEMA: &str = include_str!("../../src/sandbox/seed/river_schema.sql");

/// Two failed-for-good jobs with distinct errors, one retrying, one running
/// and one of each other state, in two queues.
pub const RIVER_JOBS: &str = r#"
INSERT INTO river_job (id, state, attempt, max_attempts, attempted_at, finalized_at, scheduled_at, args, errors, kind, queue, created_at) VALUES
 (1, 'discarded', 2, 2, now() - interval '10 min', now() - interval '9 min', now() - interval '20 min',
  '{"to": "a@example.com", "tenant_id": 7}', ARRAY[
   '{"at": "2026-01-01T10:00:00.123456789Z", "attempt": 1, "error": "smtp: connection refused", "trace": "mail.go:10"}'::jsonb,
   '{"at": "2026-01-01T10:05:00Z", "attempt": 2, "error": "smtp: 554 rejected", "trace": "mail.go:42\nworker.go:7"}'::jsonb],
  'send_email', 'default', now() - interval '30 min'),
 (2, 'discarded', 1, 1, now() - interval '5 min', now() - interval '4 min', now() - interval '6 min',
  '{"invoice": 9}', ARRAY['{"at": "2026-01-01T11:00:00Z", "attempt": 1, "error": "stripe: card_declined", "trace": "pay.go:3"}'::jsonb],
  'charge', 'billing', now() - interval '7 min'),
 (3, 'retryable', 1, 5, now() - interval '2 min', NULL, now() + interval '1 min',
  '{}', ARRAY['{"at": "2026-01-01T12:00:00Z", "attempt": 1, "error": "smtp: timeout", "trace": ""}'::jsonb],
  'send_email', 'default', now() - interval '3 min'),
 (4, 'running', 1, 25, now() - interval '1 min', NULL, now() - interval '1 min', '{}', NULL, 'report', 'default', now() - interval '1 min'),
 (5, 'available', 0, 25, NULL, NULL, now() - interval '90 s', '{}', NULL, 'report', 'default', now() - interval '2 min'),
 (6, 'scheduled', 0, 25, NULL, NULL, now() + interval '1 hour', '{}', NULL, 'report', 'default', now()),
 (7, 'completed', 1, 25, now() - interval '3 min', now() - interval '3 min', now() - interval '3 min', '{}', NULL, 'report', 'billing', now() - interval '4 min'),
 (8, 'cancelled', 0, 25, NULL, now() - interval '2 min', now() - interval '2 min', '{}', NULL, 'report', 'billing', now() - interval '2 min');
SELECT setval('river_job_id_seq', 100);
"#;

pub const TABLE_JOBS: &str = r#"
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

pub const TABLE_TOML: &str = r#"
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
pub const OUTBOX: &str = r#"
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

pub const OUTBOX_TOML: &str = r#"
table = "outbox"
id_column = "id"
published_at_column = "published_at"
created_at_column = "created_at"
attempts_column = "attempts"
error_column = "last_error"
topic_column = "topic"
payload_column = "payload"
"#;

pub async fn pg(db: &TestDb) -> Arc<Pg> {
    let ctx = Context {
        pg: Some(db.url.clone()),
        ..Context::default()
    };
    let resolved = ResolvedContext::resolve("t".into(), ctx, &ContextOverrides::default());
    Arc::new(opsdeck::conn::connect_pg(&resolved).await.unwrap())
}

/// [`TABLE_TOML`] with `extra` top-level keys.
pub fn table_cfg(extra: &str) -> TableJobs {
    // Extra keys go before [states], where top-level keys must be.
    let (head, states) = TABLE_TOML.split_once("[states]").unwrap();
    toml::from_str(&format!("{head}{extra}\n[states]{states}")).unwrap()
}

pub async fn list(s: &dyn JobSource, filter: Filter) -> Vec<Job> {
    s.list(&filter).try_collect().await.unwrap()
}

pub fn ids(jobs: &[Job]) -> Vec<&str> {
    jobs.iter().map(|j| j.id.as_str()).collect()
}

pub fn failed() -> Filter {
    Filter {
        state: Some(State::Failed),
        ..Filter::default()
    }
}
