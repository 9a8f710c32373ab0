//! The confirm popup wired to the safety layer, the progress view's cancel
//! (down to the query on the server), and the one-time secret view, driven
//! through `App::update`; the operation runs against a real session whose
//! audit log is a temp file.

mod common;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::config::{Config, ContextOverrides, Paths, Thresholds};
use opsdeck::conn::Secret;
use opsdeck::safety::{Intent, Mutation, Risk};
use opsdeck::session::Session;
use opsdeck::stop::Stop;
use opsdeck::tui::app::{App, Popup};
use opsdeck::tui::cmd::{Cmd, PendingOp, TaskCx};
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ContextInfo, Msg};
use opsdeck::tui::runtime::Runtime;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A test-only plan: just the intent to approve.
struct Probe(Intent);

impl Mutation for Probe {
    fn intent(&self) -> &Intent {
        &self.0
    }
}

fn session(read_only: bool) -> (tempfile::TempDir, Arc<Session>) {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(
        Config::default(),
        Paths::under(dir.path().to_path_buf()),
        None,
        &ContextOverrides {
            read_only,
            ..Default::default()
        },
    )
    .unwrap();
    (dir, Arc::new(s))
}

fn app(read_only: bool) -> App {
    let ctx = ContextInfo {
        name: "local".into(),
        read_only,
        has_pg: false,
        has_redis: false,
        thresholds: Thresholds::default(),
    };
    App::new(Env::test_env(), ctx, Instant::now(), (80, 24)).0
}

fn key(code: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn op(risk: Risk) -> Cmd {
    Cmd::Confirm(PendingOp::new(
        Probe(Intent::new(
            "tenants.suspend",
            "acme",
            risk,
            "Suspend tenant acme.",
        )),
        "suspending acme",
        |_cx, guard| async move {
            let r = guard
                .run(
                    |_, _| async { Ok::<_, opsdeck::Error>(1) },
                    |n| serde_json::json!({ "rows": n }),
                )
                .await;
            Msg::Status(
                r.map(|n| format!("suspended ({n} row)"))
                    .map_err(|e| e.to_string()),
            )
        },
    ))
}

/// Runs the effects like the runtime does and feeds the replies back.
async fn run(app: &mut App, session: &Arc<Session>, cmds: Vec<Cmd>) {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut queue: std::collections::VecDeque<Cmd> = cmds.into();
    while let Some(c) = queue.pop_front() {
        if let Cmd::Task { key, run, .. } = c {
            let cx = TaskCx::new(session.clone(), key.clone(), tx.clone(), Stop::new());
            let msg = run(cx).await;
            queue.extend(app.update(Msg::Reply {
                epoch: 0,
                key,
                msg: Box::new(msg),
            }));
        }
    }
}

fn audit(session: &Session) -> String {
    std::fs::read_to_string(session.audit_path()).unwrap_or_default()
}

#[tokio::test]
async fn default_is_cancel_and_nothing_runs() {
    let (_d, session) = session(false);
    let mut a = app(false);
    a.absorb(vec![op(Risk::Mutating)]);
    assert!(matches!(a.popup, Some(Popup::Confirm(_))));
    let cmds = a.update(key(KeyCode::Enter));
    assert!(cmds.is_empty(), "{cmds:?}");
    assert!(a.popup.is_none());
    assert!(a
        .status
        .as_ref()
        .unwrap()
        .text
        .contains("nothing was changed"));
    assert_eq!(audit(&session), "");
}

#[tokio::test]
async fn yes_authorizes_runs_with_the_guard_and_audits() {
    let (_d, session) = session(false);
    let mut a = app(false);
    a.absorb(vec![op(Risk::Mutating)]);
    a.update(key(KeyCode::Tab));
    let cmds = a.update(key(KeyCode::Enter));
    assert_eq!(
        cmds.iter().map(|c| c.name()).collect::<Vec<_>>(),
        vec!["task:operation"]
    );
    assert!(
        matches!(a.popup, Some(Popup::Progress(_))),
        "progress while it runs"
    );
    run(&mut a, &session, cmds).await;
    assert!(a.popup.is_none(), "the reply closes the progress view");
    let status = a.status.clone().unwrap();
    assert!(
        !status.error && status.text == "suspended (1 row)",
        "{status:?}"
    );
    let log = audit(&session);
    assert!(
        log.contains("\"start\"") && log.contains("\"ok\"") && log.contains("tenants.suspend"),
        "{log}"
    );
}

#[tokio::test]
async fn destructive_needs_the_typed_name() {
    let (_d, session) = session(false);
    let mut a = app(false);
    a.absorb(vec![op(Risk::Destructive)]);
    assert!(
        a.update(key(KeyCode::Char('y'))).is_empty(),
        "y is just a typed letter here"
    );
    let cmds = a.update(key(KeyCode::Enter));
    run(&mut a, &session, cmds).await;
    let status = a.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("did not match"),
        "{status:?}"
    );
    assert!(audit(&session).contains("\"refused\""));

    a.absorb(vec![op(Risk::Destructive)]);
    for c in "acme".chars() {
        a.update(key(KeyCode::Char(c)));
    }
    let cmds = a.update(key(KeyCode::Enter));
    run(&mut a, &session, cmds).await;
    assert_eq!(a.status.clone().unwrap().text, "suspended (1 row)");
}

#[tokio::test]
async fn read_only_shows_the_refusal_instead_of_asking() {
    let mut a = app(true);
    a.absorb(vec![op(Risk::Mutating)]);
    match &a.popup {
        Some(Popup::Confirm(c)) => assert!(c.refusal().unwrap().contains("read-only")),
        _ => panic!("no popup"),
    }
    assert!(
        a.update(key(KeyCode::Char('y'))).is_empty(),
        "y does not confirm a refusal"
    );
    assert!(a.popup.is_none());
}

#[tokio::test]
async fn esc_in_progress_cancels_the_task() {
    let mut a = app(false);
    a.absorb(vec![Cmd::Progress {
        key: "op:x".into(),
        label: "drill".into(),
    }]);
    let cmds = a.update(key(KeyCode::Esc));
    assert_eq!(
        cmds.iter().map(|c| c.name()).collect::<Vec<_>>(),
        vec!["abort:op:x"]
    );
    assert!(a.update(key(KeyCode::Esc)).is_empty(), "asked once");
    a.update(Msg::Reply {
        epoch: 0,
        key: Some("op:x".into()),
        msg: Box::new(Msg::Status(Ok("drill cancelled".into()))),
    });
    assert!(a.popup.is_none());
}

#[tokio::test]
async fn cancelled_guarded_work_is_audited_as_cancelled() {
    let (_d, session) = session(false);
    let safety = session.safety().await;
    let guard = safety
        .authorize(
            Probe(Intent::new(
                "drills.run",
                "scratch",
                Risk::Mutating,
                "Run a drill.",
            )),
            opsdeck::safety::Approval::Confirmed,
        )
        .await
        .unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = Stop::new();
    let cx = TaskCx::new(session.clone(), Some("op:d".into()), tx, stop.clone());
    stop.trigger();
    let r = guard
        .run(
            |_, _| {
                cx.until_cancelled(async {
                    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                    Ok(())
                })
            },
            |_| serde_json::Value::Null,
        )
        .await;
    assert!(matches!(r, Err(opsdeck::Error::Cancelled)));
    assert!(audit(&session).contains("\"cancelled\""));
}

#[tokio::test]
async fn secret_is_copied_once_then_gone() {
    let mut a = app(false);
    a.absorb(vec![Cmd::ShowSecret {
        title: "new key".into(),
        secret: Secret::new("sk_live_x"),
    }]);
    let cmds = a.update(key(KeyCode::Char('c')));
    assert_eq!(
        cmds.iter().map(|c| c.name()).collect::<Vec<_>>(),
        vec!["clipboard"]
    );
    match &a.popup {
        Some(Popup::Secret(s)) => assert!(!s.visible()),
        _ => panic!("popup closed too early"),
    }
    a.update(key(KeyCode::Esc));
    assert!(a.popup.is_none());
}

/// A session on a fresh database over TLS (sslmode=require: a cancel request
/// sent without TLS would be refused by the client), with the runtime.
async fn pg_runtime() -> (
    common::TestDb,
    tempfile::TempDir,
    Arc<Session>,
    Runtime,
    tokio::sync::mpsc::UnboundedReceiver<Msg>,
) {
    let db = common::TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let overrides = ContextOverrides {
        pg: Some(format!("{}?sslmode=require", db.url)),
        ..Default::default()
    };
    let session = Arc::new(
        Session::new(
            Config::default(),
            Paths::under(dir.path().to_path_buf()),
            None,
            &overrides,
        )
        .unwrap(),
    );
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let rt = Runtime::new(session.clone(), overrides, true, tx);
    (db, dir, session, rt, rx)
}

/// Whether a query with this marker runs, seen from a separate client.
async fn running(db: &common::TestDb, marker: &str) -> bool {
    let c = db.client().await;
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE state = 'active' AND pid <> pg_backend_pid() AND position($1 in query) > 0",
            &[&marker],
        )
        .await
        .unwrap()
        .get(0);
    n > 0
}

/// Polls until the query runs (`want`) or is gone; gives the time it took.
async fn wait_until(db: &common::TestDb, marker: &str, want: bool, limit: Duration) -> Duration {
    let t0 = Instant::now();
    while running(db, marker).await != want {
        assert!(
            t0.elapsed() < limit,
            "query {marker} still {} after {limit:?}",
            if want { "absent" } else { "running" }
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    t0.elapsed()
}

/// Feeds the runtime's messages to the app until the status line matches.
async fn status_until(
    a: &mut App,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>,
    rt: &mut Runtime,
    want: &str,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        if let Some(s) = a.status.as_ref().filter(|s| s.text.contains(want)) {
            assert!(!s.error, "status is an error: {}", s.text);
            return s.text.clone();
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(m)) => {
                for c in a.update(m) {
                    rt.exec(c);
                }
            }
            other => panic!(
                "no status with {want:?} (last: {:?}, got {other:?})",
                a.status.as_ref().map(|s| &s.text)
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_in_the_progress_view_cancels_the_query_on_the_server() {
    let (db, _dir, session, mut rt, mut rx) = pg_runtime().await;
    let marker = common::unique("sleep");
    let sql = format!("SELECT pg_sleep(30) /* {marker} */");
    let mut a = app(false);
    a.absorb(vec![Cmd::Confirm(PendingOp::new(
        Probe(Intent::new(
            "test.sleep",
            "db",
            Risk::Mutating,
            "Sleep on the server.",
        )),
        "sleeping",
        move |cx, guard| async move {
            let r = guard
                .run(
                    |_, _| async {
                        let pg = cx.pg_cancellable().await?;
                        cx.until_cancelled(async { pg.rows(&sql, &[]).await.map(|r| r.len()) })
                            .await
                    },
                    |_| serde_json::Value::Null,
                )
                .await;
            Msg::Status(r.map(|_| "slept".into()).map_err(|e| e.to_string()))
        },
    ))]);
    a.update(key(KeyCode::Tab));
    for c in a.update(key(KeyCode::Enter)) {
        rt.exec(c);
    }
    assert!(matches!(a.popup, Some(Popup::Progress(_))));
    wait_until(&db, &marker, true, Duration::from_secs(10)).await;

    // Another task's query on the shared session must survive the cancel.
    let shared = tokio::spawn({
        let session = session.clone();
        async move {
            let pg = session.pg().await?;
            pg.rows("SELECT pg_sleep(1.5)", &[]).await?;
            Ok::<_, opsdeck::Error>(())
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;

    let cmds = a.update(key(KeyCode::Esc));
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert!(
        cmds[0].name().starts_with("abort:op:test.sleep"),
        "{cmds:?}"
    );
    for c in cmds {
        rt.exec(c);
    }
    let took = wait_until(&db, &marker, false, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_secs(2),
        "query ran {took:?} after Esc"
    );

    let text = status_until(&mut a, &mut rx, &mut rt, "cancelled on the server").await;
    assert!(text.starts_with("operation cancelled"), "{text}");
    assert!(a.popup.is_none(), "the progress view closed");
    assert!(
        audit(&session).contains("\"cancelled\""),
        "{}",
        audit(&session)
    );
    shared
        .await
        .unwrap()
        .expect("the shared session's query was not cancelled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_a_screen_cancels_its_queries_on_the_server() {
    let (db, _dir, _session, mut rt, mut rx) = pg_runtime().await;
    let marker = common::unique("sleep");
    let sql = format!("SELECT pg_sleep(30) /* {marker} */");
    // Not in until_cancelled: the server's cancel is what stops it.
    rt.exec(Cmd::task(
        "tenants.page",
        Some("tenants:reset".into()),
        move |cx| async move {
            let r = async {
                let pg = cx.pg_cancellable().await?;
                pg.rows(&sql, &[]).await.map(|r| r.len())
            }
            .await;
            Msg::Status(r.map(|_| "slept".into()).map_err(|e| e.to_string()))
        },
    ));
    wait_until(&db, &marker, true, Duration::from_secs(10)).await;
    let mut a = app(false);
    for c in a.update(key(KeyCode::Char(':'))) {
        rt.exec(c);
    }
    for ch in "tenants".chars() {
        a.update(key(KeyCode::Char(ch)));
    }
    a.update(key(KeyCode::Enter));
    let cmds = a.update(key(KeyCode::Esc));
    let names: Vec<String> = cmds.iter().map(|c| c.name()).collect();
    assert!(
        names.contains(&"abort-screen:tenants".to_string()),
        "{names:?}"
    );
    for c in cmds {
        rt.exec(c);
    }
    let took = wait_until(&db, &marker, false, Duration::from_secs(5)).await;
    assert!(
        took < Duration::from_secs(2),
        "query ran {took:?} after leaving"
    );
    let text = status_until(&mut a, &mut rx, &mut rt, "cancelled on the server").await;
    assert!(text.starts_with("tenants.page cancelled"), "{text}");
}
