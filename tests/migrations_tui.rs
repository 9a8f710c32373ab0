//! Render snapshots of `:migrations` at 80x24 and 40x12, read from a real
//! database holding a Drizzle history, a stuck Prisma migration and a pgroll
//! migration in progress: problems first, then each tool's history.

mod common;

use common::TestDb;
use opsdeck::config::{Config, ContextOverrides, Paths, Thresholds};
use opsdeck::session::Session;
use opsdeck::tui::app::App;
use opsdeck::tui::cmd::{Cmd, TaskCx};
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ContextInfo, Msg};
use opsdeck::tui::screens::migrations::MigrationsScreen;
use opsdeck::tui::view::view;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::sync::Arc;
use std::time::Instant;

const FIXTURE: &str = r#"
CREATE SCHEMA drizzle;
CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);
INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('a1', 1767225600000), ('b2', 1767312000000);
CREATE TABLE "_prisma_migrations" (id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL,
  finished_at TIMESTAMPTZ, migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);
INSERT INTO _prisma_migrations VALUES
  ('1', 'c', '2026-01-02 10:00+00', '20260102_init', NULL, NULL, '2026-01-02 10:00+00', 1),
  ('2', 'd', NULL, '20260103_add_plan', 'ERROR: column "plan" exists', NULL, '2026-01-03 09:30+00', 0);
CREATE SCHEMA pgroll;
CREATE TABLE pgroll.migrations (schema NAME NOT NULL, name TEXT NOT NULL, migration JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
  parent TEXT, done BOOLEAN NOT NULL DEFAULT false, resulting_schema JSONB NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (schema, name));
INSERT INTO pgroll.migrations (schema, name, migration, parent, done, created_at, updated_at) VALUES
  ('public', '01_init', '{}', NULL, true, '2026-01-01 08:00+00', '2026-01-01 08:05+00'),
  ('public', '02_add_email', '{}', '01_init', false, '2026-01-04 12:00+00', '2026-01-04 12:00+00');
CREATE SCHEMA public_02_add_email;
"#;

async fn loaded(url: &str, size: (u16, u16)) -> App {
    let dir = tempfile::tempdir().unwrap();
    let session = Arc::new(
        Session::new(
            Config::default(),
            Paths::under(dir.path().to_path_buf()),
            None,
            &ContextOverrides {
                pg: Some(url.to_string()),
                ..ContextOverrides::default()
            },
        )
        .unwrap(),
    );
    let ctx = ContextInfo {
        name: "local".into(),
        read_only: true,
        has_pg: true,
        has_redis: false,
        thresholds: Thresholds::default(),
    };
    let (mut app, cmds) = App::with_screen(
        Env::test_env_with_theme("mono"),
        ctx,
        Instant::now(),
        size,
        Box::new(MigrationsScreen::new()),
    );
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut queue: std::collections::VecDeque<Cmd> = cmds.into();
    while let Some(c) = queue.pop_front() {
        if let Cmd::Task { key, run, name } = c {
            if name == "probe" {
                continue;
            }
            let msg = run(TaskCx::new(
                session.clone(),
                key.clone(),
                tx.clone(),
                opsdeck::stop::Stop::new(),
            ))
            .await;
            queue.extend(app.update(Msg::Reply {
                epoch: 0,
                key,
                msg: Box::new(msg),
            }));
        }
    }
    app
}

fn screen(app: &App) -> String {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| view(app, f)).unwrap();
    format!("{}", t.backend())
}

#[tokio::test]
async fn migrations_screen_at_80x24_and_40x12() {
    let db = TestDb::with(FIXTURE).await;
    let mut settings = insta::Settings::clone_current();
    // The expand phase's age grows with the clock.
    settings.add_filter(r"for \d+(\.\d+)? (d|h|min|s)", "for [age]");
    settings.add_filter(r"\b\d+(s|m|h) ago", "[age]");
    for (w, h) in [(80u16, 24u16), (40, 12)] {
        let app = loaded(&db.url, (w, h)).await;
        let text = screen(&app);
        if w == 80 {
            let stuck = text
                .find("20260103_add")
                .unwrap_or_else(|| panic!("stuck prisma shown\n{text}"));
            let latest = text.find("20260102_init").expect("prisma latest shown");
            assert!(stuck < latest, "problems come first\n{text}");
            assert!(
                text.contains("in_progress") && text.contains("02_add_email"),
                "{text}"
            );
        }
        settings.bind(|| insta::assert_snapshot!(format!("migrations_{w}x{h}"), text));
    }
}
