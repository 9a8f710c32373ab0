//! The `:queries` screen on a sandbox cluster (one for the binary, so the
//! scenarios run in turn and own every session they draw): a render
//! snapshot of each tab and of the plan pane, cancel through the confirm
//! popup, and the real binary on a pseudo-terminal cancelling a running
//! pg_sleep.

mod common;

use common::pg::{backend_pid as pid, client};

use common::pty::Tui;
use common::screens::{draw, Harness};
use common::{home, write_config};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use opsdeck::tui::app::App;
use opsdeck::tui::msg::Msg;
use opsdeck::tui::screens::queries::QueriesScreen;
use std::time::Duration;

async fn harness(url: &str) -> Harness {
    Harness::new(
        &format!("default_context = \"q\"\n[contexts.q]\npg = \"{url}\"\n"),
        (80, 24),
        Box::new(QueriesScreen::new()),
    )
    .await
}

/// Durations, pids and ages vary run to run; each filter eats the padding
/// after its match so the columns after it stay put.
fn snapshot(name: &str, app: &App) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d+(\.\d+)? (µs|ms|s|min|h)\b *", "[dur] ");
    settings.add_filter(r"\b\d+(s|m|h) ago", "[age]");
    settings.add_filter(r"\b\d+\.\d+% *", "[pct] ");
    // A pid opens its row, or follows the tree mark of a waiter.
    settings.add_filter(r"(│(?:└ )?)\d{3,7} +", "${1}[pid] ");
    settings.add_filter(r"127\.0\.0\.1:\d+", "127.0.0.1:[port]");
    settings.bind(|| insta::assert_snapshot!(name.to_string(), draw(app).backend()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_screen_on_a_sandbox() {
    let sb = PgSandbox::start(PgOptions::default())
        .await
        .expect("sandbox");
    // The cluster is this binary's own, so fixed names keep the snapshots stable.
    let (db, app) = ("q".to_string(), "app".to_string());
    sb.create_database(&db).await.unwrap();
    let admin = sb.connect(&db).await.unwrap();
    admin
        .batch_execute(&format!(
            "CREATE ROLE {app} LOGIN; CREATE TABLE t (id int PRIMARY KEY, kind text);
             INSERT INTO t SELECT g, 'k' || (g % 7) FROM generate_series(1, 3000) g; ANALYZE t;
             GRANT ALL ON t TO {app};"
        ))
        .await
        .unwrap();
    let as_app = |name: &str| {
        format!(
            "postgres://{app}@127.0.0.1:{}/{db}?application_name={name}",
            sb.port()
        )
    };
    let worker = client(&as_app("worker")).await;
    worker
        .batch_execute(
            "SELECT pg_sleep(0.3); SELECT 1, pg_sleep(0.15); SELECT 1, 2, pg_sleep(0.05)",
        )
        .await
        .unwrap();
    worker
        .query("SELECT id FROM t WHERE kind = $1", &[&"k3"])
        .await
        .unwrap();

    let mut h = harness(&sb.url_for(&db)).await;
    h.keys("/pg_sleep").await;
    h.key(KeyCode::Enter).await;
    let s = h.screen();
    let first = s
        .lines()
        .position(|l| l.contains("SELECT pg_sleep($1)"))
        .unwrap_or_else(|| panic!("{s}"));
    let second = s
        .lines()
        .position(|l| l.contains("SELECT $1, pg_sleep($2)"))
        .unwrap_or_else(|| panic!("{s}"));
    assert!(first < second, "by total time: {s}");
    assert!(s.contains("totals"), "the first load shows totals: {s}");
    snapshot("queries_slow_80x24", &h.app);

    // Enter on a `$1` statement: its generic plan, the hottest node marked.
    h.keys("/").await;
    for _ in 0.."pg_sleep".len() {
        h.key(KeyCode::Backspace).await;
    }
    h.keys("kind =").await;
    h.key(KeyCode::Enter).await;
    h.key(KeyCode::Enter).await;
    let s = h.screen();
    assert!(
        s.contains("Seq Scan on t") && s.contains("◀ hottest"),
        "{s}"
    );
    assert!(s.contains("1 parameter(s) as NULL"), "{s}");
    snapshot("queries_plan_80x24", &h.app);
    h.key(KeyCode::Esc).await;
    h.keys("/").await;
    for _ in 0.."kind =".len() {
        h.key(KeyCode::Backspace).await;
    }
    h.key(KeyCode::Enter).await;

    // A refresh shows what ran since the previous one.
    worker
        .batch_execute("SELECT 1, pg_sleep(0.15)")
        .await
        .unwrap();
    let cmds = h
        .app
        .update(Msg::Key(KeyEvent::new(KeyCode::F(5), KeyModifiers::NONE)));
    h.run(cmds).await;
    let s = h.screen();
    assert!(s.contains("slow · last"), "{s}");
    assert!(s.contains("SELECT $1, pg_sleep($2)"), "{s}");
    assert!(
        !s.contains("SELECT pg_sleep($1)"),
        "it did not run again: {s}"
    );

    // Active: a sleeper and a session idle in its transaction.
    let idler = client(&as_app("idler")).await;
    idler.batch_execute("BEGIN; SELECT 1").await.unwrap();
    let sleeper = client(&as_app("sleeper")).await;
    let sleeper_pid = pid(&sleeper).await;
    let sleeping = tokio::spawn(async move { sleeper.batch_execute("SELECT pg_sleep(60)").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.keys("2").await;
    let s = h.screen();
    assert!(s.contains("pg_sleep(60)") && s.contains("idle tx"), "{s}");
    assert!(
        !s.lines().skip(1).any(|l| l.contains("opsdeck")),
        "own sessions are not listed: {s}"
    );
    snapshot("queries_active_80x24", &h.app);

    // Cancel the sleeper through the confirm popup (sorted by pid, it is found by filter).
    h.keys("/pg_sleep(60").await;
    h.key(KeyCode::Enter).await;
    h.keys("c").await;
    let s = h.screen();
    assert!(
        s.contains(&format!(
            "Cancel the running query of session {sleeper_pid}"
        )),
        "{s}"
    );
    h.keys("y").await;
    let err = sleeping.await.unwrap().unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    let audit = std::fs::read_to_string(h.session.audit_path()).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains("queries.cancel") && l.contains("\"ok\"")),
        "{audit}"
    );
    h.keys("/").await;
    for _ in 0.."pg_sleep(60".len() {
        h.key(KeyCode::Backspace).await;
    }
    h.key(KeyCode::Enter).await;

    // Locks: the idler's transaction blocks a waiter.
    idler
        .batch_execute("LOCK TABLE t IN SHARE MODE")
        .await
        .unwrap();
    let waiter = client(&as_app("waiter")).await;
    let waiting = tokio::spawn(async move {
        waiter
            .batch_execute("UPDATE t SET kind = 'x' WHERE id = 1")
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    h.keys("3").await;
    let s = h.screen();
    assert!(
        s.contains("holds Share ") && s.contains("waits RowExclusive "),
        "{s}"
    );
    snapshot("queries_locks_80x24", &h.app);
    h.app.update(Msg::Resize(40, 12));
    snapshot("queries_locks_40x12", &h.app);
    h.app.update(Msg::Resize(80, 24));
    idler.batch_execute("ROLLBACK").await.unwrap();
    waiting.await.unwrap().unwrap();

    pty_cancels_a_running_sleep(&sb, &db, &as_app("pty_sleeper")).await;
}

/// The real binary: `:queries`, the active tab, filter to the sleep, `c`, `y`.
async fn pty_cancels_a_running_sleep(sb: &PgSandbox, db: &str, sleeper_url: &str) {
    let sleeper = client(sleeper_url).await;
    let sleeping = tokio::spawn(async move { sleeper.batch_execute("SELECT pg_sleep(120)").await });
    let h = home();
    write_config(
        h.path(),
        &format!(
            "default_context = \"q\"\n[contexts.q]\npg = \"{}\"\n",
            sb.url_for(db)
        ),
    );
    let mut pty = Tui::spawn(h.path(), &[]);
    pty.wait_for("the first screen", |s| s.contains("? help"));
    pty.send(":queries\r");
    pty.wait_for("the queries screen", |s| s.contains("1 slow"));
    pty.send("2");
    pty.wait_for("the sleep", |s| s.contains("pg_sleep(120)"));
    pty.send("/pg_sleep(120");
    pty.send("\r");
    pty.send("c");
    pty.wait_for("the confirm popup", |s| {
        s.contains("Cancel the running query")
    });
    pty.send("y");
    let err = tokio::time::timeout(Duration::from_secs(20), sleeping)
        .await
        .expect("the sleep ends")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");
    pty.wait_for("the status line", |s| s.contains("queries.cancel sent"));
    pty.send("q");
    let (out, code, _) = pty.finish();
    assert_eq!(code, 0, "{}", &out[out.len().saturating_sub(300)..]);
}
