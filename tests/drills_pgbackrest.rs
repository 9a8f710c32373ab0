//! `--source pgbackrest` against real pgBackRest 2.45: a sandbox cluster
//! archiving into a repository in a temp dir, `stanza-create` and a full
//! backup; the drill restores the newest backup into a throwaway data
//! directory, starts it, waits for promotion and verifies it against the
//! source; the RPO comes from the backup's stop time.

mod common;
mod drills_support;

use drills_support::{check, pg, Bench};
use opsdeck::config::drills::DrillSettings;
use opsdeck::config::SchemaMap;
use opsdeck::conn::child::ChildLogin;
use opsdeck::drills::{self, DrillRequest, DrillStatus, SourceKind, Status};
use opsdeck::safety::Approval;
use opsdeck::sandbox::{PgOptions, PgSandbox};
use opsdeck::stop::Stop;
use std::path::Path;
use std::process::Command;

/// Runs pgbackrest as the postgres user (it refuses to run as root next to a cluster it does not own).
fn pgbackrest(conf: &Path, args: &[&str]) {
    let out = Command::new("runuser")
        .args(["-u", "postgres", "--", "pgbackrest"])
        .arg(format!("--config={}", conf.display()))
        .arg("--stanza=main")
        .args(args)
        .output()
        .expect("run pgbackrest (apt-get install pgbackrest)");
    assert!(
        out.status.success(),
        "pgbackrest {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn the_newest_pgbackrest_backup_restores_promotes_and_verifies() {
    let repo = tempfile::tempdir().unwrap();
    let conf = repo.path().join("pgbackrest.conf");
    let archive_command = format!(
        "pgbackrest --config={} --stanza=main archive-push %p",
        conf.display()
    );
    let source = PgSandbox::start(
        PgOptions::default()
            .setting("archive_mode", "on")
            .setting("archive_command", archive_command)
            .setting("wal_level", "replica"),
    )
    .await
    .unwrap();
    std::fs::write(
        &conf,
        format!(
            "[global]\nrepo1-path={r}/repo\nlog-path={r}/log\nlock-path={r}/lock\nlog-level-console=warn\nlog-level-file=off\nstart-fast=y\narchive-timeout=60\n[main]\npg1-path={d}\npg1-port={p}\npg1-socket-path={s}\n",
            r = repo.path().display(),
            d = source.data_dir().display(),
            p = source.port(),
            s = source.dir().display()
        ),
    )
    .unwrap();
    let ok = Command::new("chown")
        .args(["-R", "postgres:"])
        .arg(repo.path())
        .status()
        .unwrap()
        .success();
    assert!(ok);
    source.create_database("app").await.unwrap();
    source
        .connect("app")
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE tenants (id int PRIMARY KEY, name text NOT NULL);
             INSERT INTO tenants SELECT g, 't' || g FROM generate_series(1, 40) g;
             CREATE TABLE events (id bigserial PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants, at timestamptz DEFAULT now());
             INSERT INTO events (tenant_id) SELECT 1 + g % 40 FROM generate_series(1, 20000) g;
             ANALYZE;",
        )
        .await
        .unwrap();
    pgbackrest(&conf, &["stanza-create"]);
    pgbackrest(&conf, &["--type=full", "backup"]);

    let src = pg(&source.url_for("app")).await;
    let settings = DrillSettings {
        pgbackrest_stanza: Some("main".into()),
        pgbackrest_config: Some(conf.clone()),
        ..DrillSettings::default()
    };
    let plan = drills::plan(&settings, DrillRequest::default(), &src.target).unwrap();
    assert_eq!(
        plan.source,
        SourceKind::Pgbackrest,
        "a configured stanza is the default source"
    );
    let bench = Bench::new();
    let approved = bench
        .safety
        .authorize(plan, Approval::AssumeYes)
        .await
        .unwrap();
    let schema = SchemaMap::default();
    let env = drills::DrillEnv {
        source: &src,
        source_login: ChildLogin::for_spec(&source.url_for("app")).unwrap(),
        settings: &settings,
        schema: &schema,
        history_file: bench.history(),
        operator: "tester".into(),
        context: "t".into(),
    };
    let r = drills::run(&env, approved, &Stop::new(), &|_| {})
        .await
        .unwrap();
    let failed: Vec<_> = r.failed_checks().collect();
    assert!(failed.is_empty(), "{failed:#?}");
    assert_eq!(r.status, DrillStatus::Passed);
    assert_eq!(r.source, "pgbackrest:main");
    assert!(
        check(&r, "backup").detail.contains("(full)"),
        "{}",
        check(&r, "backup").detail
    );
    assert!(check(&r, "restore").detail.contains("promoted"));
    assert_eq!(check(&r, "rows public.events").status, Status::Ok);
    assert!(check(&r, "rows public.events")
        .detail
        .contains("restored 20000"));
    assert_eq!(check(&r, "tenant rows public.events").status, Status::Ok);
    let rpo = r.rpo_ms.expect("RPO from the backup's stop time");
    assert!(rpo < 600_000, "{rpo}");
    assert!(r.backup_taken_at.is_some());
    let mine = format!("pg-{}-", std::process::id());
    let left: Vec<String> = std::fs::read_dir(std::env::temp_dir().join("opsdeck-sandbox"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&mine))
        .collect();
    assert_eq!(left.len(), 1, "only the source cluster is left: {left:?}");
}
