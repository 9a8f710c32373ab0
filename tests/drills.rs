//! Restore drills through the core against real PostgreSQL and throwaway
//! sandbox clusters: a dump of the demo data (seeded into a sandbox source)
//! restores and verifies; a
//! truncated archive, a dump missing a table, a restore with rows removed
//! and a failing custom check each fail, naming the reason; a target that
//! is the source is refused; the history keeps every drill.

mod common;
mod drills_support;

use drills_support::{check, demo_source, drill, dump, pg, Bench};
use opsdeck::config::drills::CustomCheck;
use opsdeck::drills::{DrillStatus, Phase, Status};

#[tokio::test]
async fn a_dump_of_the_demo_data_restores_and_verifies() {
    let (_sandbox, url) = demo_source().await;
    let p = pg(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dump(&url, dir.path(), "nightly", &[]);
    let bench = Bench::new();
    let checks = vec![CustomCheck {
        name: "tenants".into(),
        sql: "SELECT count(*) AS n, 'x' AS other FROM tenants".into(),
        expect: "30".into(),
    }];
    let (r, progress) = drill(&bench, &p, &url, Some(dir.path()), checks, None)
        .await
        .unwrap();
    let failed: Vec<_> = r.failed_checks().collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(r.status, DrillStatus::Passed);
    assert_eq!(r.id, Some(1));
    assert_eq!(r.archive.as_deref(), Some(archive.to_str().unwrap()));
    for name in [
        "archive",
        "restore",
        "tables",
        "rows public.events",
        "rows public.tenants",
        "tenant rows public.events",
        "schema",
        "sequences",
        "amcheck",
        "check tenants",
    ] {
        assert_eq!(check(&r, name).status, Status::Ok, "{name}");
    }
    assert!(check(&r, "rows public.tenants")
        .detail
        .contains("source 30 (exact count), restored 30"));
    assert!(
        check(&r, "amcheck").detail.contains("btree indexes"),
        "{}",
        check(&r, "amcheck").detail
    );
    assert!(r.rpo_ms.unwrap() < 600_000, "{:?}", r.rpo_ms);
    assert!(r.rto_ms >= r.restore_ms && r.restore_ms > 0);
    assert!(r.backup_taken_at.is_some());
    for phase in [Phase::Fetch, Phase::Restore, Phase::Verify] {
        assert!(progress.iter().any(|p| p.phase == phase), "{phase:?}");
    }
    let restored = progress
        .iter()
        .rfind(|p| p.phase == Phase::Restore)
        .unwrap();
    assert!(
        restored.done > 0 && restored.done <= restored.total,
        "{restored:?}"
    );
    let listed = opsdeck::drills::history::list(None, &bench.history())
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].checks, r.checks);
    let audit = bench.audit_text();
    assert!(
        audit.contains("drill.run") && audit.contains("\"outcome\":\"ok\""),
        "{audit}"
    );
    // The throwaway cluster is gone.
    assert!(r.kept.is_none());
}

#[tokio::test]
async fn a_truncated_archive_is_rejected_before_or_during_restore() {
    let src = common::TestDb::with(
        "CREATE TABLE t (id bigint PRIMARY KEY, pad text);
         INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g;",
    )
    .await;
    let p = pg(&src.url).await;
    let dir = tempfile::tempdir().unwrap();
    let full = dump(&src.url, dir.path(), "full", &["--compress=0"]);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut");
    std::fs::create_dir(&cut).unwrap();
    let truncated = cut.join("truncated.dump");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let bench = Bench::new();
    let (r, _) = drill(&bench, &p, &src.url, Some(&truncated), vec![], None)
        .await
        .unwrap();
    assert_eq!(r.status, DrillStatus::Failed);
    let bad: Vec<_> = r.failed_checks().map(|c| c.name.as_str()).collect();
    assert!(
        bad.contains(&"archive") || bad.contains(&"restore"),
        "{:#?}",
        r.checks
    );
    let why = r
        .failed_checks()
        .find(|c| c.name == "archive" || c.name == "restore")
        .unwrap();
    assert!(
        why.detail.contains("pg_restore") && why.detail.contains("truncated.dump")
            || why.detail.contains("error"),
        "{}",
        why.detail
    );
}

#[tokio::test]
async fn a_dump_missing_a_table_names_it() {
    let src = common::TestDb::with(
        "CREATE TABLE kept (id int PRIMARY KEY); INSERT INTO kept SELECT generate_series(1, 10);
         CREATE TABLE \"Lost Orders\" (id int PRIMARY KEY); INSERT INTO \"Lost Orders\" VALUES (1);",
    )
    .await;
    let p = pg(&src.url).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dump(
        &src.url,
        dir.path(),
        "partial",
        &["--exclude-table=\"Lost Orders\""],
    );
    let bench = Bench::new();
    let (r, _) = drill(&bench, &p, &src.url, Some(&archive), vec![], None)
        .await
        .unwrap();
    assert_eq!(r.status, DrillStatus::Failed);
    let tables = check(&r, "tables");
    assert_eq!(tables.status, Status::Fail);
    assert!(
        tables.detail.contains("public.\"Lost Orders\""),
        "{}",
        tables.detail
    );
    assert!(check(&r, "schema").detail.contains("Lost Orders"));
    assert_eq!(check(&r, "rows public.kept").status, Status::Ok);
}

#[tokio::test]
async fn a_restore_with_rows_removed_names_the_table_and_both_counts() {
    let src = common::TestDb::with(
        "CREATE TABLE orders (id int PRIMARY KEY, tenant_id int NOT NULL);
         INSERT INTO orders SELECT g, g % 3 FROM generate_series(1, 300) g;",
    )
    .await;
    // The backup was taken from a copy that had lost rows.
    let copy = common::TestDb::new().await;
    let c = copy.client().await;
    c.batch_execute("CREATE TABLE orders (id int PRIMARY KEY, tenant_id int NOT NULL);
                     INSERT INTO orders SELECT g, g % 3 FROM generate_series(1, 300) g WHERE g % 3 <> 1;")
        .await
        .unwrap();
    let p = pg(&src.url).await;
    let dir = tempfile::tempdir().unwrap();
    let archive = dump(&copy.url, dir.path(), "lossy", &[]);
    let bench = Bench::new();
    let (r, _) = drill(&bench, &p, &src.url, Some(&archive), vec![], None)
        .await
        .unwrap();
    assert_eq!(r.status, DrillStatus::Failed);
    let rows = check(&r, "rows public.orders");
    assert_eq!(rows.status, Status::Fail);
    assert!(
        rows.detail.contains("source 300") && rows.detail.contains("restored 200"),
        "{}",
        rows.detail
    );
    let tenants = check(&r, "tenant rows public.orders");
    assert_eq!(tenants.status, Status::Fail);
    assert!(
        tenants.detail.contains("tenant 1: source 100, restored 0"),
        "{}",
        tenants.detail
    );
    assert_eq!(
        check(&r, "schema").status,
        Status::Ok,
        "{}",
        check(&r, "schema").detail
    );
}

#[tokio::test]
async fn a_failing_custom_check_says_what_it_got() {
    let src = common::TestDb::with(
        "CREATE TABLE plans (name text PRIMARY KEY); INSERT INTO plans VALUES ('free'), ('pro');",
    )
    .await;
    let p = pg(&src.url).await;
    let bench = Bench::new();
    let checks = vec![
        CustomCheck {
            name: "enterprise plan exists".into(),
            sql: "SELECT count(*) FROM plans WHERE name = 'enterprise'".into(),
            expect: "1".into(),
        },
        CustomCheck {
            name: "plans".into(),
            sql: "SELECT count(*) FROM plans;".into(),
            expect: "2".into(),
        },
    ];
    let (r, _) = drill(&bench, &p, &src.url, None, checks, None)
        .await
        .unwrap();
    assert_eq!(r.status, DrillStatus::Failed);
    let bad = check(&r, "check enterprise plan exists");
    assert_eq!(bad.status, Status::Fail);
    assert_eq!(bad.detail, "got 0, expected 1");
    assert_eq!(check(&r, "check plans").status, Status::Ok);
    assert!(r
        .note
        .as_deref()
        .unwrap()
        .contains("not that existing backups restore"));
    assert!(r.source.starts_with("fresh:"));
    let failed: Vec<_> = r.failed_checks().map(|c| c.name.clone()).collect();
    assert_eq!(failed, ["check enterprise plan exists"]);
}

#[tokio::test]
async fn a_target_that_is_the_source_is_refused_and_nothing_is_restored() {
    let src =
        common::TestDb::with("CREATE TABLE precious (id int); INSERT INTO precious VALUES (1);")
            .await;
    let p = pg(&src.url).await;
    let bench = Bench::new();
    let err = drill(&bench, &p, &src.url, None, vec![], Some(src.url.clone()))
        .await
        .unwrap_err();
    assert_eq!(err.exit_code(), opsdeck::ExitCode::Refused, "{err}");
    assert!(err.to_string().contains("is the source database"), "{err}");
    let n: i64 = src
        .client()
        .await
        .query_one("SELECT count(*) FROM precious", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
    // A scratch database on the same server that holds data is refused too.
    let other = common::TestDb::with("CREATE TABLE stuff (id int);").await;
    let err = drill(&bench, &p, &src.url, None, vec![], Some(other.url.clone()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("holds data"), "{err}");
    assert!(bench.audit_text().contains("\"outcome\":\"error\""));
}

#[tokio::test]
async fn a_scratch_database_is_marked_kept_replaced_only_when_asked_and_dropped() {
    let src =
        common::TestDb::with("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2);")
            .await;
    let p = pg(&src.url).await;
    let bench = Bench::new();
    let name = common::unique("opsdeck_scratch");
    let root = src.url.rsplit_once('/').unwrap().0.to_string();
    let target = format!("{root}/{name}");
    let admin = drills_support::pg(&common::admin_url()).await;
    let (r, _) = drills_support::drill_with(
        &bench,
        &p,
        &src.url,
        None,
        vec![],
        Some(target.clone()),
        (true, false),
    )
    .await
    .unwrap();
    assert_eq!(r.status, DrillStatus::Passed, "{:#?}", r.checks);
    assert!(r.kept.as_ref().unwrap().psql.contains(&name));
    let mark = comment(&admin, &name).await.expect("kept");
    assert!(mark.starts_with(opsdeck::drills::target::MARK), "{mark}");
    let err = drill(&bench, &p, &src.url, None, vec![], Some(target.clone()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pass --replace"), "{err}");
    let (r, _) = drills_support::drill_with(
        &bench,
        &p,
        &src.url,
        None,
        vec![],
        Some(target),
        (false, true),
    )
    .await
    .unwrap();
    assert_eq!(r.status, DrillStatus::Passed);
    assert_eq!(
        comment(&admin, &name).await,
        None,
        "dropped after the drill"
    );
}

async fn comment(admin: &opsdeck::conn::Pg, name: &str) -> Option<String> {
    admin
        .row_opt(
            "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1::text",
            &[name],
        )
        .await
        .unwrap()
        .map(|r| r.get::<_, String>(0))
}
