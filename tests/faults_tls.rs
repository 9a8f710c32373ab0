//! Fault matrix, Postgres TLS: a throwaway server with a self-signed
//! certificate (CA:TRUE, as `openssl req -x509` makes it) pinned as
//! sslrootcert works with verify-ca and verify-full as it does with psql; a
//! wrong host, an untrusted root and sslmode=require against a server
//! without TLS are exit 4 with one line naming the problem, as psql refuses.

mod common;
mod conn_support;

use common::{home, opsdeck};
use conn_support::{context, env_of};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A self-signed certificate for `localhost` only and its key, in `dir`.
fn self_signed(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt"));
    let key = dir.join(format!("{name}.key"));
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:P-256", "-nodes", "-days", "2"])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "openssl made the certificate");
    let text = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&cert)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&text.stdout).contains("CA:TRUE"),
        "the case psql accepts and webpki alone refuses: a CA certificate as the server's"
    );
    (cert, key)
}

/// A throwaway server that turns TLS on with `cert`/`key` (copied into its
/// data directory, owned by the server's OS user) by a reload.
async fn tls_server(cert: &Path, key: &Path) -> PgSandbox {
    let sb = PgSandbox::start(PgOptions::default()).await.unwrap();
    let data = sb.data_dir();
    std::fs::copy(cert, data.join("server.crt")).unwrap();
    std::fs::copy(key, data.join("server.key")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        data.join("server.key"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    if opsdeck::sandbox::dirs::is_root() {
        let ok = Command::new("chown")
            .arg("postgres:")
            .arg(data.join("server.crt"))
            .arg(data.join("server.key"))
            .status()
            .unwrap()
            .success();
        assert!(ok);
    }
    let c = sb.connect("postgres").await.unwrap();
    c.batch_execute("ALTER SYSTEM SET ssl = on").await.unwrap();
    c.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let c = sb.connect("postgres").await.unwrap();
        let on: String = c.query_one("SHOW ssl", &[]).await.unwrap().get(0);
        if on == "on" {
            return sb;
        }
        assert!(Instant::now() < deadline, "ssl did not turn on");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn conninfo(host: &str, port: u16, mode: &str, root: &Path) -> String {
    format!(
        "host={host} port={port} user=postgres dbname=postgres sslmode={mode} sslrootcert={}",
        root.display()
    )
}

/// opsdeck `init --yes` (a read of the server and an idempotent write) on
/// `conn`: (exit code, stderr).
fn opsdeck_on(home: &Path, conn: &str) -> (i32, String) {
    let out = opsdeck(home)
        .args(["--pg", conn, "init", "--yes"])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Whether psql connects with `conn` and sees TLS in use.
fn psql_connects(conn: &str) -> bool {
    let out = Command::new("psql")
        .args([
            conn,
            "-XAtc",
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ])
        .output()
        .unwrap();
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "t"
}

fn one_line(err: &str) {
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pinned_self_signed_certificate_works_as_with_psql() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(certs.path(), "server");
    let sb = tls_server(&cert, &key).await;
    let h = home();
    for (host, mode) in [
        ("127.0.0.1", "verify-ca"),
        ("localhost", "verify-ca"),
        ("localhost", "verify-full"),
        ("localhost", "require"),
    ] {
        let conn = conninfo(host, sb.port(), mode, &cert);
        assert!(psql_connects(&conn), "psql: {conn}");
        let (code, err) = opsdeck_on(h.path(), &conn);
        assert_eq!(code, 0, "{conn}: {err}");
        assert!(!err.contains("CaUsedAsEndEntity"), "{err}");
    }
    // The session really is encrypted with the pinned certificate.
    let conn = conninfo("127.0.0.1", sb.port(), "verify-ca", &cert);
    let pg = opsdeck::conn::connect_pg_with(&context("t", &conn, false, None), &env_of(&[]))
        .await
        .unwrap();
    let ssl: bool = pg
        .row(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_host_and_an_untrusted_root_are_refused_as_psql_refuses() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = self_signed(certs.path(), "server");
    let (other, _) = self_signed(certs.path(), "other");
    let sb = tls_server(&cert, &key).await;
    let h = home();

    // The certificate names localhost, not 127.0.0.1.
    let conn = conninfo("127.0.0.1", sb.port(), "verify-full", &cert);
    assert!(!psql_connects(&conn), "psql refuses too");
    let (code, err) = opsdeck_on(h.path(), &conn);
    assert_eq!(code, 4, "{err}");
    one_line(&err);
    assert!(
        err.contains("sslmode=verify-full") && err.contains("127.0.0.1"),
        "{err}"
    );

    // A root that did not sign the server's certificate.
    for mode in ["verify-ca", "verify-full"] {
        let conn = conninfo("localhost", sb.port(), mode, &other);
        assert!(!psql_connects(&conn), "psql refuses too: {mode}");
        let (code, err) = opsdeck_on(h.path(), &conn);
        assert_eq!(code, 4, "{mode}: {err}");
        one_line(&err);
        assert!(
            err.contains(&format!("sslmode={mode}"))
                && err.contains("UnknownIssuer")
                && err.contains("chain to that root"),
            "{mode}: {err}"
        );
    }
    // Nothing was audited: no change started.
    assert!(!h.path().join("data/audit.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_against_a_server_without_tls_is_one_line_exit_4() {
    let sb = PgSandbox::start(PgOptions::default()).await.unwrap();
    let h = home();
    let conn = format!(
        "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=require",
        sb.port()
    );
    let (code, err) = opsdeck_on(h.path(), &conn);
    assert_eq!(code, 4, "{err}");
    one_line(&err);
    assert!(
        err.contains("ssl=off") && err.contains("sslmode=require"),
        "{err}"
    );
}
