//! `opsdeck login` and the OS keyring (Linux kernel keyutils): stored inside
//! a `keyctl session`, read back by a later connect in that session, removed
//! by `--delete`; and without a session keyring nothing fails because of it.

mod common;
mod conn_support;

use common::home;
use conn_support::{context, env_of, ScramServer, APP_DB, APP_PASSWORD};
use opsdeck::conn::connect_pg_with;
use opsdeck::conn::credentials::Source;
use std::io::Write;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

/// Whether this test process has a session keyring of its own (it has none
/// when started outside a login session, as on this machine).
fn own_session_keyring() -> bool {
    let out = Command::new("keyctl")
        .args(["show", "@s"])
        .output()
        .expect("keyctl (apt-get install keyutils)");
    !String::from_utf8_lossy(&out.stdout).contains("_uid_ses.")
}

/// A config with one context pointing at the app role, no password anywhere.
fn config(h: &std::path::Path, ctx: &str, s: &ScramServer) -> std::path::PathBuf {
    let cfg = h.join("config.toml");
    std::fs::write(
        &cfg,
        format!("[contexts.{ctx}]\npg = \"{}\"\n", s.url(None)),
    )
    .unwrap();
    cfg
}

/// `program args...` with the isolated env of common::opsdeck, as a plain Command.
fn command(program: &str, h: &std::path::Path, cfg: &std::path::Path, ctx: &str) -> Command {
    let mut cmd = Command::new(program);
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.env("OPSDECK_HOME", h)
        .env("NO_COLOR", "1")
        .env("OPSDECK_CONFIG", cfg)
        .env("OPSDECK_CONTEXT", ctx)
        .env("BIN", assert_cmd::cargo::cargo_bin("opsdeck"))
        .env("CTX", ctx)
        .env("PW", APP_PASSWORD);
    cmd
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn login_stores_and_a_later_connect_in_the_session_reads_it() {
    let s = ScramServer::start().await;
    let h = home();
    let ctx = common::unique("kr");
    let cfg = config(h.path(), &ctx, &s);
    let script = r#"
        "$BIN" init --yes; echo "before=$?"
        printf '%s\n' "$PW" | "$BIN" login "$CTX"; echo "login=$?"
        "$BIN" init --yes; echo "after=$?"
        "$BIN" login "$CTX" --delete; echo "delete=$?"
        "$BIN" init --yes; echo "deleted=$?"
    "#;
    let out = command("keyctl", h.path(), &cfg, &ctx)
        .args(["session", "-", "sh", "-c", script])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    for expected in ["before=4", "login=0", "after=0", "delete=0", "deleted=4"] {
        assert!(
            stdout.contains(expected),
            "{expected} missing:\n{stdout}\n{stderr}"
        );
    }
    assert!(
        stderr.contains(&format!("stored the Postgres password for context '{ctx}'")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "removed the stored Postgres password for context '{ctx}'"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("asks for a password and none was found"),
        "{stderr}"
    );
    assert!(!stderr.contains(APP_PASSWORD) && !stdout.contains(APP_PASSWORD));
    let c = s.sandbox.connect(APP_DB).await.unwrap();
    let exists: bool = c
        .query_one("SELECT to_regnamespace('opsdeck') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(exists, "init with the keyring password created the schema");
}

#[tokio::test]
async fn without_a_session_keyring_login_exits_2_and_connects_fall_through() {
    let s = ScramServer::start().await;
    let h = home();
    let ctx = common::unique("nokr");
    let cfg = config(h.path(), &ctx, &s);
    let bin = assert_cmd::cargo::cargo_bin("opsdeck");
    let bin = bin.to_str().unwrap();

    let mut login = command(bin, h.path(), &cfg, &ctx)
        .args(["login", &ctx])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    login
        .stdin
        .take()
        .unwrap()
        .write_all(b"whatever\n")
        .unwrap();
    let out = login.wait_with_output().unwrap();
    let (_, stderr) = text(&out);
    if own_session_keyring() {
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let del = command(bin, h.path(), &cfg, &ctx)
            .args(["login", &ctx, "--delete"])
            .output()
            .unwrap();
        assert_eq!(del.status.code(), Some(0));
    } else {
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains("no OS keyring is usable"), "{stderr}");
        assert!(stderr.contains("password_command"), "{stderr}");
        assert!(!stderr.contains("whatever"), "{stderr}");
        // Nothing may be left in the user's shared keyring either.
        let shared = Command::new("keyctl")
            .args(["show", "@us"])
            .output()
            .unwrap();
        let shared = String::from_utf8_lossy(&shared.stdout);
        assert!(!shared.contains(&format!("{ctx}@opsdeck")), "{shared}");
    }

    let out = command(bin, h.path(), &cfg, &ctx)
        .env("PGPASSWORD", APP_PASSWORD)
        .args(["init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out).1);

    let out = command(bin, h.path(), &cfg, &ctx)
        .args(["login", "no-such-context"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).1.contains("no context named 'no-such-context'"));
}

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn an_unusable_keyring_is_reported_once_and_never_fails_the_connect() {
    let s = ScramServer::start().await;
    let h = home();
    let log = Capture::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let env = env_of(&[
        ("HOME", h.path().display().to_string()),
        ("PGPASSWORD", APP_PASSWORD.to_string()),
    ]);
    for _ in 0..2 {
        let pg = connect_pg_with(&context("nokeyring", &s.url(None), false, None), &env)
            .await
            .unwrap();
        assert_eq!(pg.password_source, Some(Source::Env));
    }
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let warnings = logged.matches("no OS keyring is reachable").count();
    if own_session_keyring() {
        assert_eq!(warnings, 0, "{logged}");
    } else {
        assert_eq!(warnings, 1, "said once: {logged}");
    }
    assert!(!logged.contains(APP_PASSWORD), "{logged}");
}
