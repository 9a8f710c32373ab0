//! The connection probe behind the header's state and the lost-connection
//! banner: it answers in bounded time even when a server stops answering,
//! and probes never overlap (a newer probe would replace, and so silence, a
//! slow one).

use opsdeck::config::{Config, ContextOverrides, Paths, Thresholds};
use opsdeck::session::Session;
use opsdeck::tui::app::{probe, App, ConnState, PROBE_EVERY_MIN, PROBE_TIMEOUT};
use opsdeck::tui::cmd::Cmd;
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ContextInfo, Msg};
use opsdeck::tui::runtime::Runtime;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn names(cmds: &[Cmd]) -> Vec<String> {
    cmds.iter().map(|c| c.name()).collect()
}

fn context() -> ContextInfo {
    ContextInfo {
        name: "local".into(),
        read_only: false,
        has_pg: false,
        has_redis: true,
        thresholds: Thresholds::default(),
    }
}

#[tokio::test]
async fn probes_never_overlap_even_with_a_short_refresh() {
    let mut env = Env::test_env();
    env.settings.refresh_secs = 1;
    let t0 = Instant::now();
    let (mut app, _) = App::new(env, context(), t0, (80, 24));
    app.update(Msg::Connected(Ok(Default::default())));
    assert!(matches!(app.conn, ConnState::Up(_)));
    assert!(PROBE_TIMEOUT < PROBE_EVERY_MIN);
    let early = app.update(Msg::Tick(t0 + PROBE_TIMEOUT));
    assert!(
        !names(&early).contains(&"task:probe".to_string()),
        "a probe still within its timeout must not be replaced: {early:?}"
    );
    let due = app.update(Msg::Tick(t0 + PROBE_EVERY_MIN));
    assert!(names(&due).contains(&"task:probe".to_string()), "{due:?}");
}

/// Copies bytes one way until `frozen`; from then on holds what it reads.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    frozen: Arc<AtomicBool>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if frozen.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// A TCP proxy to the test Redis that can be made to stop answering, like a
/// server behind a dropped network path.
async fn freezable_redis() -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let frozen = Arc::new(AtomicBool::new(false));
    let f = frozen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = TcpStream::connect("127.0.0.1:6379").await else {
                return;
            };
            let (cr, cw) = client.into_split();
            let (sr, sw) = server.into_split();
            tokio::spawn(pump(cr, sw, f.clone()));
            tokio::spawn(pump(sr, cw, f.clone()));
        }
    });
    (port, frozen)
}

async fn next_connected(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Msg>) -> Result<(), String> {
    loop {
        match rx.recv().await {
            Some(Msg::Reply { msg, .. }) => {
                if let Msg::Connected(r) = *msg {
                    return r.map(|_| ());
                }
            }
            Some(_) => continue,
            None => panic!("runtime channel closed"),
        }
    }
}

#[tokio::test]
async fn a_server_that_stops_answering_is_reported_lost_in_bounded_time() {
    let (port, frozen) = freezable_redis().await;
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        &format!("[contexts.a]\nredis = \"redis://127.0.0.1:{port}\"\n"),
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let session = Session::new(
        config,
        Paths::under(dir.path().to_path_buf()),
        Some("a"),
        &ContextOverrides::default(),
    )
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut rt = Runtime::new(Arc::new(session), ContextOverrides::default(), false, tx);

    rt.exec(probe());
    let first = tokio::time::timeout(Duration::from_secs(10), next_connected(&mut rx))
        .await
        .expect("the first probe answers");
    assert_eq!(first, Ok(()), "the proxy passes traffic before freezing");

    frozen.store(true, Ordering::SeqCst);
    let started = Instant::now();
    rt.exec(probe());
    let lost = tokio::time::timeout(PROBE_TIMEOUT * 3, next_connected(&mut rx))
        .await
        .expect("a probe answers even when the server does not");
    let reason = lost.expect_err("a server that does not answer is not up");
    assert!(reason.contains("no answer"), "{reason}");
    assert!(
        started.elapsed() < PROBE_TIMEOUT * 2,
        "{:?}",
        started.elapsed()
    );
}
