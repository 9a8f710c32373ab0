//! `opsdeck migrations status` against fixtures written from each tool's
//! documented table layout, and its exit codes (the DDL view: tests/migrations_ddl.rs).

mod common;

use common::{home, opsdeck, write_config, TestDb};
use serde_json::Value;
use std::path::Path;

const PRISMA: &str = r#"CREATE TABLE "_prisma_migrations" (
  id VARCHAR(36) PRIMARY KEY NOT NULL, checksum VARCHAR(64) NOT NULL, finished_at TIMESTAMPTZ,
  migration_name VARCHAR(255) NOT NULL, logs TEXT, rolled_back_at TIMESTAMPTZ,
  started_at TIMESTAMPTZ NOT NULL DEFAULT now(), applied_steps_count INTEGER NOT NULL DEFAULT 0);"#;

const GOLANG: &str =
    "CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);";

const NODE_PG: &str = "CREATE TABLE pgmigrations (id SERIAL PRIMARY KEY, name varchar(255) NOT NULL, run_on timestamp NOT NULL);";

const PGROLL: &str = "CREATE SCHEMA pgroll;
CREATE TYPE pgroll.migration_type AS ENUM ('pgroll', 'inferred');
CREATE TABLE pgroll.migrations (schema NAME NOT NULL, name TEXT NOT NULL, migration JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp, updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
  parent TEXT, done BOOLEAN NOT NULL DEFAULT false, resulting_schema JSONB NOT NULL DEFAULT '{}'::jsonb,
  migration_type pgroll.migration_type DEFAULT 'pgroll',
  PRIMARY KEY (schema, name), FOREIGN KEY (schema, parent) REFERENCES pgroll.migrations(schema, name));";

fn status(url: &str, extra: &[&str]) -> (i32, Value) {
    let h = home();
    status_in(h.path(), url, extra)
}

fn status_in(h: &Path, url: &str, extra: &[&str]) -> (i32, Value) {
    let out = opsdeck(h)
        .args(["--pg", url, "migrations", "status", "--output", "json"])
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let v = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap(), v)
}

fn tool<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == name)
        .unwrap_or_else(|| panic!("no {name} in {v}"))
}

fn kinds(t: &Value) -> Vec<(String, String)> {
    t["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().into(),
                p["migration"].as_str().unwrap().into(),
            )
        })
        .collect()
}

fn sha256_hex(text: &str) -> String {
    let out = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(text.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_string()
}

#[tokio::test]
async fn prisma_finished_failed_and_rolled_back() {
    let db = TestDb::with(&format!(
        "{PRISMA}
         INSERT INTO _prisma_migrations VALUES
          ('1', '{sha}', now() - interval '2 days', '20240101000000_init', NULL, NULL, now() - interval '2 days', 1),
          ('2', 'x', NULL, '20240201000000_rolled', 'boom', now() - interval '1 day', now() - interval '1 day', 0),
          ('3', 'y', NULL, '20240301000000_half', 'ERROR: column \"a\" exists', NULL, now() - interval '1 hour', 0);",
        sha = sha256_hex("SELECT 1;")
    ))
    .await;
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 1, "{v}");
    let p = tool(&v, "prisma");
    assert_eq!(
        p["applied_count"], 1,
        "a rolled back or unfinished one is not applied: {p}"
    );
    assert_eq!(p["latest"], "20240101000000_init");
    assert_eq!(
        kinds(p),
        vec![("stuck".into(), "20240301000000_half".into())]
    );
    assert!(
        p["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("column \"a\" exists"),
        "{p}"
    );

    // Against the folder: init unchanged, the rolled back one pending again, a new one pending.
    let dir = tempfile::tempdir().unwrap();
    for (name, sql) in [
        ("20240101000000_init", "SELECT 1;"),
        ("20240201000000_rolled", "SELECT 2;"),
        ("20240401000000_new", "SELECT 4;"),
    ] {
        std::fs::create_dir(dir.path().join(name)).unwrap();
        std::fs::write(dir.path().join(name).join("migration.sql"), sql).unwrap();
    }
    let d = dir.path().to_str().unwrap();
    let (code, v) = status(&db.url, &["--dir", d]);
    let p = tool(&v, "prisma");
    assert_eq!(code, 1);
    assert_eq!(
        p["pending"],
        serde_json::json!(["20240201000000_rolled", "20240401000000_new"]),
        "{p}"
    );
    assert_eq!(kinds(p).len(), 1, "checksum matches: {p}");

    std::fs::write(
        dir.path().join("20240101000000_init/migration.sql"),
        "SELECT 1; -- edited",
    )
    .unwrap();
    let (_, v) = status(&db.url, &["--dir", d]);
    assert!(
        kinds(tool(&v, "prisma")).contains(&("mismatched".into(), "20240101000000_init".into()))
    );
}

#[tokio::test]
async fn prisma_all_finished_exits_0() {
    let db = TestDb::with(&format!(
        "{PRISMA} INSERT INTO _prisma_migrations VALUES
          ('1', 'a', now(), '20240101000000_init', NULL, NULL, now(), 1);"
    ))
    .await;
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(tool(&v, "prisma")["problems"], serde_json::json!([]));
}

#[tokio::test]
async fn golang_migrate_clean_dirty_and_pending() {
    let db = TestDb::with(&format!(
        "{GOLANG} INSERT INTO schema_migrations VALUES (2, false);"
    ))
    .await;
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(tool(&v, "golang_migrate")["latest"], "2");

    let dir = tempfile::tempdir().unwrap();
    for f in [
        "000001_a.up.sql",
        "000001_a.down.sql",
        "000002_b.up.sql",
        "000003_c.up.sql",
    ] {
        std::fs::write(dir.path().join(f), "SELECT 1;").unwrap();
    }
    let (code, v) = status(&db.url, &["--dir", dir.path().to_str().unwrap()]);
    let g = tool(&v, "golang_migrate");
    assert_eq!(code, 1, "{v}");
    assert_eq!(
        (g["applied_count"].as_i64(), g["latest"].as_str()),
        (Some(2), Some("000002_b"))
    );
    assert_eq!(g["pending"], serde_json::json!(["000003_c"]));

    db.client()
        .await
        .batch_execute("UPDATE schema_migrations SET version = 3, dirty = true")
        .await
        .unwrap();
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        kinds(tool(&v, "golang_migrate")),
        vec![("dirty".into(), "3".into())]
    );
}

#[tokio::test]
async fn a_rails_schema_migrations_is_not_golang_migrate() {
    let db = TestDb::with("CREATE TABLE schema_migrations (version varchar PRIMARY KEY); INSERT INTO schema_migrations VALUES ('1');").await;
    let (code, v) = status(&db.url, &[]);
    assert_eq!((code, v["tools"].clone()), (0, serde_json::json!([])));
}

#[tokio::test]
async fn node_pg_migrate_in_order_then_out_of_order() {
    let db = TestDb::with(&format!(
        "{NODE_PG} INSERT INTO pgmigrations (name, run_on) VALUES
          ('1700000000000_a', now() - interval '3 days'), ('1700000000002_c', now() - interval '2 days');"
    ))
    .await;
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 0, "{v}");
    let n = tool(&v, "node_pg_migrate");
    assert_eq!(
        (n["applied_count"].as_i64(), n["latest"].as_str()),
        (Some(2), Some("1700000000002_c"))
    );

    db.client()
        .await
        .batch_execute("INSERT INTO pgmigrations (name, run_on) VALUES ('1700000000001_b', now())")
        .await
        .unwrap();
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 1);
    assert_eq!(
        kinds(tool(&v, "node_pg_migrate")),
        vec![("out_of_order".into(), "1700000000001_b".into())]
    );
}

#[tokio::test]
async fn pgroll_done_and_in_progress_with_its_version_schema() {
    let db = TestDb::with(&format!(
        "{PGROLL}
         CREATE TABLE public.users (id int, name text);
         INSERT INTO pgroll.migrations (schema, name, migration, done, created_at)
           VALUES ('public', '01_init', '{{}}', true, now() - interval '1 day');
         CREATE SCHEMA public_01_init;"
    ))
    .await;
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(tool(&v, "pgroll")["latest"], "01_init");

    db.client()
        .await
        .batch_execute(
            "INSERT INTO pgroll.migrations (schema, name, migration, parent, done, created_at)
           VALUES ('public', '02_add_email', '{}', '01_init', false, now() - interval '2 hours');
         CREATE SCHEMA public_02_add_email;
         CREATE FUNCTION public.f() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
         CREATE TRIGGER _pgroll_trigger_users_email BEFORE INSERT OR UPDATE ON public.users
           FOR EACH ROW EXECUTE FUNCTION public.f();",
        )
        .await
        .unwrap();
    let (code, v) = status(&db.url, &[]);
    assert_eq!(code, 1);
    let p = tool(&v, "pgroll");
    assert_eq!(
        (p["applied_count"].as_i64(), p["latest"].as_str()),
        (Some(1), Some("01_init"))
    );
    assert_eq!(
        kinds(p),
        vec![("in_progress".into(), "02_add_email".into())]
    );
    let detail = p["problems"][0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("2.0 h")
            && detail.contains("public_02_add_email")
            && detail.contains("1 pgroll trigger"),
        "{detail}"
    );
}

#[tokio::test]
async fn drizzle_older_entry_missing_is_out_of_order_and_a_bad_dir_is_exit_2() {
    let db = TestDb::with(&format!(
        "CREATE SCHEMA drizzle;
         CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);
         INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('{}', 2000);",
        sha256_hex("SELECT 2;")
    ))
    .await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("meta")).unwrap();
    std::fs::write(
        dir.path().join("meta/_journal.json"),
        r#"{"version":"7","dialect":"postgresql","entries":[
          {"idx":0,"version":"7","when":1000,"tag":"0000_old","breakpoints":true},
          {"idx":1,"version":"7","when":2000,"tag":"0001_two","breakpoints":true}]}"#,
    )
    .unwrap();
    std::fs::write(dir.path().join("0000_old.sql"), "SELECT 1;").unwrap();
    std::fs::write(dir.path().join("0001_two.sql"), "SELECT 2;").unwrap();
    let (code, v) = status(&db.url, &["--dir", dir.path().to_str().unwrap()]);
    let d = tool(&v, "drizzle");
    assert_eq!(code, 1);
    assert_eq!(d["latest"], "0001_two");
    assert_eq!(kinds(d), vec![("out_of_order".into(), "0000_old".into())]);

    let h = home();
    let out = opsdeck(h.path())
        .args([
            "--pg",
            &db.url,
            "migrations",
            "status",
            "--dir",
            "/nonexistent/migrations",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("not a directory"), "{err}");
}

#[tokio::test]
async fn configured_table_adapter_and_tool_list() {
    let db = TestDb::with(&format!(
        "{NODE_PG} INSERT INTO pgmigrations (name, run_on) VALUES ('b', now()), ('a', now() + interval '1 s');
         CREATE SCHEMA ops;
         CREATE TABLE ops.history (step text, ran timestamptz);
         INSERT INTO ops.history VALUES ('001_init', now() - interval '1 day'), ('002_more', now());"
    ))
    .await;
    let h = home();
    write_config(
        h.path(),
        &format!(
            "default_context = \"t\"\n[contexts.t]\npg = \"{}\"\n[contexts.t.migrations]\ntools = [\"table\"]\n[contexts.t.migrations.table]\ntable = \"ops.history\"\nname_column = \"step\"\napplied_at_column = \"ran\"\n",
            db.url
        ),
    );
    let out = opsdeck(h.path())
        .args(["migrations", "status", "--output", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "out-of-order pgmigrations is not read: {v}"
    );
    assert_eq!(v["tools"].as_array().unwrap().len(), 1, "{v}");
    let t = tool(&v, "table");
    assert_eq!(
        (t["table"].as_str(), t["latest"].as_str()),
        (Some("ops.history"), Some("002_more"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seed_has_a_drizzle_history_and_pgroll_in_progress() {
    use opsdeck::sandbox::seed::{self, Scale};
    use opsdeck::sandbox::{PgOptions, PgSandbox};
    let sb = PgSandbox::start(PgOptions::default()).await.unwrap();
    sb.create_database("app").await.unwrap();
    let client = sb.connect("app").await.unwrap();
    seed::seed_postgres(&client, Scale::Tiny, &|_| {})
        .await
        .unwrap();
    let (code, v) = status(&sb.url_for("app"), &[]);
    assert_eq!(code, 1, "{v}");
    let d = tool(&v, "drizzle");
    assert_eq!(
        (d["applied_count"].as_i64(), d["problems"].clone()),
        (Some(3), serde_json::json!([]))
    );
    let p = tool(&v, "pgroll");
    assert_eq!(
        kinds(p),
        vec![("in_progress".into(), "02_tenant_region".into())]
    );
    assert!(
        p["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("public_02_tenant_region"),
        "{p}"
    );
    assert!(
        p["problems"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("1 pgroll trigger"),
        "{p}"
    );
}

#[tokio::test]
async fn a_folder_whose_tool_never_ran_is_all_pending() {
    let db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    for f in ["000001_a.up.sql", "000002_b.up.sql"] {
        std::fs::write(dir.path().join(f), "SELECT 1;").unwrap();
    }
    let (code, v) = status(&db.url, &["--dir", dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{v}");
    let g = tool(&v, "golang_migrate");
    assert_eq!(
        (g["applied_count"].as_i64(), g["pending"].clone()),
        (Some(0), serde_json::json!(["000001_a", "000002_b"]))
    );
}
