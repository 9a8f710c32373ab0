//! `:jobs` rendered from a real database holding pg-boss's schema (installed
//! by the real pg-boss) with failed and scheduled jobs: snapshots of the
//! queues view, the failures grouped by error and a job's detail at 80x24
//! and 40x12; the overview's jobs pane; then a group retried through the confirm popup reaches the
//! database, and a read-only context offers no retry.

mod common;
#[path = "jobs_support/npm.rs"]
mod npm;

use common::screens::Harness;
use common::TestDb;
use crossterm::event::KeyCode;
use opsdeck::tui::screens::jobs::JobsScreen;
use std::process::Command;

const FIXTURE: &str = r#"
INSERT INTO pgboss.job (id, name, data, state, retry_limit, created_on, start_after, started_on, completed_on, output)
SELECT ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'invoices',
       jsonb_build_object('tenant_id', 't-' || g, 'invoice', 1000 + g), 'failed', 0,
       now() - interval '12 minutes', now() - interval '12 minutes', now() - interval '11 minutes', now() - interval '10 minutes',
       jsonb_build_object('name', 'Error', 'message', 'payment gateway timeout for invoice ' || (1000 + g),
                          'stack', E'Error: payment gateway timeout\n    at charge (billing.js:42:11)')
FROM generate_series(1, 12) g;
INSERT INTO pgboss.job (id, name, data, state, retry_limit, created_on, start_after, started_on, completed_on, output)
SELECT ('00000000-0000-4000-9000-' || lpad(g::text, 12, '0'))::uuid, 'emails', '{}', 'failed', 0,
       now() - interval '12 minutes', now() - interval '12 minutes', now() - interval '11 minutes', now() - interval '10 minutes',
       jsonb_build_object('name', 'Error', 'message', 'smtp connect refused for tenant ' || g)
FROM generate_series(1, 3) g;
INSERT INTO pgboss.job (name, data, state, start_after)
SELECT 'emails', '{}', 'created', now() + interval '1 day' FROM generate_series(1, 4);
"#;

async fn fixture() -> TestDb {
    let db = TestDb::new().await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/jobs_support/pgboss_bench.mjs"
    );
    for queue in ["invoices", "emails"] {
        // pg-boss installs its schema and creates the queue (nothing to retry yet).
        let out = Command::new("node")
            .arg(script)
            .arg(npm::npm_dir())
            .arg(&db.url)
            .arg(queue)
            .output()
            .expect("node runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    db.client().await.batch_execute(FIXTURE).await.unwrap();
    db
}

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", "[time]");
    s.add_filter(r"\d{2}-\d{2} \d{2}:\d{2}", "[time]");
    s
}

#[tokio::test]
async fn jobs_screen_queues_groups_and_detail() {
    let db = fixture().await;
    let config = format!("[contexts.local]\npg = \"{}\"\n", db.url);
    let s = settings();
    for (w, h) in [(80u16, 24u16), (40, 12)] {
        let mut t = Harness::new(&config, (w, h), Box::new(JobsScreen::new())).await;
        let queues = t.screen();
        if w == 80 {
            assert!(
                queues.contains("invoices") && queues.contains("emails"),
                "{queues}"
            );
        }
        s.bind(|| insta::assert_snapshot!(format!("jobs_queues_{w}x{h}"), queues));
        t.key(KeyCode::Right).await;
        let groups = t.screen();
        assert!(groups.contains("payment gateway timeout for"), "{groups}");
        s.bind(|| insta::assert_snapshot!(format!("jobs_groups_{w}x{h}"), groups));
        t.key(KeyCode::Enter).await;
        let detail = t.screen();
        if w == 80 {
            assert!(
                detail.contains("payload") && detail.contains("billing.js"),
                "{detail}"
            );
        }
        assert!(
            detail.contains("pgboss") && detail.contains("failed"),
            "{detail}"
        );
        s.bind(|| insta::assert_snapshot!(format!("jobs_detail_{w}x{h}"), detail));
    }

    // The overview's jobs pane counts the same failures.
    let t = Harness::new(
        &config,
        (120, 40),
        Box::new(opsdeck::tui::screens::overview::OverviewScreen::new()),
    )
    .await;
    let overview = t.screen();
    assert!(
        overview.contains("15 failed (15 in 1h), 0 retrying"),
        "{overview}"
    );
    assert!(
        overview.contains("12 failed in invoices (pgboss)"),
        "{overview}"
    );

    // A group retried from the console: the popup, then pg-boss's retry state.
    let mut t = Harness::new(&config, (80, 24), Box::new(JobsScreen::new())).await;
    t.key(KeyCode::Right).await;
    t.key(KeyCode::Char('r')).await;
    assert!(
        t.screen().contains("Retry 12 failed jobs"),
        "{}",
        t.screen()
    );
    t.key(KeyCode::Char('y')).await;
    let c = db.client().await;
    let retried: i64 = c
        .query_one(
            "SELECT count(*) FROM pgboss.job WHERE name = 'invoices' AND state = 'retry'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(retried, 12, "{}", t.screen());
    let untouched: i64 = c
        .query_one(
            "SELECT count(*) FROM pgboss.job WHERE name = 'emails' AND state = 'failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(untouched, 3);

    // Read-only: the key does nothing and nothing changes.
    let ro = format!("[contexts.local]\npg = \"{}\"\nread_only = true\n", db.url);
    let mut t = Harness::new(&ro, (80, 24), Box::new(JobsScreen::new())).await;
    t.key(KeyCode::Right).await;
    t.key(KeyCode::Char('x')).await;
    let left: i64 = c
        .query_one(
            "SELECT count(*) FROM pgboss.job WHERE name = 'emails' AND state = 'failed'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 3);
}
