//! opsdeck behind PgBouncer (started by the test, in front of the machine's
//! Postgres): the limits hold whether the pooler refuses, ignores or never
//! sees startup options, nothing one client sets reaches another, a cancel
//! reaches the right query, and eight clients on a pool of two run reads and
//! audited mutations without an error.

mod common;

use common::{home, opsdeck, write_config, TestDb};
use opsdeck::config::{Context, ContextOverrides, ResolvedContext};
use opsdeck::conn::limits::Pooler;
use opsdeck::conn::pg::PerTransaction;
use opsdeck::conn::{connect_pg, Limits, Pg};
use opsdeck::sandbox::{PgBouncerOptions, PgBouncerSandbox};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

const UPSTREAM_PORT: u16 = 5432;

const SCHEMA: &str = "
CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE NOT NULL, name text NOT NULL,
    plan text, status text NOT NULL DEFAULT 'active', created_at timestamptz NOT NULL DEFAULT now());
INSERT INTO tenants (id, slug, name, plan)
    SELECT g, 'tenant-' || g, 'Tenant ' || g, 'pro' FROM generate_series(1, 200) g;
";

fn ctx(name: &str, url: &str, pooler: Pooler, timeout_ms: u64, read_only: bool) -> ResolvedContext {
    ResolvedContext::resolve(
        name.to_string(),
        Context {
            pg: Some(url.to_string()),
            pooler: Some(pooler),
            statement_timeout_ms: Some(timeout_ms),
            read_only,
            ..Context::default()
        },
        &ContextOverrides::default(),
    )
}

async fn pooler(opts: PgBouncerOptions) -> PgBouncerSandbox {
    PgBouncerSandbox::start(UPSTREAM_PORT, opts)
        .await
        .expect("the tests need pgbouncer (tests/run.sh installs it)")
}

async fn show(pg: &Pg, what: &str) -> String {
    pg.row(&format!("SHOW {what}"), &[]).await.unwrap().get(0)
}

/// A statement longer than a 150 ms statement_timeout fails with 57014.
async fn assert_bounded(pg: &Pg) {
    let started = Instant::now();
    let err = pg.rows("SELECT pg_sleep(2)", &[]).await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("57014"), "{err}");
    assert!(started.elapsed() < Duration::from_millis(1500));
}

#[tokio::test]
async fn pgbouncers_default_refuses_options_and_the_limits_move_into_each_transaction() {
    let db = TestDb::new().await;
    let pb = pooler(PgBouncerOptions::default()).await;
    let url = pb.url_for("postgres", &db.name);
    let pg = connect_pg(&ctx("c", &url, Pooler::None, 150, false))
        .await
        .expect("falls back when the pooler refuses startup options");
    assert_eq!(
        pg.limits,
        Limits::PerTransaction(PerTransaction::OptionsRefused)
    );
    assert_eq!(show(&pg, "statement_timeout").await, "150ms");
    assert_eq!(show(&pg, "TimeZone").await, "UTC");
    assert_bounded(&pg).await;

    // doctor says how the limits reach the server and what to set.
    let h = home();
    write_config(
        h.path(),
        &format!("[contexts.c]\npg = \"{url}\"\nstatement_timeout_ms = 150\n"),
    );
    let out = opsdeck(h.path())
        .args(["doctor", "--output", "json"])
        .output()
        .unwrap();
    let checks: Value = serde_json::from_slice(&out.stdout).unwrap();
    let limits = find_check(&checks, "session_limits");
    assert_eq!(limits["status"], "warn", "{limits}");
    let detail = limits["detail"].as_str().unwrap();
    assert!(detail.contains("statement_timeout = 150 ms"), "{detail}");
    assert!(detail.contains("refused startup options"), "{detail}");
    assert!(
        limits["fix"]
            .as_str()
            .unwrap()
            .contains("pooler = \"transaction\""),
        "{limits}"
    );
}

fn find_check<'a>(checks: &'a Value, name: &str) -> &'a Value {
    checks
        .as_array()
        .or_else(|| checks["checks"].as_array())
        .expect("doctor json is a list of checks")
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {checks}"))
}

#[tokio::test]
async fn limits_a_pooler_silently_drops_are_noticed_and_set_per_transaction() {
    let db = TestDb::new().await;
    let pb = pooler(PgBouncerOptions {
        ignore_startup_parameters: "extra_float_digits,options".into(),
        ..PgBouncerOptions::default()
    })
    .await;
    let pg = connect_pg(&ctx(
        "c",
        &pb.url_for("postgres", &db.name),
        Pooler::None,
        150,
        true,
    ))
    .await
    .unwrap();
    assert_eq!(
        pg.limits,
        Limits::PerTransaction(PerTransaction::OptionsIgnored)
    );
    assert_bounded(&pg).await;
    let err = pg.batch("CREATE TABLE t (x int)").await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("25006"), "read-only holds: {err}");
}

#[tokio::test]
async fn in_transaction_mode_nothing_one_client_sets_reaches_another() {
    let db = TestDb::new().await;
    // One server connection for both clients: whatever leaked would show.
    let pb = pooler(PgBouncerOptions {
        pool_size: 1,
        ..PgBouncerOptions::default()
    })
    .await;
    let url = pb.url_for("postgres", &db.name);
    let strict = connect_pg(&ctx("strict", &url, Pooler::Transaction, 150, true))
        .await
        .unwrap();
    let loose = connect_pg(&ctx("loose", &url, Pooler::Transaction, 30_000, false))
        .await
        .unwrap();
    assert_eq!(
        strict.limits,
        Limits::PerTransaction(PerTransaction::Configured)
    );
    for _ in 0..3 {
        assert_bounded(&strict).await;
        loose.rows("SELECT pg_sleep(0.3)", &[]).await.unwrap();
        assert_eq!(show(&loose, "statement_timeout").await, "30s");
        assert_eq!(show(&loose, "transaction_read_only").await, "off");
        assert_eq!(show(&strict, "transaction_read_only").await, "on");
    }
    loose
        .batch("CREATE TABLE made_by_loose (x int)")
        .await
        .unwrap();
    let err = strict.batch("DROP TABLE made_by_loose").await.unwrap_err();
    assert_eq!(err.sqlstate(), Some("25006"), "{err}");
    // A transaction keeps its limits across statements, and a dropped one
    // rolls back rather than leaving the server connection inside it.
    {
        let tx = loose.begin().await.unwrap();
        tx.execute("INSERT INTO made_by_loose VALUES (1)", &[])
            .await
            .unwrap();
        assert_eq!(
            tx.row("SHOW statement_timeout", &[])
                .await
                .unwrap()
                .get::<_, String>(0),
            "30s"
        );
    }
    let n: i64 = strict
        .row("SELECT count(*) FROM made_by_loose", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0, "the dropped transaction was rolled back");
    // No statement name outlives its use: the server connection holds none.
    let named: i64 = loose
        .row("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(named, 0);
}

#[tokio::test]
async fn a_cancel_through_the_pooler_stops_the_right_query() {
    let db = TestDb::new().await;
    // Both server connections busy: PgBouncer must still forward the
    // cancel, which it only does while the requester waits for its close.
    let pb = pooler(PgBouncerOptions::default()).await;
    let url = pb.url_for("postgres", &db.name);
    let a = connect_pg(&ctx("a", &url, Pooler::Transaction, 30_000, false))
        .await
        .unwrap();
    let b = connect_pg(&ctx("b", &url, Pooler::Transaction, 30_000, false))
        .await
        .unwrap();
    let cancel = a.canceller();
    let started = Instant::now();
    let (ra, rb, _) = tokio::join!(
        a.rows("SELECT pg_sleep(10)", &[]),
        b.rows("SELECT pg_sleep(1.5)", &[]),
        async {
            tokio::time::sleep(Duration::from_millis(400)).await;
            cancel.cancel().await.unwrap();
        }
    );
    let err = ra
        .err()
        .unwrap_or_else(|| panic!("not cancelled:\n{}", pb.log()));
    assert_eq!(err.sqlstate(), Some("57014"), "{err}\n{}", pb.log());
    rb.expect("the other client's query ran to its end");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// One opsdeck run; Err carries the exit code and stderr.
fn run(home: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = opsdeck(home).args(args).output().unwrap();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{args:?}: exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_clients_on_a_pool_of_two_run_reads_and_audited_mutations_without_an_error() {
    let db = TestDb::new().await;
    db.client().await.batch_execute(SCHEMA).await.unwrap();
    let pb = pooler(PgBouncerOptions::default()).await;
    let url = pb.url_for("postgres", &db.name);
    let h = home();
    write_config(
        h.path(),
        &format!("[contexts.c]\npg = \"{url}\"\npooler = \"transaction\"\n"),
    );
    run(h.path(), &["init", "--yes"]).unwrap();

    let clients = 8;
    let until = Instant::now() + Duration::from_secs(20);
    let mut threads = Vec::new();
    for c in 0..clients {
        let home = h.path().to_path_buf();
        threads.push(std::thread::spawn(move || {
            let slug = format!("tenant-{}", c + 1);
            let (mut ok, mut errors, mut mutations) = (0u32, Vec::new(), 0u32);
            let mut step = 0usize;
            while Instant::now() < until {
                let args: Vec<&str> = match step % 4 {
                    0 => vec!["tenants", "list", "--output", "json", "--limit", "50"],
                    1 => vec!["tenants", "show", &slug, "--output", "json"],
                    2 => vec!["tenants", "suspend", &slug, "--yes"],
                    _ => vec!["tenants", "resume", &slug, "--yes"],
                };
                if step % 4 >= 2 {
                    mutations += 1;
                }
                match run(&home, &args) {
                    Ok(_) => ok += 1,
                    Err(e) => errors.push(e),
                }
                step += 1;
            }
            (ok, errors, mutations)
        }));
    }
    // Meanwhile a statement over the limit fails through the pooler as it
    // does directly.
    let bounded = connect_pg(&ctx("t", &url, Pooler::Transaction, 150, false))
        .await
        .unwrap();
    let direct = connect_pg(&ctx("t", &db.url, Pooler::None, 150, false))
        .await
        .unwrap();
    assert_eq!(direct.limits, Limits::Startup);
    let mut checks = 0;
    while Instant::now() < until {
        assert_bounded(&bounded).await;
        assert_bounded(&direct).await;
        checks += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(checks >= 5);

    let (mut ok, mut mutations, mut errors) = (0, 0, Vec::new());
    for t in threads {
        let (o, e, m) = t.join().unwrap();
        ok += o;
        mutations += m;
        errors.extend(e);
    }
    assert!(
        errors.is_empty(),
        "{} errors, first: {}",
        errors.len(),
        errors[0]
    );
    assert!(ok >= 8 * 4, "too few operations to mean anything: {ok}");

    // Every mutation has a start and an ok end in both stores.
    let local = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    let records: Vec<Value> = local
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| {
            r["action"]
                .as_str()
                .is_some_and(|a| a.starts_with("tenants."))
        })
        .collect();
    let ends = records
        .iter()
        .filter(|r| r["phase"] == "end" && r["outcome"] == "ok")
        .count();
    assert_eq!(ends as u32, mutations, "local ends vs mutations run");
    assert_eq!(records.len() as u32, 2 * mutations, "local starts and ends");
    let c = db.client().await;
    let row = c
        .query_one(
            "SELECT count(*) FILTER (WHERE phase = 'start'), count(*) FILTER (WHERE phase = 'end' AND outcome = 'ok')
             FROM opsdeck.audit WHERE action LIKE 'tenants.%'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0) as u32, mutations, "database starts");
    assert_eq!(row.get::<_, i64>(1) as u32, mutations, "database ok ends");
    let suspended: i64 = c
        .query_one("SELECT count(*) FROM tenants WHERE status <> 'active'", &[])
        .await
        .unwrap()
        .get(0);
    assert!(suspended <= 8);
}
