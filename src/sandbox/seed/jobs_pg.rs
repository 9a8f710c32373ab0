//! Postgres jobs for the demo (the demo has no Node, so no pg-boss or
//! graphile-worker): River's schema with jobs in every state, failures from
//! a few distinct errors (one bad deploy, a flaky provider) across queues and
//! tenants; and a transactional outbox with a backlog behind a failing relay.

use crate::config::jobs::Outbox;
use crate::error::Result;
use tokio_postgres::Client;

pub const RIVER_SCHEMA: &str = include_str!("river_schema.sql");

/// Sized for a screen of figures whatever the scale: job tables stay small
/// next to the app's data. `$TENANTS` is the tenant count.
const RIVER_JOBS: &str = r#"
-- Failed for good: four errors, each from one cause, spread over queues.
INSERT INTO river_job (state, attempt, max_attempts, attempted_at, finalized_at, scheduled_at, created_at, args, errors, kind, queue)
SELECT 'discarded', e.tries, e.tries, t.at - interval '2 s', t.at, t.at - interval '5 min', t.at - interval '20 min',
       jsonb_build_object('tenant_id', 1 + g % $TENANTS, 'ref', 'job-' || g),
       ARRAY(SELECT jsonb_build_object(
                 'at', to_char((t.at - (e.tries - a) * interval '1 min') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                 'attempt', a, 'error', e.msg, 'trace', e.trace)
             FROM generate_series(1, e.tries) a),
       e.kind, e.queue
  FROM generate_series(1, 160) g
  CROSS JOIN LATERAL (SELECT now() - (g * 97 % 600) * interval '1 min' AS at) t
  CROSS JOIN LATERAL (SELECT * FROM (VALUES
       (0, 'send_email', 'mail', 5, 'smtp: 554 5.7.1 message rejected for policy reasons', E'mail.(*Sender).Send\n\tmail/sender.go:88\nworker.(*EmailWorker).Work\n\tworker/email.go:41'),
       (1, 'charge_invoice', 'billing', 3, 'stripe: card_declined (insufficient_funds)', E'billing.Charge\n\tbilling/stripe.go:120'),
       (2, 'render_pdf', 'reports', 4, 'pdf render: context deadline exceeded after 30s', E'reports.Render\n\treports/pdf.go:57'),
       (3, 'deliver_webhook', 'webhooks', 8, 'webhook: 502 Bad Gateway from https://hooks.example.com/opsdeck', E'hooks.Deliver\n\thooks/deliver.go:33'))
     v(k, kind, queue, tries, msg, trace)
     WHERE v.k = CASE WHEN g % 10 < 5 THEN 0 WHEN g % 10 < 7 THEN 1 WHEN g % 10 < 9 THEN 2 ELSE 3 END) e;

-- Retrying after a failed attempt, due within the next minutes.
INSERT INTO river_job (state, attempt, max_attempts, attempted_at, scheduled_at, created_at, args, errors, kind, queue)
SELECT 'retryable', 1, 8, now() - interval '1 min', now() + (g % 9) * interval '1 min', now() - interval '3 min',
       jsonb_build_object('tenant_id', 1 + g % $TENANTS),
       ARRAY[jsonb_build_object('at', to_char((now() - interval '1 min') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
             'attempt', 1, 'error', 'webhook: dial tcp 203.0.113.9:443: i/o timeout', 'trace', '')],
       'deliver_webhook', 'webhooks'
  FROM generate_series(1, 14) g;

-- Waiting (a backlog building in reports), scheduled, running, cancelled.
INSERT INTO river_job (state, max_attempts, scheduled_at, created_at, args, kind, queue)
SELECT 'available', 25, now() - (g % 40) * interval '30 s', now() - (g % 40) * interval '30 s',
       jsonb_build_object('tenant_id', 1 + g % $TENANTS), 'render_pdf', CASE WHEN g % 3 = 0 THEN 'mail' ELSE 'reports' END
  FROM generate_series(1, 45) g;
INSERT INTO river_job (state, max_attempts, scheduled_at, args, kind, queue)
SELECT 'scheduled', 25, now() + g * interval '10 min', jsonb_build_object('tenant_id', 1 + g % $TENANTS), 'monthly_digest', 'mail'
  FROM generate_series(1, 24) g;
INSERT INTO river_job (state, attempt, max_attempts, attempted_at, attempted_by, scheduled_at, args, kind, queue)
SELECT 'running', 1, 25, now() - g * interval '4 s', ARRAY['worker-' || g], now() - g * interval '5 s',
       jsonb_build_object('tenant_id', g), 'charge_invoice', 'billing'
  FROM generate_series(1, 3) g;
INSERT INTO river_job (state, max_attempts, finalized_at, metadata, args, kind, queue)
SELECT 'cancelled', 25, now() - g * interval '1 hour', '{"cancel_attempted_at": "2026-01-01T00:00:00Z"}',
       jsonb_build_object('tenant_id', g), 'send_email', 'mail'
  FROM generate_series(1, 4) g;

-- Completed over the last day, most of all work.
INSERT INTO river_job (state, attempt, max_attempts, attempted_at, finalized_at, scheduled_at, created_at, args, kind, queue)
SELECT 'completed', 1, 25, f - interval '1 s', f, f - interval '2 s', f - interval '2 s',
       jsonb_build_object('tenant_id', 1 + g % $TENANTS),
       (ARRAY['send_email', 'charge_invoice', 'render_pdf', 'deliver_webhook'])[1 + g % 4],
       (ARRAY['mail', 'billing', 'reports', 'webhooks'])[1 + g % 4]
  FROM generate_series(1, 3000) g CROSS JOIN LATERAL (SELECT now() - (g * 29 % 1440) * interval '1 min' AS f) t;
"#;

/// The outbox: published events over the last day, a backlog of 180 since
/// the relay began failing 25 minutes ago, 14 rows it gave up on. The
/// tenant is in the payload, not a column, so the tenancy lint's planted
/// findings stay the only ones.
const OUTBOX: &str = r#"
CREATE TABLE outbox_events (
  id bigserial PRIMARY KEY,
  topic text NOT NULL,
  payload jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts int NOT NULL DEFAULT 0,
  last_error text
);
CREATE INDEX outbox_events_unpublished ON outbox_events (created_at) WHERE published_at IS NULL;
INSERT INTO outbox_events (topic, payload, created_at, published_at, attempts)
SELECT (ARRAY['invoice.paid', 'user.created', 'project.archived'])[1 + g % 3],
       jsonb_build_object('seq', g, 'tenant_id', 1 + g % $TENANTS), c, c + interval '300 ms', 1
  FROM generate_series(1, 5000) g CROSS JOIN LATERAL (SELECT now() - interval '26 min' - (g * 17 % 1400) * interval '1 min' AS c) t;
INSERT INTO outbox_events (topic, payload, created_at, attempts, last_error)
SELECT (ARRAY['invoice.paid', 'user.created', 'project.archived'])[1 + g % 3],
       jsonb_build_object('seq', 5000 + g, 'tenant_id', 1 + g % $TENANTS), now() - (g * 8) * interval '1 s',
       CASE WHEN g <= 14 THEN 5 ELSE 0 END,
       CASE WHEN g <= 14 THEN CASE WHEN g % 2 = 0 THEN 'kafka: broker not available' ELSE 'kafka: message too large (1048577 bytes)' END END
  FROM generate_series(1, 180) g;
"#;

/// The demo context's outbox section, naming [`OUTBOX`]'s columns.
pub fn outbox_config() -> Outbox {
    Outbox {
        table: "outbox_events".into(),
        id_column: "id".into(),
        published_at_column: "published_at".into(),
        created_at_column: "created_at".into(),
        attempts_column: Some("attempts".into()),
        error_column: Some("last_error".into()),
        topic_column: Some("topic".into()),
        payload_column: Some("payload".into()),
    }
}

/// River's schema and jobs, and the outbox, for `tenants` tenants.
pub async fn seed(client: &Client, tenants: i64) -> Result<()> {
    let tenants = tenants.max(1).to_string();
    client.batch_execute(RIVER_SCHEMA).await?;
    client
        .batch_execute(&RIVER_JOBS.replace("$TENANTS", &tenants))
        .await?;
    client
        .batch_execute(&OUTBOX.replace("$TENANTS", &tenants))
        .await?;
    Ok(())
}
