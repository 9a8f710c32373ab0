//! The confirm popup wired to the safety layer, the progress view's cancel,
//! and the one-time secret view, driven through `App::update`; the
//! operation runs against a real session whose audit log is a temp file.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::config::{Config, ContextOverrides, Paths, Thresholds};
use opsdeck::conn::Secret;
use opsdeck::safety::{Intent, Risk};
use opsdeck::session::Session;
use opsdeck::tui::app::{App, Popup};
use opsdeck::tui::cmd::{Cmd, PendingOp, TaskCx};
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ContextInfo, Msg};
use std::sync::Arc;
use std::time::Instant;

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
        Intent::new("tenants.suspend", "acme", risk, "Suspend tenant acme."),
        "suspending acme",
        |_cx, guard| async move {
            let r = guard
                .run(
                    async { Ok::<_, opsdeck::Error>(1) },
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
    let (_c, cancel) = tokio::sync::watch::channel(false);
    let mut queue: std::collections::VecDeque<Cmd> = cmds.into();
    while let Some(c) = queue.pop_front() {
        if let Cmd::Task { key, run, .. } = c {
            let cx = TaskCx::new(session.clone(), key.clone(), tx.clone(), cancel.clone());
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
            Intent::new("drills.run", "scratch", Risk::Mutating, "Run a drill."),
            opsdeck::safety::Approval::Confirmed,
        )
        .await
        .unwrap();
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let mut cx = TaskCx::new(session.clone(), Some("op:d".into()), tx, cancel_rx);
    cancel_tx.send(true).unwrap();
    let r = guard
        .run(
            cx.until_cancelled(async {
                tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                Ok(())
            }),
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
