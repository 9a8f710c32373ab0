//! Render snapshots of `:migrations` at 80x24 and 40x12, read from a real
//! database holding a Drizzle history, a stuck Prisma migration and a pgroll
//! migration in progress: problems first, then each tool's history.

mod common;

use common::screens::Harness;
use common::TestDb;
use opsdeck::tui::screens::migrations::MigrationsScreen;

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

async fn loaded(url: &str, size: (u16, u16)) -> Harness {
    let config = format!("[contexts.local]\npg = \"{url}\"\nread_only = true\n");
    Harness::new(&config, size, Box::new(MigrationsScreen::new())).await
}

#[tokio::test]
async fn migrations_screen_at_80x24_and_40x12() {
    let db = TestDb::with(FIXTURE).await;
    let mut settings = insta::Settings::clone_current();
    // The expand phase's age grows with the clock.
    settings.add_filter(r"for \d+(\.\d+)? (d|h|min|s)", "for [age]");
    settings.add_filter(r"\b\d+(s|m|h) ago", "[age]");
    for (w, h) in [(80u16, 24u16), (40, 12)] {
        let text = loaded(&db.url, (w, h)).await.screen();
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
