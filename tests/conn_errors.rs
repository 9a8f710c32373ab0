//! One rule for "no Postgres configured", and connection errors that name the
//! server they tried: through the built binary with an empty environment,
//! and against throwaway servers stopped under an open session.

mod common;
mod conn_support;

use common::{home, opsdeck};
use conn_support::{context, env_of};
use opsdeck::cache;
use opsdeck::config::CacheLayout;
use opsdeck::conn::connect_pg_with;
use opsdeck::conn::redis::connect_url;
use opsdeck::health::overview;
use opsdeck::sandbox::{PgOptions, PgSandbox, RedisSandbox};
use opsdeck::ExitCode;

/// Runs the binary with nothing configured: no PG*/OPSDECK_*/REDIS_URL
/// variables (`common::opsdeck` removes them), and a home without a config.
fn bare(h: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = opsdeck(h).args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NO_PG: &str = "no Postgres configured";

#[test]
fn without_postgres_settings_every_postgres_command_stops_with_the_same_line() {
    let h = home();
    for args in [
        &["tenants", "list"][..],
        &["tenants", "show", "acme"],
        &["tenants", "lint"],
        &["init", "--yes"],
    ] {
        let (code, out, err) = bare(h.path(), args);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.contains(NO_PG)
                && err.contains("--pg URL")
                && err.contains("OPSDECK_PG_URL")
                && err.contains("PGHOST")
                && err.contains("pg = "),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("/var/run/postgresql"),
            "no libpq default: {err}"
        );
    }
    // Nothing was created on the way: no audit record of an attempted init.
    assert!(!h.path().join("data/audit.jsonl").exists());

    let (code, _, err) = bare(h.path(), &["overview"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains(NO_PG) && err.contains("--pg URL"), "{err}");

    let (code, out, err) = bare(h.path(), &["doctor", "--output", "json"]);
    assert_eq!(
        code,
        Some(0),
        "nothing failed, Postgres is just absent: {err}"
    );
    let checks: serde_json::Value = serde_json::from_str(&out).unwrap();
    let pg = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "postgres")
        .unwrap();
    assert_eq!(pg["status"], "warn", "{pg}");
    assert_eq!(pg["detail"], NO_PG);
    assert!(pg["fix"].as_str().unwrap().contains("--pg URL"), "{pg}");
}

#[test]
fn a_libpq_variable_naming_a_server_counts_as_configured() {
    let h = home();
    let out = opsdeck(h.path())
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", "1")
        .args(["tenants", "list"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "it tried to connect: {err}");
    assert!(!err.contains(NO_PG), "{err}");
}

#[test]
fn refused_connections_name_the_server_tried() {
    let h = home();
    let (code, _, err) = bare(
        h.path(),
        &[
            "--pg",
            "postgres://nobody@127.0.0.1:1/appdb",
            "tenants",
            "list",
        ],
    );
    assert_eq!(code, Some(4), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("nobody@127.0.0.1:1/appdb"), "{err}");

    let (code, _, err) = bare(
        h.path(),
        &[
            "--redis",
            "redis://:hunter2@127.0.0.1:1/0",
            "cache",
            "stats",
        ],
    );
    assert_eq!(code, Some(4), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
    assert!(!err.contains("hunter2"), "never the password: {err}");
}

#[test]
fn a_redis_url_of_another_scheme_is_one_line_naming_the_schemes() {
    let h = home();
    for url in ["http://127.0.0.1:6379", "127.0.0.1:6379"] {
        let (code, out, err) = bare(h.path(), &["--redis", url, "cache", "stats"]);
        assert_eq!(code, Some(2), "{url}: {err}");
        assert!(out.is_empty());
        assert_eq!(err.trim().lines().count(), 1, "{url}: {err}");
        assert!(
            err.contains("redis://") && err.contains("rediss://") && err.contains("unix://"),
            "{url}: {err}"
        );
        assert!(!err.contains("InvalidClientConfig"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_lost_after_connecting_names_the_server() {
    let sb = PgSandbox::start(PgOptions::default()).await.unwrap();
    let h = home();
    let env = [("HOME", h.path().display().to_string())];
    let pg = connect_pg_with(&context("t", &sb.url(), false, None), &env_of(&env))
        .await
        .unwrap();
    let port = sb.port();
    drop(sb);
    let e = overview::postgres(&pg).await.unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::Connect, "{e}");
    assert!(e.to_string().contains(&format!(":{port}/postgres")), "{e}");

    let sb = RedisSandbox::start().await.unwrap();
    let redis = connect_url(&sb.url(), None).await.unwrap();
    let port = sb.port();
    drop(sb);
    let e = cache::stats(&redis, &CacheLayout::default())
        .await
        .unwrap_err();
    assert_eq!(e.exit_code(), ExitCode::Connect, "{e}");
    assert!(e.to_string().contains(&format!(":{port}")), "{e}");
}

#[test]
fn the_rule_lives_in_connecting_itself() {
    let h = home();
    let env = [("HOME", h.path().display().to_string())];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt.block_on(connect_pg_with(
        &context("t", "", false, None),
        &env_of(&env),
    ));
    let e = r.err().expect("no spec and no libpq variable: refused");
    assert_eq!(e.exit_code(), ExitCode::Usage);
    assert!(e.to_string().starts_with(NO_PG), "{e}");
}

#[test]
fn a_failing_password_command_names_the_server_it_was_for() {
    let h = home();
    let config = h.path().join("ctx.toml");
    std::fs::write(
        &config,
        "[contexts.app]\npg = \"postgres://app@127.0.0.1:1/appdb\"\npassword_command = \"exit 3\"\n",
    )
    .unwrap();
    common::private(&config);
    let (code, _, err) = bare(
        h.path(),
        &["--config", config.to_str().unwrap(), "tenants", "list"],
    );
    assert_eq!(code, Some(4), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("postgres app@127.0.0.1:1/appdb") && err.contains("password_command"),
        "{err}"
    );
}
