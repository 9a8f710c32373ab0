//! The `:tenants` screen: render snapshots of the list and the detail pane
//! (TestBackend + insta) on a fixed fixture in real Postgres, suspend through
//! the confirm popup, the read-only refusal, the lint view, and one
//! pseudo-terminal run of the real binary that filters and opens a tenant.

mod common;

use common::pty::Tui;
use common::screens::{draw, Harness};
use common::{home, write_config, TestDb};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::tui::app::App;
use opsdeck::tui::cmd::Cmd;
use opsdeck::tui::msg::Msg;
use opsdeck::tui::screens::tenants::TenantsScreen;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// Fixed ids and timestamps so the snapshots are stable.
const FIXTURE: &str = r#"
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (
    acct_id bigint PRIMARY KEY,
    handle text NOT NULL UNIQUE,
    "display name" text,
    tier text,
    state text NOT NULL DEFAULT 'live',
    opened timestamptz NOT NULL
);
INSERT INTO crm.accounts
SELECT g, 'acct-' || lpad(g::text, 3, '0'), 'Account ' || g, CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END,
       'live', timestamptz '2024-01-01 00:00:00+00' + g * interval '1 day'
FROM generate_series(1, 40) g;
INSERT INTO crm.accounts VALUES
    (41, 'obrien', 'O''Brien "Ltd" 🚀 Ünïcødé', 'enterprise', 'live', '2024-03-01 12:00:00+00');
CREATE TABLE crm.contacts (id bigserial PRIMARY KEY, acct bigint NOT NULL REFERENCES crm.accounts, email text);
CREATE INDEX ON crm.contacts (acct);
ALTER TABLE crm.contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY iso ON crm.contacts USING (acct = current_setting('app.tenant_id')::bigint);
INSERT INTO crm.contacts (acct, email) SELECT a, 'c@x' FROM generate_series(1, 41) a, generate_series(1, 3);
CREATE TABLE crm.deals (id bigserial PRIMARY KEY, acct bigint);
CREATE TABLE crm.keys (id bigint PRIMARY KEY, acct bigint NOT NULL, name text, prefix text, key_hash text,
    created_at timestamptz, expires_at timestamptz, revoked_at timestamptz);
INSERT INTO crm.keys VALUES
    (7, 41, 'ci deploy', 'sk_live', 'hash', '2024-04-01 00:00:00+00', NULL, NULL),
    (8, 41, 'old laptop', 'sk_test', 'hash', '2024-02-01 00:00:00+00', NULL, '2024-02-02 00:00:00+00');
ANALYZE;
"#;

fn config_toml(url: &str, read_only: bool) -> String {
    format!(
        r#"default_context = "crm"
[contexts.crm]
pg = "{url}"
read_only = {read_only}
[contexts.crm.schema]
app_schema = "crm"
tenants_table = "accounts"
tenant_id = "acct_id"
tenant_slug = "handle"
tenant_name = "display name"
tenant_plan = "tier"
tenant_status = "state"
tenant_created_at = "opened"
status_active = "live"
status_suspended = "frozen"
tenant_column = "acct"
api_keys_table = "keys"
"#
    )
}

async fn fixture() -> TestDb {
    let db = TestDb::new().await;
    db.client().await.batch_execute(FIXTURE).await.unwrap();
    db
}

async fn harness(db: &TestDb, read_only: bool) -> Harness {
    Harness::new(
        &config_toml(&db.url, read_only),
        (80, 24),
        Box::new(TenantsScreen::new()),
    )
    .await
}

fn snapshot(name: &str, app: &App) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b\d+(s|m|h) ago", "[age]");
    settings.add_filter(r"opsdeck_t_\d+_\d+", "[db]");
    settings.bind(|| insta::assert_snapshot!(name.to_string(), draw(app).backend()));
}

async fn state(db: &TestDb, handle: &str) -> String {
    db.client()
        .await
        .query_one(
            "SELECT state FROM crm.accounts WHERE handle = $1",
            &[&handle],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn list_and_detail_render() {
    let db = fixture().await;
    let mut h = harness(&db, false).await;
    let list = h.screen();
    assert!(
        list.contains("acct-001") && list.contains("Account 1 "),
        "{list}"
    );
    snapshot("tenants_list_80x24", &h.app);
    h.app.update(Msg::Resize(40, 12));
    snapshot("tenants_list_40x12", &h.app);
    h.app.update(Msg::Resize(80, 24));

    h.key(KeyCode::Char('G')).await;
    let bottom = h.screen();
    assert!(
        bottom.contains("obrien"),
        "G pages to the last tenant: {bottom}"
    );
    h.key(KeyCode::Enter).await;
    let detail = h.screen();
    // The first screen names every section with its count.
    for summary in ["cache keys", "failed jobs", "2 (1 active)", "app audit"] {
        assert!(detail.contains(summary), "{summary}: {detail}");
    }
    assert!(
        detail.contains("3 (exact)") && detail.contains("(estimate)"),
        "{detail}"
    );
    snapshot("tenants_detail_80x24", &h.app);
    // The pane scrolls to the keys; the hash is never read.
    h.key(KeyCode::PageDown).await;
    let keys = h.screen();
    assert!(
        keys.contains("sk_live") && keys.contains("revoked"),
        "{keys}"
    );
    assert!(!keys.contains("hash"), "key_hash never shown: {keys}");
    // At 40x12 the detail takes the body and still scrolls to its last row.
    h.app.update(Msg::Resize(40, 12));
    h.key(KeyCode::Char('g')).await;
    snapshot("tenants_detail_40x12", &h.app);
    h.key(KeyCode::Char('G')).await;
    let end = h.screen();
    assert!(end.contains("sk_test"), "{end}");
    h.app.update(Msg::Resize(80, 24));

    // Esc closes the detail and cancels its task (and so its query) if it still runs.
    let cmds = h
        .app
        .update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    assert!(
        cmds.iter().any(|c| c.name() == "abort:tenants:detail"),
        "{:?}",
        cmds.iter().map(Cmd::name).collect::<Vec<_>>()
    );
    assert!(
        !h.screen().contains("rows per table"),
        "Esc closes the detail"
    );
}

#[tokio::test]
async fn filter_sort_and_lint_view() {
    let db = fixture().await;
    let mut h = harness(&db, false).await;
    h.keys("/brien").await;
    h.key(KeyCode::Enter).await;
    let s = h.screen();
    assert!(s.contains("O'Brien") && !s.contains("acct-001"), "{s}");
    h.keys("/").await;
    for _ in 0.."brien".len() {
        h.key(KeyCode::Backspace).await;
    }
    h.keys("status:frozen").await;
    h.key(KeyCode::Enter).await;
    assert!(!h.screen().contains("acct-0"), "no frozen tenants yet");
    h.keys("/").await;
    h.key(KeyCode::Esc).await;
    // `o` sorts by the first sortable column (slug), `O` reverses it.
    h.keys("oO").await;
    let s = h.screen();
    let first_row = s
        .lines()
        .find(|l| l.contains("acct-") || l.contains("obrien"))
        .unwrap();
    assert!(
        first_row.contains("obrien"),
        "slug descending starts at obrien: {s}"
    );
    h.keys("L").await;
    let s = h.screen();
    assert!(s.contains("tenancy lint: 5 finding(s)"), "{s}");
    assert!(s.contains("rls_disabled") && s.contains("crm.deals"), "{s}");
    // Kind names are whole, even at 40 columns (headings wrap, never cut).
    h.app.update(Msg::Resize(40, 12));
    let mut seen = String::new();
    for _ in 0..12 {
        seen.push_str(&h.screen());
        h.key(KeyCode::PageDown).await;
    }
    for kind in [
        "rls_disabled · crm.keys",
        "missing_tenant_index · crm.deals",
        "nullable_tenant_column · crm.deals",
    ] {
        assert!(seen.contains(kind), "{kind} not shown whole: {seen}");
    }
    h.app.update(Msg::Resize(80, 24));
    h.key(KeyCode::Esc).await;
    assert!(!h.screen().contains("rls_disabled"));
}

#[tokio::test]
async fn suspend_goes_through_the_confirm_popup() {
    let db = fixture().await;
    let mut h = harness(&db, false).await;
    h.keys("/obrien").await;
    h.key(KeyCode::Enter).await;
    h.keys("s").await;
    let s = h.screen();
    assert!(
        s.contains("confirm") && s.contains("Suspend tenant 'obrien'"),
        "{s}"
    );
    assert_eq!(
        state(&db, "obrien").await,
        "live",
        "nothing before the answer"
    );
    h.keys("y").await;
    assert_eq!(state(&db, "obrien").await, "frozen");
    let s = h.screen();
    assert!(s.contains("frozen"), "the list reloads: {s}");
    let audit = std::fs::read_to_string(h.session.audit_path()).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("tenants.suspend") && l.contains("\"ok\"")),
        "{audit}"
    );
    // Resume, then decline a second suspend: nothing changes.
    h.keys("r").await;
    h.keys("y").await;
    assert_eq!(state(&db, "obrien").await, "live");
    h.keys("s").await;
    h.key(KeyCode::Esc).await;
    assert_eq!(state(&db, "obrien").await, "live");
}

#[tokio::test]
async fn read_only_context_shows_the_refusal() {
    let db = fixture().await;
    let mut h = harness(&db, true).await;
    h.keys("s").await;
    let s = h.screen();
    assert!(s.contains("refused") && s.contains("read-only"), "{s}");
    h.keys("x").await;
    assert_eq!(state(&db, "acct-001").await, "live");
}

/// The real binary in a pseudo-terminal on the fixture (see `common::pty`).
fn start_pty(db: &TestDb, h: &tempfile::TempDir) -> Tui {
    write_config(h.path(), &config_toml(&db.url, false));
    Tui::spawn(h.path(), &[])
}

/// `q`, then the shell's report that opsdeck exited 0.
fn quit(mut pty: Tui) {
    pty.send("q");
    let (out, code, _) = pty.finish();
    assert_eq!(code, 0, "{}", &out[out.len().saturating_sub(300)..]);
}

/// The real binary in a pseudo-terminal: `:tenants`, `/` filter, Enter.
#[tokio::test]
async fn pty_filters_and_opens_a_tenant() {
    let db = fixture().await;
    let h = home();
    let mut pty = start_pty(&db, &h);
    pty.wait_for("the first screen", |s| s.contains("? help"));
    pty.send(":tenants\r");
    pty.wait_for("the tenants list", |s| {
        s.contains("acct-001") && s.contains("slug")
    });
    pty.send("/brien");
    let s = pty.wait_for("the filtered list", |s| {
        s.contains("O'Brien") && !s.contains("acct-001")
    });
    assert!(s.contains("obrien"), "{s}");
    pty.send("\r");
    pty.send("\r");
    let s = pty.wait_for("the detail pane", |s| s.contains("api keys"));
    assert!(
        s.contains("enterprise") && s.contains("2 (1 active)"),
        "{s}"
    );
    pty.send("G");
    let s = pty.wait_for("the end of the detail", |s| s.contains("old laptop"));
    assert!(s.contains("crm.contacts") && s.contains("3 (exact)"), "{s}");
    quit(pty);
}

/// Tenants whose names carry a window-title OSC, a clear-screen CSI, a tab,
/// a newline and a right-to-left override.
const HOSTILE: &str = r#"
INSERT INTO crm.accounts VALUES
    (42, E'evil\x1b[31m', E'Evil \x1b]0;pwned\x07\x1b[2J end', 'pro', 'live', '2024-05-01 00:00:00+00'),
    (43, 'tabby', E'Tab\tand\nnewline \u202Egnp.exe', E'fr\x7fee', 'live', '2024-05-02 00:00:00+00');
"#;

/// Every cell of a drawn screen: no control or bidi character left, and the
/// body's frame intact (the corners, and `│` at both ends of every body row).
fn assert_inert(t: &Terminal<TestBackend>) {
    let buf = t.backend().buffer();
    for cell in &buf.content {
        assert!(
            !cell.symbol().chars().any(opsdeck::tui::text::is_unsafe),
            "a control character reached the buffer: {:?}\n{}",
            cell.symbol(),
            t.backend()
        );
    }
    let (w, h) = (buf.area.width, buf.area.height);
    // Header on row 0; the body's box from row 1 to the row above the status line.
    let (top, bottom) = (1, h - 3);
    assert_eq!(buf[(0, top)].symbol(), "┌", "{}", t.backend());
    assert_eq!(buf[(w - 1, top)].symbol(), "┐", "{}", t.backend());
    assert_eq!(buf[(0, bottom)].symbol(), "└", "{}", t.backend());
    assert_eq!(buf[(w - 1, bottom)].symbol(), "┘", "{}", t.backend());
    for y in top + 1..bottom {
        assert_eq!(buf[(0, y)].symbol(), "│", "row {y}\n{}", t.backend());
        assert_eq!(buf[(w - 1, y)].symbol(), "│", "row {y}\n{}", t.backend());
    }
}

/// Control characters in data are drawn as visible escapes in the table,
/// the detail pane, the status line and the confirm popup, and never move
/// or overwrite the borders.
#[tokio::test]
async fn control_characters_in_data_are_shown_escaped() {
    let db = fixture().await;
    db.client().await.batch_execute(HOSTILE).await.unwrap();
    let mut h = harness(&db, false).await;
    h.key(KeyCode::Char('G')).await;
    let t = draw(&h.app);
    assert_inert(&t);
    let s = format!("{}", t.backend());
    assert!(
        s.contains("evil␛[31m") && s.contains("Evil ␛]0;pwned"),
        "{s}"
    );
    assert!(s.contains("Tab\\tand\\nnewlin"), "{s}");
    h.app.update(Msg::Resize(40, 12));
    assert_inert(&draw(&h.app));
    h.app.update(Msg::Resize(80, 24));

    // The detail pane of the tenant with the title escape.
    h.key(KeyCode::Up).await;
    h.key(KeyCode::Enter).await;
    let t = draw(&h.app);
    assert_inert(&t);
    let s = format!("{}", t.backend());
    assert!(s.contains("Evil ␛]0;pwned\\x07␛[2J end"), "{s}");

    // The confirm popup names the tenant by its slug.
    h.key(KeyCode::Esc).await;
    h.keys("s").await;
    let t = draw(&h.app);
    assert_inert(&t);
    let s = format!("{}", t.backend());
    assert!(s.contains("confirm") && s.contains("evil␛[31m"), "{s}");
    h.key(KeyCode::Esc).await;

    // A server error in the status line.
    h.app.update(Msg::Status(Err(
        "ERROR: \x1b]0;pwned\x07 bad\r\nthing\u{202E}".into(),
    )));
    let t = draw(&h.app);
    assert_inert(&t);
    let s = format!("{}", t.backend());
    assert!(
        s.contains("ERROR: ␛]0;pwned\\x07 bad\\r\\nthing<U+202E>"),
        "{s}"
    );
}

/// The same hostile name through the real binary: the raw output never
/// carries the title escape, and the table keeps its frame.
#[tokio::test]
async fn pty_control_characters_never_reach_the_terminal() {
    let db = fixture().await;
    db.client().await.batch_execute(HOSTILE).await.unwrap();
    let h = home();
    let mut pty = start_pty(&db, &h);
    pty.wait_for("the first screen", |s| s.contains("? help"));
    pty.send(":tenants\r");
    pty.wait_for("the tenants list", |s| s.contains("acct-001"));
    pty.send("G");
    let s = pty.wait_for("the hostile tenants", |s| s.contains("Evil ␛]0;pwned"));
    let raw = String::from_utf8_lossy(&pty.raw).to_string();
    assert!(
        !raw.contains("\x1b]0;pwned"),
        "the title escape reached the terminal"
    );
    assert!(
        !raw.contains("\x1b[31m"),
        "the colour escape reached the terminal"
    );
    assert!(s.contains("Tab\\tand\\nnewlin"), "{s}");
    let rows: Vec<&str> = s.lines().collect();
    assert!(rows[1].starts_with('┌') && rows[1].ends_with('┐'), "{s}");
    for row in &rows[2..rows.len() - 3] {
        assert!(
            row.starts_with('│') && row.ends_with('│'),
            "row out of the frame: {row:?}\n{s}"
        );
    }
    assert_eq!(pty.title(), "", "the window title was set");
    quit(pty);
}

/// The table's status line: the one that starts with the position (`n/m`).
fn position_line(screen: &str) -> String {
    screen
        .lines()
        .find(|l| {
            let t = l.trim_start_matches(['"', '│', ' ']);
            t.split_whitespace()
                .next()
                .is_some_and(|w| w.contains('/') && w.chars().any(|c| c.is_ascii_digit()))
        })
        .unwrap_or_else(|| panic!("no position in {screen}"))
        .to_string()
}

#[tokio::test]
async fn planner_estimates_are_marked_and_exact_counts_are_not() {
    // Exact: a first page shorter than a page is the whole answer.
    let db = fixture().await;
    let h = harness(&db, false).await;
    let line = position_line(&h.screen());
    assert!(line.contains("1/41") && !line.contains('≈'), "{line}");
    drop(h);

    // Estimate: ANALYZE saw 3,000 rows, then a third went (no vacuum), so
    // the planner still says about 3,000 while 2,000 remain.
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE SCHEMA crm;
             CREATE TABLE crm.accounts (acct_id bigint PRIMARY KEY, handle text NOT NULL UNIQUE,
                 \"display name\" text, tier text, state text NOT NULL DEFAULT 'live', opened timestamptz NOT NULL)
                 WITH (autovacuum_enabled = false);
             INSERT INTO crm.accounts SELECT g, 'acct-' || lpad(g::text, 5, '0'), 'Account ' || g, 'free', 'live',
                 timestamptz '2024-01-01 00:00:00+00' FROM generate_series(1, 3000) g;
             ANALYZE crm.accounts;
             DELETE FROM crm.accounts WHERE acct_id % 3 = 0;",
        )
        .await
        .unwrap();
    let mut h = harness(&db, false).await;
    let line = position_line(&h.screen());
    assert!(line.contains("1/≈"), "an estimated total is marked: {line}");
    assert!(
        !line.contains("2000"),
        "the estimate is not the count: {line}"
    );
    h.key(KeyCode::Char('G')).await;
    let line = position_line(&h.screen());
    let pos = line
        .trim_start_matches(['"', '│', ' '])
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    assert!(
        pos.starts_with('≈') && pos.contains("/≈"),
        "the position at the end derives from the estimate, so it is marked too: {line}"
    );
    // Back at the top the position is exact again, the total still estimated.
    h.key(KeyCode::Char('g')).await;
    let line = position_line(&h.screen());
    assert!(line.contains("1/≈") && !line.contains("≈1/"), "{line}");
}

#[tokio::test]
async fn unknown_status_filter_shows_the_valid_values() {
    let db = fixture().await;
    let mut h = harness(&db, false).await;
    h.app.update(Msg::Resize(140, 24));
    h.keys("/status:bogus").await;
    h.key(KeyCode::Enter).await;
    let s = h.screen();
    assert!(
        s.contains("unknown status 'bogus'") && s.contains("use one of live, frozen"),
        "{s}"
    );
    h.keys("/").await;
    for _ in 0.."bogus".len() {
        h.key(KeyCode::Backspace).await;
    }
    h.keys("live").await;
    h.key(KeyCode::Enter).await;
    let s = h.screen();
    assert!(
        !s.contains("unknown status") && s.contains("acct-001"),
        "{s}"
    );
}

#[tokio::test]
async fn expired_keys_are_not_counted_as_active() {
    let db = fixture().await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO crm.keys VALUES
                 (9, 41, 'expired rotation', 'sk_live', 'hash', '2024-03-01 00:00:00+00', now() - interval '1 hour', NULL)",
        )
        .await
        .unwrap();
    let mut h = harness(&db, false).await;
    h.key(KeyCode::Char('G')).await;
    h.key(KeyCode::Enter).await;
    let s = h.screen();
    assert!(s.contains("3 (1 active, 1 expired)"), "{s}");
    h.key(KeyCode::PageDown).await;
    let s = h.screen();
    assert!(s.contains("expired rotation · expired"), "{s}");
}
