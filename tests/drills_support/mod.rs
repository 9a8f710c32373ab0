//! Drill fixtures: a source database seeded with the demo data (tiny
//! scale), pg_dump archives of it made the way operators make them, and
//! the drill run through the core with a throwaway audit and history.
#![allow(dead_code)]

use opsdeck::audit::{Actor, Audit};
use opsdeck::config::drills::{CustomCheck, DrillSettings};
use opsdeck::config::{Context, ContextOverrides, ResolvedContext, SchemaMap};
use opsdeck::conn::child::ChildLogin;
use opsdeck::conn::Pg;
use opsdeck::drills::{self, DrillReport, DrillRequest, Progress, SourceKind};
use opsdeck::safety::{Approval, Safety};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use opsdeck::stop::Stop;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// A sandbox cluster whose database `demo` is seeded like `opsdeck demo`
/// (tiny scale).
pub async fn demo_source() -> (PgSandbox, String) {
    let sb = PgSandbox::start(PgOptions::default())
        .await
        .expect("sandbox");
    sb.create_database("demo").await.expect("create demo");
    let client = sb.connect("demo").await.expect("connect");
    opsdeck::sandbox::seed::seed_postgres(&client, opsdeck::sandbox::seed::Scale::Tiny, &|_| {})
        .await
        .expect("seed the demo data");
    let url = sb.url_for("demo");
    (sb, url)
}

pub async fn pg(url: &str) -> Pg {
    let ctx = Context {
        pg: Some(url.to_string()),
        ..Context::default()
    };
    let resolved = ResolvedContext::resolve("t".into(), ctx, &ContextOverrides::default());
    opsdeck::conn::connect_pg(&resolved).await.expect("connect")
}

/// `pg_dump -Fc` of `url` into `dir/name.dump`, with extra pg_dump args.
pub fn dump(url: &str, dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.dump"));
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(&path)
        .args(extra)
        .arg("--dbname")
        .arg(url)
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

/// A drill's workspace: audit file and history file in a temp dir.
pub struct Bench {
    pub dir: tempfile::TempDir,
    pub safety: Safety,
}

impl Bench {
    pub fn new() -> Bench {
        let dir = tempfile::tempdir().expect("tempdir");
        let audit = Audit::new(
            dir.path().join("audit.jsonl"),
            None,
            Actor::current(None),
            "t".into(),
        );
        Bench {
            safety: Safety::new(false, audit),
            dir,
        }
    }

    pub fn history(&self) -> PathBuf {
        self.dir.path().join("drills.jsonl")
    }

    pub fn audit_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("audit.jsonl")).unwrap_or_default()
    }
}

/// Runs a drill of `archive` (None: fresh) against the source `src`.
pub async fn drill(
    bench: &Bench,
    src: &Pg,
    src_url: &str,
    archive: Option<&Path>,
    checks: Vec<CustomCheck>,
    target: Option<String>,
) -> opsdeck::Result<(DrillReport, Vec<Progress>)> {
    drill_with(bench, src, src_url, archive, checks, target, (false, false)).await
}

/// [`drill`] with `(keep, replace)`.
pub async fn drill_with(
    bench: &Bench,
    src: &Pg,
    src_url: &str,
    archive: Option<&Path>,
    checks: Vec<CustomCheck>,
    target: Option<String>,
    (keep, replace): (bool, bool),
) -> opsdeck::Result<(DrillReport, Vec<Progress>)> {
    let settings = DrillSettings {
        checks,
        ..DrillSettings::default()
    };
    let req = DrillRequest {
        keep,
        replace,
        source: Some(if archive.is_some() {
            SourceKind::Dump
        } else {
            SourceKind::Fresh
        }),
        path: archive.map(Path::to_path_buf),
        target,
        ..DrillRequest::default()
    };
    let plan = drills::plan(&settings, req, &src.target)?;
    let approved = bench.safety.authorize(plan, Approval::AssumeYes).await?;
    let schema = SchemaMap::default();
    let env = drills::DrillEnv {
        source: src,
        source_login: ChildLogin::for_spec(src_url).unwrap(),
        settings: &settings,
        schema: &schema,
        history_file: bench.history(),
        operator: "tester".into(),
        context: "t".into(),
    };
    let seen = Mutex::new(Vec::new());
    let on = |p: Progress| seen.lock().unwrap().push(p);
    let report = drills::run(&env, approved, &Stop::new(), &on).await?;
    Ok((report, seen.into_inner().unwrap()))
}

pub fn check<'a>(r: &'a DrillReport, name: &str) -> &'a drills::Check {
    r.checks
        .iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no check {name} in {:#?}", r.checks))
}
