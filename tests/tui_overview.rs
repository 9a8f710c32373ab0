//! The overview cockpit drawn (ratatui TestBackend + insta): its panes at
//! 120x35, 80x24 and 40x12, with and without Redis; a Redis that is down
//! leaves Postgres up in the header and in its pane; pane keys open screens.

mod common;

use common::cockpit::{app_on, app_with, context_with, filters, snapshot_with};
use common::screens::draw;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::tui::cmd::Cmd;
use opsdeck::tui::msg::{ConnInfo, Msg, PgInfo};
use opsdeck::tui::screens::ScreenId;

macro_rules! text {
    ($name:expr, $term:expr) => {
        insta::with_settings!({filters => filters()}, {
            insta::assert_snapshot!($name, $term.backend());
        })
    };
}

fn screen_text(app: &opsdeck::tui::app::App) -> String {
    format!("{}", draw(app).backend())
}

#[test]
fn cockpit_at_every_size_with_and_without_redis() {
    for (w, h) in [(120, 35), (80, 24), (40, 12)] {
        for redis in [true, false] {
            let a = app_with("mono", (w, h), false, redis);
            let name = format!(
                "cockpit_{}_{w}x{h}",
                if redis { "with_redis" } else { "pg_only" }
            );
            text!(name, draw(&a));
        }
    }
}

#[test]
fn cockpit_shows_every_pane_when_there_is_room() {
    let s = screen_text(&app_with("mono", (120, 35), false, true));
    for want in [
        "Postgres",
        "Redis",
        "Costing most now",
        "Latest audit",
        "Sessions",
        "Database size",
        "Evictions",
        "Redis clients",
        "pid 4242 app (billing-worker)",
        // The query's line breaks and indentation fold into one line.
        "UPDATE invoices SET status = 'paid'",
        "slowlog 12 ms",
        "KEYS t:42:*",
        "HGETALL session:9f2c",
        "pid 4250 app (api)",
        "tenants.suspend acme",
        "Keys expiring",
        "17 expire within 14 days",
        "sk_live_a1B2c3D4 billing sync tenant 42",
        "Migrations M",
        "latest 0007_add_invoices (drizzle), 3.0 h ago",
        "pgroll in_progress: 02_split_name",
    ] {
        assert!(s.contains(want), "missing {want:?}:\n{s}");
    }
    // Postgres and Redis side by side on a wide body.
    let row = s.lines().find(|l| l.contains("Postgres")).unwrap();
    assert!(row.contains("Redis"), "{row}");
    // Each pane names the key that opens its screen.
    assert!(
        row.contains("Postgres t") && row.contains("Redis c"),
        "{row}"
    );
    let narrow = screen_text(&app_with("mono", (80, 24), false, true));
    let row = narrow.lines().find(|l| l.contains("Postgres")).unwrap();
    assert!(!row.contains("Redis"), "stacked on 80 columns: {row}");
    let pg_only = screen_text(&app_with("mono", (120, 35), false, false));
    assert!(!pg_only.contains("Redis"), "{pg_only}");
    assert!(pg_only.contains("Costing most now"), "{pg_only}");
}

#[test]
fn redis_down_leaves_postgres_up() {
    let mut snapshots: Vec<_> = (0..12).map(|i| snapshot_with(i, true)).collect();
    let mut down = snapshot_with(12, false);
    down.redis_error = Some("cannot connect to redis cache.example:6379/0".into());
    snapshots.push(down);
    let mut a = app_on("mono", (100, 30), context_with(false, true), snapshots);
    a.update(Msg::Connected(Ok(ConnInfo {
        pg: Some(PgInfo {
            target: "ops@db.example:5432/app".into(),
            server_version: "16.4".into(),
            role: "ops".into(),
        }),
        redis_down: Some("redis: Connection refused (os error 111)".into()),
        ..ConnInfo::default()
    })));
    let s = screen_text(&a);
    let header = s.lines().next().unwrap();
    assert!(
        header.contains("pg ● up") && header.contains("redis ✖ down"),
        "{header}"
    );
    assert!(s.contains("down: redis: Connection refused"), "banner: {s}");
    assert!(
        s.contains("down: cannot connect to redis"),
        "Redis pane: {s}"
    );
    assert!(s.contains("Connections"), "Postgres figures stay: {s}");
    assert!(s.contains("pid 4242"), "{s}");
    // At 40 columns the header keeps both states in the short form.
    a.update(Msg::Resize(40, 12));
    let header = screen_text(&a).lines().next().unwrap().to_string();
    assert!(header.contains("●pg ✖redis"), "{header}");
}

#[test]
fn pane_keys_open_their_screens() {
    let mut a = app_with("mono", (120, 35), false, true);
    let cmds = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::NONE,
    )));
    assert_eq!(a.screen_ids(), vec![ScreenId::Overview, ScreenId::Cache]);
    assert!(
        cmds.iter().any(|c| c.name() == "task:cache.stats"),
        "{cmds:?}"
    );
    a.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    let cmds = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('a'),
        KeyModifiers::NONE,
    )));
    assert_eq!(a.screen_ids(), vec![ScreenId::Overview, ScreenId::Audit]);
    assert!(
        !cmds.iter().any(|c| matches!(c, Cmd::Show(_))),
        "taken by the app"
    );
    // Without Redis the cache key is greyed and does nothing.
    let mut a = app_with("mono", (120, 35), false, false);
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::NONE,
    )));
    assert_eq!(a.screen_ids(), vec![ScreenId::Overview]);
}

#[test]
fn postgres_down_with_redis_up_rebuilds_the_session_with_backoff() {
    let mut a = app_with("mono", (100, 30), false, true);
    a.update(Msg::Connected(Ok(ConnInfo {
        pg_down: Some("the Postgres connection was closed".into()),
        redis: Some("cache.example:6379/0".into()),
        ..ConnInfo::default()
    })));
    let header = screen_text(&a).lines().next().unwrap().to_string();
    assert!(
        header.contains("pg ✖ down") && header.contains("redis ● up"),
        "{header}"
    );
    let reconnects = |cmds: &[Cmd]| cmds.iter().filter(|c| c.name() == "reconnect").count();
    let now = a.now;
    let cmds = a.update(Msg::Tick(now + std::time::Duration::from_millis(1100)));
    assert_eq!(reconnects(&cmds), 1, "{cmds:?}");
    let cmds = a.update(Msg::Tick(now + std::time::Duration::from_millis(1500)));
    assert_eq!(reconnects(&cmds), 0, "backoff: {cmds:?}");
    let cmds = a.update(Msg::Tick(now + std::time::Duration::from_secs(4)));
    assert_eq!(reconnects(&cmds), 1, "{cmds:?}");
    // Postgres back: no more rebuilding.
    a.update(Msg::Connected(Ok(ConnInfo {
        pg: Some(PgInfo {
            target: "ops@db.example:5432/app".into(),
            server_version: "16.4".into(),
            role: "ops".into(),
        }),
        redis: Some("cache.example:6379/0".into()),
        ..ConnInfo::default()
    })));
    let cmds = a.update(Msg::Tick(now + std::time::Duration::from_secs(60)));
    assert_eq!(reconnects(&cmds), 0, "{cmds:?}");
}
