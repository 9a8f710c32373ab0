//! `indexes lint` on a database of its own (the machine's Postgres): every
//! kind of finding, each next to a look-alike that must not be one, each
//! fix_sql applied to show it clears its finding, and the CLI's JSON shape
//! and exit codes (1 with findings, 0 on a clean database).

mod common;

use common::{home, opsdeck, write_config, TestDb};
use opsdeck::advisor::lint::{self, LintReport};
use opsdeck::advisor::{Finding, LintKind};
use opsdeck::config::{Config, ContextOverrides, Paths};
use opsdeck::session::Session;
use std::path::Path;
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE parent (id int PRIMARY KEY);
INSERT INTO parent SELECT g FROM generate_series(1, 100) g;
-- duplicate: two identical indexes; a unique one on the same column is not a duplicate of them
CREATE TABLE d (id int PRIMARY KEY, email text);
CREATE INDEX d_email_a ON d (email);
CREATE INDEX d_email_b ON d (email);
CREATE INDEX d_lower_email ON d (lower(email));
-- redundant: r_a leads r_a_b; a unique index leading another is not redundant,
-- nor is a prefix with another predicate
CREATE TABLE r (id int PRIMARY KEY, a int, b int, c int);
CREATE INDEX r_a ON r (a);
CREATE INDEX r_a_b ON r (a, b);
CREATE UNIQUE INDEX r_b_uq ON r (b);
CREATE INDEX r_b_c ON r (b, c);
CREATE INDEX r_c_partial ON r (c) WHERE a IS NULL;
CREATE INDEX r_c_a ON r (c, a);
INSERT INTO r SELECT g, g, g, g FROM generate_series(1, 2000) g;
-- missing FK index: child has none; child_ok's key leads an index (in another order)
CREATE TABLE child (id int PRIMARY KEY, parent_id int REFERENCES parent(id));
CREATE TABLE child_ok (id int PRIMARY KEY, parent_id int REFERENCES parent(id), kind int);
CREATE INDEX child_ok_kind_parent ON child_ok (parent_id, kind);
-- invalid: a failed concurrent unique build (below); bloat: 90% of the rows deleted
CREATE TABLE dupvals (id int, v int);
INSERT INTO dupvals VALUES (1, 1), (2, 1);
CREATE TABLE b (id int PRIMARY KEY, v int);
INSERT INTO b SELECT g, g FROM generate_series(1, 200000) g;
CREATE INDEX b_v ON b (v);
CREATE TABLE b_ok (id int PRIMARY KEY, v int);
INSERT INTO b_ok SELECT g, g FROM generate_series(1, 200000) g;
CREATE INDEX b_ok_v ON b_ok (v);
";

fn session(url: &str, dir: &Path) -> Session {
    let config = Config::parse(
        &format!("default_context = \"t\"\n[contexts.t]\npg = \"{url}\"\n"),
        Path::new("c.toml"),
    )
    .unwrap();
    Session::new(
        config,
        Paths::under(dir.to_path_buf()),
        None,
        &ContextOverrides::default(),
    )
    .unwrap()
}

fn of(r: &LintReport, kind: LintKind) -> Vec<&Finding> {
    r.findings.iter().filter(|f| f.kind == kind).collect()
}

fn names(fs: &[&Finding]) -> Vec<String> {
    let mut v: Vec<String> = fs
        .iter()
        .map(|f| f.index.clone().unwrap_or_else(|| f.table.clone()))
        .collect();
    v.sort();
    v
}

/// Runs a fix: its statements one by one (CONCURRENTLY runs outside a
/// transaction block, and one simple query of several statements is one).
async fn apply(c: &tokio_postgres::Client, fix: &str) {
    for stmt in fix.split("; ").map(|s| s.trim_end_matches(';')) {
        c.batch_execute(stmt)
            .await
            .unwrap_or_else(|e| panic!("{stmt}: {e}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_with_and_without_findings() {
    let db = TestDb::with(SCHEMA).await;
    let c = db.client().await;
    let failed = c
        .batch_execute("CREATE UNIQUE INDEX CONCURRENTLY dupvals_v_uq ON dupvals (v)")
        .await;
    assert!(failed.is_err(), "the unique build fails on duplicates");
    c.batch_execute("DELETE FROM b WHERE id % 10 <> 0")
        .await
        .unwrap();
    c.batch_execute("VACUUM ANALYZE b").await.unwrap();
    c.batch_execute("ANALYZE").await.unwrap();
    // r_c_a is used: an index scan counts for it once the stats are flushed.
    c.batch_execute("SET enable_seqscan = off; SET enable_bitmapscan = off")
        .await
        .unwrap();
    c.query("SELECT id FROM r WHERE c = 5 AND a = 5", &[])
        .await
        .unwrap();
    c.batch_execute(
        "RESET enable_seqscan; RESET enable_bitmapscan; SELECT pg_stat_force_next_flush()",
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = session(&db.url, dir.path());
    let pg = s.pg().await.unwrap();
    let mut report = lint::lint(&pg).await.unwrap();
    for _ in 0..50 {
        if !names(&of(&report, LintKind::Unused)).contains(&"public.r_c_a".to_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        report = lint::lint(&pg).await.unwrap();
    }
    let r = &report;

    let dup = of(r, LintKind::Duplicate);
    assert_eq!(names(&dup).len(), 1, "{dup:#?}");
    assert!(
        names(&dup)[0] == "public.d_email_a" || names(&dup)[0] == "public.d_email_b",
        "{dup:#?}"
    );
    assert!(
        dup[0]
            .fix_sql
            .starts_with("DROP INDEX CONCURRENTLY IF EXISTS"),
        "{dup:?}"
    );

    let red = of(r, LintKind::Redundant);
    assert_eq!(names(&red), ["public.r_a"], "{red:#?}");
    assert!(red[0].detail.contains("r_a_b"), "{red:?}");

    let unused = names(&of(r, LintKind::Unused));
    assert!(unused.contains(&"public.r_a".to_string()), "{unused:?}");
    assert!(
        !unused.contains(&"public.r_c_a".to_string()),
        "used: {unused:?}"
    );
    assert!(
        !unused
            .iter()
            .any(|n| n.ends_with("_pkey") || n.ends_with("_uq")),
        "{unused:?}"
    );
    let u = of(r, LintKind::Unused);
    assert!(
        u[0].detail.contains("idx_scan = 0 since") && u[0].detail.contains("days ago"),
        "{u:?}"
    );

    let inv = of(r, LintKind::Invalid);
    assert_eq!(names(&inv), ["public.dupvals_v_uq"], "{inv:#?}");
    assert!(
        inv[0].fix_sql.contains("CREATE UNIQUE INDEX CONCURRENTLY"),
        "{inv:?}"
    );

    let fk = of(r, LintKind::MissingFkIndex);
    assert_eq!(names(&fk), ["public.child"], "{fk:#?}");
    assert_eq!(fk[0].columns, ["parent_id"]);
    assert_eq!(fk[0].index, None);

    let bloat = of(r, LintKind::Bloated);
    // Both of b's indexes lost 90% of their entries; b_ok's did not.
    assert_eq!(names(&bloat), ["public.b_pkey", "public.b_v"], "{bloat:#?}");
    assert!(bloat[0].detail.contains("estimate"), "{bloat:?}");

    // Each fix clears its finding (the invalid one: dropped, its build retried and failing again is its own problem).
    c.batch_execute("DELETE FROM dupvals WHERE id = 2")
        .await
        .unwrap();
    for f in [dup[0], red[0], inv[0], fk[0], bloat[0], bloat[1]] {
        apply(&c, &f.fix_sql).await;
    }
    c.batch_execute("ANALYZE").await.unwrap();
    let after = lint::lint(&pg).await.unwrap();
    for kind in [
        LintKind::Duplicate,
        LintKind::Redundant,
        LintKind::Invalid,
        LintKind::MissingFkIndex,
        LintKind::Bloated,
    ] {
        assert!(
            of(&after, kind).is_empty(),
            "{kind:?} after its fix: {:#?}",
            of(&after, kind)
        );
    }
    cli(&db.url).await;
}

async fn cli(url: &str) {
    let h = home();
    write_config(
        h.path(),
        &format!("default_context = \"t\"\n[contexts.t]\npg = \"{url}\"\n"),
    );
    let out = opsdeck(h.path())
        .args(["indexes", "lint", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = &v.as_array().unwrap()[0];
    let mut keys: Vec<&str> = first
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["columns", "detail", "fix_sql", "index", "kind", "table"]
    );
    assert!(
        v.as_array().unwrap().iter().all(|f| f["kind"] == "unused"),
        "{v:#}"
    );

    let clean = TestDb::with("CREATE TABLE t (id int PRIMARY KEY, v int UNIQUE)").await;
    let h = home();
    write_config(
        h.path(),
        &format!(
            "default_context = \"t\"\n[contexts.t]\npg = \"{}\"\n",
            clean.url
        ),
    );
    let out = opsdeck(h.path())
        .args(["indexes", "lint"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("no index problems found"), "{err}");
}
