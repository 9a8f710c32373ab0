//! Connecting the libpq way against real servers: URL, key=value, PG* env,
//! Unix sockets, multiple hosts, session settings, TLS modes, and every
//! password source against a server that really checks passwords.

mod common;
mod conn_support;

use common::{home, opsdeck, TestDb};
use conn_support::{context, env_of, ScramServer, APP_DB, APP_PASSWORD, APP_USER};
use opsdeck::conn::credentials::Source;
use opsdeck::conn::{connect_pg_with, Pg};
use opsdeck::{Error, ExitCode};

const SNAKEOIL: &str = "/etc/ssl/certs/ssl-cert-snakeoil.pem";

async fn connect(spec: &str, env: &[(&str, String)]) -> opsdeck::Result<Pg> {
    let h = home();
    let mut env = env.to_vec();
    if !env.iter().any(|(k, _)| *k == "HOME") {
        env.push(("HOME", h.path().display().to_string()));
    }
    connect_pg_with(&context("t", spec, false, None), &env_of(&env)).await
}

async fn one(pg: &Pg, sql: &str) -> String {
    pg.row(sql, &[]).await.unwrap().get(0)
}

fn connect_err(r: opsdeck::Result<Pg>) -> String {
    match r {
        Ok(_) => panic!("expected a connection error"),
        Err(e) => {
            assert_eq!(e.exit_code(), ExitCode::Connect, "{e}");
            let msg = e.to_string();
            assert_eq!(msg.lines().count(), 1, "{msg}");
            msg
        }
    }
}

#[tokio::test]
async fn url_keyvalue_env_and_socket_reach_the_same_database() {
    let db = TestDb::new().await;
    let kv = format!(
        "host = 127.0.0.1 port=5432 user='postgres' dbname='{}'",
        db.name
    );
    let env = vec![
        ("PGHOST", "127.0.0.1".to_string()),
        ("PGPORT", "5432".to_string()),
        ("PGUSER", "postgres".to_string()),
        ("PGDATABASE", db.name.clone()),
    ];
    for (spec, env) in [(db.url.as_str(), vec![]), (kv.as_str(), vec![]), ("", env)] {
        let pg = connect(spec, &env).await.unwrap();
        assert_eq!(
            one(&pg, "SELECT current_database()::text").await,
            db.name,
            "{spec}"
        );
        assert_eq!(pg.role, "postgres");
        assert!(
            pg.target.starts_with("postgres@127.0.0.1:5432/"),
            "{}",
            pg.target
        );
    }
    // No host anywhere: the default socket directory, as libpq on Debian.
    let env = vec![
        ("PGUSER", "postgres".to_string()),
        ("PGDATABASE", db.name.clone()),
    ];
    let pg = connect("", &env).await.unwrap();
    let via: Option<String> = pg
        .row("SELECT inet_server_addr()::text", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(via, None, "a Unix-socket session has no server address");
    assert!(
        pg.target.contains("/var/run/postgresql:5432"),
        "{}",
        pg.target
    );
    // TLS is never used on a socket, so verify-full needs no certificate there.
    let spec = format!(
        "host=/var/run/postgresql user=postgres dbname={} sslmode=verify-full",
        db.name
    );
    let pg = connect(&spec, &[]).await.unwrap();
    assert!(!ssl_in_use(&pg).await);
    let url = format!(
        "postgresql:///{}?host=%2Fvar%2Frun%2Fpostgresql&user=postgres",
        db.name
    );
    let pg = connect(&url, &[]).await.unwrap();
    assert_eq!(one(&pg, "SELECT current_database()::text").await, db.name);
}

#[tokio::test]
async fn multiple_hosts_fall_through_to_one_that_answers() {
    let db = TestDb::new().await;
    let spec = format!("postgres://postgres@127.0.0.1:1,127.0.0.1:5432/{}", db.name);
    let pg = connect(&spec, &[]).await.unwrap();
    assert!(pg.target.contains("127.0.0.1:5432"), "{}", pg.target);
    let msg = connect_err(connect("postgres://postgres@127.0.0.1:1,127.0.0.1:2/x", &[]).await);
    assert!(
        msg.contains("127.0.0.1:1: ") && msg.contains("127.0.0.1:2: "),
        "{msg}"
    );
}

#[tokio::test]
async fn session_settings_are_in_every_session() {
    let db = TestDb::new().await;
    let mut ctx = context("prod-ro", &db.url, true, None);
    ctx.statement_timeout = std::time::Duration::from_millis(1234);
    ctx.lock_timeout = std::time::Duration::from_millis(2000);
    ctx.idle_in_transaction_timeout = std::time::Duration::from_secs(61);
    let h = home();
    let env = env_of(&[("HOME", h.path().display().to_string())]);
    let pg = connect_pg_with(&ctx, &env).await.unwrap();
    assert_eq!(one(&pg, "SHOW statement_timeout").await, "1234ms");
    assert_eq!(one(&pg, "SHOW lock_timeout").await, "2s");
    assert_eq!(
        one(&pg, "SHOW idle_in_transaction_session_timeout").await,
        "61s"
    );
    assert_eq!(one(&pg, "SHOW application_name").await, "opsdeck/prod-ro");
    assert_eq!(one(&pg, "SHOW default_transaction_read_only").await, "on");
    assert_eq!(one(&pg, "SHOW TimeZone").await, "UTC");
    let err = pg.batch("CREATE TABLE t (x int)").await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("25006"), "{err}");

    // Options in the spec are kept, but cannot undo the context's read-only.
    let spec = format!(
        "{}?options=-c%20search_path%3Dcustom%20-c%20default_transaction_read_only%3Doff&application_name=mine",
        db.url
    );
    let pg = connect_pg_with(&context("prod-ro", &spec, true, None), &env)
        .await
        .unwrap();
    assert_eq!(one(&pg, "SHOW search_path").await, "custom");
    assert_eq!(one(&pg, "SHOW default_transaction_read_only").await, "on");
    assert_eq!(one(&pg, "SHOW application_name").await, "mine");
    assert_eq!(pg.settings().overridden.len(), 1, "the override is stated");

    // A timeout the spec sets is the user's choice for this connection: kept.
    let spec = format!(
        "{}?options=-c%20statement_timeout%3D1234%20-c%20lock_timeout%3D2s",
        db.url
    );
    let pg = connect_pg_with(&context("rw", &spec, false, None), &env)
        .await
        .unwrap();
    assert_eq!(one(&pg, "SHOW statement_timeout").await, "1234ms");
    assert_eq!(one(&pg, "SHOW lock_timeout").await, "2s");
    assert_eq!(pg.limits, opsdeck::conn::Limits::Startup);

    let pg = connect_pg_with(&context("rw", &db.url, false, None), &env)
        .await
        .unwrap();
    assert_eq!(one(&pg, "SHOW default_transaction_read_only").await, "off");
    assert_eq!(one(&pg, "SHOW statement_timeout").await, "30s");
}

async fn ssl_in_use(pg: &Pg) -> bool {
    pg.row(
        "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        &[],
    )
    .await
    .unwrap()
    .get(0)
}

#[tokio::test]
async fn tls_modes_against_the_machine_server() {
    let db = TestDb::new().await;
    let base = format!("user=postgres dbname={}", db.name);
    let ssl_on = {
        let pg = connect(&format!("host=127.0.0.1 {base}"), &[])
            .await
            .unwrap();
        one(&pg, "SHOW ssl").await == "on"
    };
    assert!(
        ssl_on,
        "the machine's Postgres should have ssl=on (Debian default)"
    );

    let pg = connect(&format!("host=127.0.0.1 {base} sslmode=disable"), &[])
        .await
        .unwrap();
    assert!(!ssl_in_use(&pg).await);
    for mode in ["prefer", "require", "allow"] {
        let pg = connect(&format!("host=127.0.0.1 {base} sslmode={mode}"), &[])
            .await
            .unwrap();
        assert_eq!(ssl_in_use(&pg).await, mode != "allow", "sslmode={mode}");
    }
    // The snakeoil certificate is self-signed for "localhost".
    let pg = connect(
        &format!("host=127.0.0.1 {base} sslmode=verify-ca sslrootcert={SNAKEOIL}"),
        &[],
    )
    .await
    .unwrap();
    assert!(ssl_in_use(&pg).await);
    let pg = connect(
        &format!("host=localhost {base} sslmode=verify-full sslrootcert={SNAKEOIL}"),
        &[],
    )
    .await
    .unwrap();
    assert!(ssl_in_use(&pg).await);
    let env = vec![
        ("PGSSLMODE", "require".to_string()),
        ("PGSSLROOTCERT", SNAKEOIL.to_string()),
    ];
    let pg = connect(&format!("host=127.0.0.1 {base}"), &env)
        .await
        .unwrap();
    assert!(
        ssl_in_use(&pg).await,
        "require with a root cert verifies and encrypts"
    );

    let msg = connect_err(
        connect(
            &format!("host=127.0.0.1 {base} sslmode=verify-full sslrootcert={SNAKEOIL}"),
            &[],
        )
        .await,
    );
    assert!(msg.contains("TLS failed"), "{msg}");
    assert!(
        msg.contains("sslmode=verify-full") && msg.contains(SNAKEOIL),
        "{msg}"
    );
    assert!(msg.contains("127.0.0.1"), "{msg}");

    let other_root = "/etc/ssl/certs/ISRG_Root_X1.pem";
    if std::path::Path::new(other_root).exists() {
        let msg = connect_err(
            connect(
                &format!("host=localhost {base} sslmode=verify-ca sslrootcert={other_root}"),
                &[],
            )
            .await,
        );
        assert!(
            msg.contains("sslmode=verify-ca") && msg.contains("does not chain"),
            "{msg}"
        );
    }

    match connect(
        &format!("host=127.0.0.1 {base} sslmode=verify-ca sslrootcert=/nonexistent/ca.pem"),
        &[],
    )
    .await
    {
        Err(e @ Error::Usage(_)) => assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}"),
        Err(e) => panic!("expected a usage error, got {e}"),
        Ok(_) => panic!("expected a usage error"),
    }
    let h = home();
    let env = vec![("HOME", h.path().display().to_string())];
    match connect(&format!("host=127.0.0.1 {base} sslmode=verify-full"), &env).await {
        Err(e @ Error::Usage(_)) => assert!(e.to_string().contains(".postgresql/root.crt"), "{e}"),
        Err(e) => panic!("expected a usage error, got {e}"),
        Ok(_) => panic!("expected a usage error"),
    }
}

#[tokio::test]
async fn passwords_from_every_source_against_a_checking_server() {
    let s = ScramServer::start().await;
    let h = home();
    let home_env = ("HOME", h.path().display().to_string());

    // In the URL, percent-encoded.
    let pg = connect(&s.url(Some(APP_PASSWORD)), std::slice::from_ref(&home_env))
        .await
        .unwrap();
    assert_eq!(pg.role, APP_USER);
    assert_eq!(pg.password_source, Some(Source::Spec));

    // In a key=value string, quoted with escapes.
    let quoted = APP_PASSWORD.replace('\\', "\\\\").replace('\'', "\\'");
    let kv = format!(
        "host=127.0.0.1 port={} user={APP_USER} dbname={APP_DB} password='{quoted}'",
        s.port()
    );
    assert!(connect(&kv, std::slice::from_ref(&home_env)).await.is_ok());

    // PGPASSWORD.
    let env = vec![home_env.clone(), ("PGPASSWORD", APP_PASSWORD.to_string())];
    let pg = connect(&s.url(None), &env).await.unwrap();
    assert_eq!(pg.password_source, Some(Source::Env));

    // password_command beats PGPASSWORD.
    let cmd = format!("printf '%s\\n' '{}'", APP_PASSWORD.replace('\'', "'\\''"));
    let env = vec![home_env.clone(), ("PGPASSWORD", "wrong".to_string())];
    let ctx = context("cmd", &s.url(None), false, Some(&cmd));
    let pg = connect_pg_with(&ctx, &env_of(&env)).await.unwrap();
    assert_eq!(pg.password_source, Some(Source::Command));

    // pgpass (0600), with `:` and `\` escaped and a wildcard database.
    let pgpass = h.path().join("pgpass");
    let escaped = APP_PASSWORD.replace('\\', "\\\\").replace(':', "\\:");
    std::fs::write(
        &pgpass,
        format!(
            "# ours\nother:1:*:*:nope\n127.0.0.1:{}:*:{APP_USER}:{escaped}\n",
            s.port()
        ),
    )
    .unwrap();
    set_mode(&pgpass, 0o600);
    let env = vec![
        home_env.clone(),
        ("PGPASSFILE", pgpass.display().to_string()),
    ];
    let pg = connect(&s.url(None), &env).await.unwrap();
    assert_eq!(
        pg.password_source,
        Some(Source::Pgpass {
            path: pgpass.clone(),
            line: 3
        })
    );

    // The same file readable by others is ignored: the server's demand for a
    // password then fails with the list of sources.
    set_mode(&pgpass, 0o644);
    let msg = connect_err(connect(&s.url(None), &env).await);
    assert!(
        msg.contains("asks for a password and none was found"),
        "{msg}"
    );
    assert!(
        msg.contains("opsdeck login t") && msg.contains("PGPASSWORD"),
        "{msg}"
    );

    // A wrong password says so and where it came from, never the password.
    let env = vec![
        home_env.clone(),
        ("PGPASSWORD", "hunter2-wrong".to_string()),
    ];
    let msg = connect_err(connect(&s.url(None), &env).await);
    assert!(msg.contains("password authentication failed"), "{msg}");
    assert!(msg.contains("the password came from PGPASSWORD"), "{msg}");
    assert!(
        msg.contains(&format!("{APP_USER}@127.0.0.1:{}/{APP_DB}", s.port())),
        "{msg}"
    );
    assert!(!msg.contains("hunter2"), "{msg}");

    // A service file supplies host, port, user and password; the spec overrides dbname.
    let svc = h.path().join("services.conf");
    std::fs::write(
        &svc,
        format!(
            "[app]\nhost=127.0.0.1\nport={}\nuser={APP_USER}\ndbname=nope\npassword={APP_PASSWORD}\n",
            s.port()
        ),
    )
    .unwrap();
    let env = vec![
        home_env.clone(),
        ("PGSERVICEFILE", svc.display().to_string()),
    ];
    let pg = connect(&format!("service=app dbname={APP_DB}"), &env)
        .await
        .unwrap();
    assert_eq!(one(&pg, "SELECT current_database()::text").await, APP_DB);
}

#[tokio::test]
async fn require_against_a_server_without_tls_explains_and_prefer_falls_back() {
    let s = ScramServer::start().await;
    let url = s.url(Some(APP_PASSWORD));
    let pg = connect(&format!("{url}?sslmode=prefer"), &[])
        .await
        .unwrap();
    assert!(!ssl_in_use(&pg).await);
    let msg = connect_err(connect(&format!("{url}?sslmode=require"), &[]).await);
    assert!(
        msg.contains("ssl=off") && msg.contains("sslmode=require"),
        "{msg}"
    );
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[tokio::test]
async fn the_binary_connects_via_conninfo_and_pg_env() {
    let db = TestDb::new().await;
    let h = home();
    let kv = format!("host=127.0.0.1 user=postgres dbname='{}'", db.name);
    let out = opsdeck(h.path())
        .args(["--pg", &kv, "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let h = home();
    let out = opsdeck(h.path())
        .env("PGHOST", "127.0.0.1")
        .env("PGUSER", "postgres")
        .env("PGDATABASE", &db.name)
        .args(["init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = db.client().await;
    let exists: bool = c
        .query_one("SELECT to_regnamespace('opsdeck') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(exists);

    let out = opsdeck(h.path())
        .args(["--pg", "host=127.0.0.1 hots=x", "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid connection option \"hots\""));
}
