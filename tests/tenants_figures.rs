//! The tenants list's figure columns against a real database: rows in the
//! largest tenant tables, their estimated size and the latest activity
//! (from an index on tenant and timestamp), in the core and on screen.

mod common;

use common::pty::Tui;
use common::{home, write_config, TestDb};
use opsdeck::config::{Context, ContextOverrides, ResolvedContext, SchemaMap};
use opsdeck::tenants::figures;

const FIXTURE: &str = "
CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE NOT NULL, name text,
    plan text, status text NOT NULL DEFAULT 'active', created_at timestamptz NOT NULL,
    deleted_at timestamptz);
INSERT INTO tenants (id, slug, name, plan, created_at) VALUES
    (1, 'busy', 'Busy Co', 'pro', '2024-01-01'),
    (2, 'quiet', 'Quiet Co', 'free', '2024-01-02');
CREATE TABLE events (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants,
    payload text, created_at timestamptz NOT NULL);
CREATE INDEX ON events (tenant_id, created_at);
INSERT INTO events (tenant_id, payload, created_at)
SELECT 1, repeat('x', 200), timestamptz '2024-05-01 10:00:00+00' + g * interval '1 hour'
FROM generate_series(1, 3) g;
ANALYZE;
";

async fn fixture() -> TestDb {
    let db = TestDb::new().await;
    db.client().await.batch_execute(FIXTURE).await.unwrap();
    db
}

#[tokio::test]
async fn figures_count_size_and_latest_activity_per_tenant() {
    let db = fixture().await;
    let ctx = Context {
        pg: Some(db.url.clone()),
        ..Context::default()
    };
    let resolved = ResolvedContext::resolve("t".into(), ctx, &ContextOverrides::default());
    let pg = opsdeck::conn::connect_pg(&resolved).await.unwrap();
    let map = SchemaMap::default();
    let src = figures::sources(&pg, &map).await.unwrap();
    let tables: Vec<String> = src.tables.iter().map(|(t, _)| t.display()).collect();
    assert_eq!(tables, ["public.events"]);
    let (t, col) = src
        .activity
        .as_ref()
        .expect("the (tenant_id, created_at) index");
    assert_eq!(
        (t.display().as_str(), col.as_str()),
        ("public.events", "created_at")
    );
    let mut got = figures::figures(&pg, &src, &["1".into(), "2".into(), "3".into()])
        .await
        .unwrap();
    got.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(got.len(), 3);
    assert_eq!((got[0].rows, got[0].rows_capped), (3, false));
    assert!(
        got[0].bytes > 3 * 200,
        "three 200-byte payloads and more: {:?}",
        got[0]
    );
    assert_eq!(
        got[0].last_activity.as_deref(),
        Some("2024-05-01T13:00:00Z")
    );
    assert_eq!(
        (got[1].rows, got[1].bytes, got[1].last_activity.clone()),
        (0, 0, None)
    );
    assert_eq!(got[2].rows, 0, "an id with no tenant counts nothing");
}

#[tokio::test]
async fn z_shows_the_figure_columns_after_the_list() {
    let db = fixture().await;
    let h = home();
    write_config(
        h.path(),
        &format!(
            "default_context = \"t\"\n[contexts.t]\npg = \"{}\"\n",
            db.url
        ),
    );
    let mut tui = Tui::spawn(h.path(), &[]);
    tui.wait_for("the overview", |s| s.contains("Postgres"));
    tui.send(":tenants\r");
    let s = tui.wait_for("the list", |s| s.contains("busy") && s.contains("quiet"));
    let header = |s: &str| {
        s.lines()
            .find(|l| l.contains("slug"))
            .unwrap_or("")
            .to_string()
    };
    assert!(!header(&s).contains("rows"), "off by default: {s}");
    tui.send("z");
    // 80 columns: the rows column fits; size and activity need a wider
    // terminal, and are in the detail.
    let last_cell = |l: &str| {
        l.trim_end_matches(['│', ' '])
            .rsplit(' ')
            .next()
            .map(str::to_string)
    };
    let s = tui.wait_for("the figures", |s| {
        header(s).contains("rows")
            && s.lines()
                .any(|l| l.contains("busy") && last_cell(l).as_deref() == Some("3"))
    });
    let quiet = s.lines().find(|l| l.contains("quiet")).unwrap();
    assert_eq!(last_cell(quiet).as_deref(), Some("0"), "{quiet}");
    // The detail says where each figure comes from.
    tui.send("\r");
    let s = tui.wait_for("the detail", |s| s.contains("list figures"));
    assert!(s.contains("3 (exact count)"), "{s}");
    assert!(s.contains("estimate: rows"), "{s}");
    assert!(s.contains("2024-05-01T13:00:00Z"), "{s}");
    tui.send("q");
    let (_, code, _) = tui.finish();
    assert_eq!(code, 0);
}
