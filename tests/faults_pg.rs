//! Fault matrix, Postgres: the server down at start, wrong passwords (scram
//! and md5), unknown roles and databases, statement_timeout and lock_timeout
//! hit during a change, and the server stopped during a change. Each cell
//! checks the exit code, one stderr line, the data and the audit.

mod common;
mod faults_support;

use common::{home, opsdeck};
use faults_support::{
    hinted_commands_exist, no_start_without_end, one_error_line, read_around, start_and_end, System,
};
use opsdeck::sandbox::{PgOptions, PgSandbox};

/// `opsdeck --pg URL tenants list` with `env`: (exit code, stderr).
fn list_with(url: &str, env: &[(&str, &str)]) -> (i32, String) {
    let h = home();
    let mut cmd = opsdeck(h.path());
    cmd.args(["--pg", url, "tenants", "list"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A throwaway server that checks passwords with `method` over TCP for the
/// role `app` (password `s3cret-pw`), stored with the same encryption.
async fn checking_server(method: &str) -> PgSandbox {
    let sb = PgSandbox::start(PgOptions::default().setting("password_encryption", method))
        .await
        .unwrap();
    let c = sb.connect("postgres").await.unwrap();
    c.batch_execute("CREATE ROLE app LOGIN PASSWORD 's3cret-pw'")
        .await
        .unwrap();
    c.batch_execute("CREATE DATABASE appdb OWNER app")
        .await
        .unwrap();
    std::fs::write(
        sb.data_dir().join("pg_hba.conf"),
        format!("local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 {method}\n"),
    )
    .unwrap();
    c.batch_execute("SELECT pg_reload_conf()").await.unwrap();
    let url = format!("postgres://app@127.0.0.1:{}/appdb", sb.port());
    for _ in 0..200 {
        if tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .is_err()
        {
            return sb;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("pg_hba.conf reload did not take effect");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_one_line_exit_4_without_the_password() {
    for method in ["scram-sha-256", "md5"] {
        let sb = checking_server(method).await;
        let url = format!("postgres://app@127.0.0.1:{}/appdb", sb.port());
        let (code, err) = list_with(&url, &[("PGPASSWORD", "hunter2-wrong")]);
        assert_eq!(code, 4, "{method}: {err}");
        one_error_line(&err);
        assert!(
            err.contains("password authentication failed")
                && err.contains("PGPASSWORD")
                && err.contains(&format!("app@127.0.0.1:{}/appdb", sb.port())),
            "{method}: {err}"
        );
        assert!(!err.contains("hunter2"), "{method}: {err}");
        // The right one works: the server really checks with this method.
        let (code, err) = list_with(&url, &[("PGPASSWORD", "s3cret-pw")]);
        assert_ne!(code, 4, "{method}: {err}");
        let stored: String = sb
            .connect("postgres")
            .await
            .unwrap()
            .query_one(
                "SELECT left(rolpassword, 3) FROM pg_authid WHERE rolname = 'app'",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, if method == "md5" { "md5" } else { "SCR" });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_roles_and_databases_are_one_line_exit_4_naming_them() {
    let sb = PgSandbox::start(PgOptions::default()).await.unwrap();
    let (code, err) = list_with(
        &format!("postgres://ghost@127.0.0.1:{}/postgres", sb.port()),
        &[],
    );
    assert_eq!(code, 4, "{err}");
    one_error_line(&err);
    assert!(err.contains("role \"ghost\" does not exist"), "{err}");
    let (code, err) = list_with(
        &format!("postgres://postgres@127.0.0.1:{}/nowhere", sb.port()),
        &[],
    );
    assert_eq!(code, 4, "{err}");
    one_error_line(&err);
    assert!(err.contains("database \"nowhere\" does not exist"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_down_at_start_is_one_line_exit_4_and_changes_nothing() {
    let s = System::start("", "").await;
    s.sb.stop();
    let port = format!(":{}/", s.sb.port());
    for args in [
        &["tenants", "list"][..],
        &["tenants", "list", "--output", "csv"],
        &["tenants", "show", "acme"],
        &["tenants", "suspend", "acme", "--yes"],
        &["overview"],
    ] {
        let (code, out, err) = s.run(args);
        assert_eq!(code, 4, "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        one_error_line(&err);
        assert!(err.contains(&port), "names the server: {err}");
    }
    no_start_without_end(s.home());
    s.sb.restart().await.unwrap();
    assert_eq!(s.state_of(7).await, "on");
}

/// A suspend of `acme` that ends in a server error: exit 5, one line whose
/// hint says `what` and names only commands that exist, the tenant
/// unchanged, and the change audited as an error in both stores.
async fn fails_with_exit_5(s: &System, what: &str) {
    let (code, _, err) = s.run(&["tenants", "suspend", "acme", "--yes"]);
    assert_eq!(code, 5, "{err}");
    one_error_line(&err);
    assert!(err.contains(what), "{err}");
    hinted_commands_exist(s.home(), &err);
    assert_eq!(s.state_of(7).await, "on", "rolled back");
    let end = start_and_end(s.home(), "tenants.suspend");
    assert_eq!(end["outcome"], "error", "{end}");
    assert!(
        end["detail"]["error"].as_str().unwrap().contains(what),
        "{end}"
    );
    assert_eq!(
        s.db_records("tenants.suspend").await,
        vec![
            ("start".to_string(), None),
            ("end".to_string(), Some("error".to_string()))
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_in_a_change_is_exit_5_rolled_back_and_audited() {
    let s = System::start(
        "statement_timeout_ms = 300",
        "suspend_hooks = [\"SELECT pg_sleep(5)\"]",
    )
    .await;
    fails_with_exit_5(&s, "statement_timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lock_timeout_in_a_change_is_exit_5_rolled_back_and_audited() {
    let s = System::start("lock_timeout_ms = 300", "").await;
    // Another session holds the tenant's row.
    let holder = s.client().await;
    holder
        .batch_execute("BEGIN; SELECT * FROM billing.orgs WHERE org_id = 7 FOR UPDATE")
        .await
        .unwrap();
    fails_with_exit_5(&s, "lock_timeout").await;
    holder.batch_execute("ROLLBACK").await.unwrap();
}

const SLOW_HOOK: &str = "SELECT pg_sleep(60)";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_during_a_change_rolls_back_and_audits_an_error() {
    let s = System::start("", &format!("suspend_hooks = [\"{SLOW_HOOK}\"]")).await;
    let child = common::spawn(s.home(), &["tenants", "suspend", "acme", "--yes"]);
    s.wait_for_query(SLOW_HOOK).await;
    s.sb.stop();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap_or_default()
            .starts_with("opsdeck: error:"),
        "{err}"
    );
    assert!(err.contains("closed") || err.contains("terminat"), "{err}");
    let end = start_and_end(s.home(), "tenants.suspend");
    assert_eq!(end["outcome"], "error", "{end}");
    s.sb.restart().await.unwrap();
    assert_eq!(
        s.state_of(7).await,
        "on",
        "the transaction died with the server"
    );
    // The database copy could not be written while the server was down:
    // it has the start only, and the local file the whole story.
    assert_eq!(
        s.db_records("tenants.suspend").await,
        vec![("start".to_string(), None)]
    );
}

const ROWS: i64 = 1_000_000;
const CSV: &[&str] = &["tenants", "list", "--output", "csv"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_during_a_million_row_csv_export_never_exits_0_with_a_partial_file() {
    let s = System::start("", "").await;
    s.client()
        .await
        .batch_execute(&format!(
            "INSERT INTO billing.orgs SELECT g, 'org-' || g, 'Org, \"' || g || '\"', 'on'
             FROM generate_series(100, {}) g",
            ROWS + 97
        ))
        .await
        .unwrap();
    let (code, out, err) = read_around(s.home(), CSV, 1 << 20, |_| s.sb.stop());
    assert_ne!(code, Some(0), "a cut export must not look complete: {err}");
    assert_eq!(code, Some(4), "{err}");
    assert!(
        err.trim_end()
            .lines()
            .last()
            .unwrap_or_default()
            .starts_with("opsdeck: error:"),
        "{err}"
    );
    assert_eq!(out.last(), Some(&b'\n'), "the output ends on a whole line");
    let mut rows = csv::Reader::from_reader(out.as_slice());
    let fields = rows.headers().unwrap().len();
    let mut n = 0;
    for r in rows.records() {
        assert_eq!(r.unwrap().len(), fields, "every row whole");
        n += 1;
    }
    assert!(n > 0 && n < ROWS, "{n} rows before the cut");

    s.sb.restart().await.unwrap();
    let (code, out, err) = read_around(s.home(), CSV, 1, |_| {});
    assert_eq!(code, Some(0), "{err}");
    let lines = out.iter().filter(|&&b| b == b'\n').count() as i64;
    assert_eq!(
        lines,
        ROWS + 1,
        "every row and the header after the restart"
    );
}
