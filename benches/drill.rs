//! `cargo bench --bench drill`: the restore phase of `opsdeck drill run`
//! against plain `pg_restore -j 2` of the same archive into an empty
//! database of the same server, interleaved rounds, medians compared
//! (target: opsdeck ≤ 1.15x). Then one whole drill of the archive (fetch,
//! throwaway cluster, restore, verify) for its RTO.

use opsdeck::audit::{Actor, Audit};
use opsdeck::config::drills::DrillSettings;
use opsdeck::config::{Context, ContextOverrides, ResolvedContext, SchemaMap};
use opsdeck::conn::child::ChildLogin;
use opsdeck::drills::{self, bins, DrillRequest, SourceKind};
use opsdeck::safety::{Approval, Safety};
use opsdeck::sandbox::seed::{seed_postgres, Scale};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use opsdeck::stop::Stop;
use std::process::Command;
use std::time::Instant;

const ROUNDS: usize = 3;
const JOBS: u32 = 2;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn run() -> BenchResult<()> {
    let source = PgSandbox::start(PgOptions::default()).await?;
    source.create_database("demo").await?;
    let seeded = Instant::now();
    seed_postgres(&source.connect("demo").await?, Scale::Small, &|_| {}).await?;
    println!(
        "seeded the demo data (small) in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let dir = tempfile::tempdir()?;
    let archive = dir.path().join("demo.dump");
    let pg_dump = bins::client_tool("pg_dump", 15)?;
    let pg_restore = bins::client_tool("pg_restore", 15)?;
    let ok = Command::new(&pg_dump)
        .args(["--format=custom", "--file"])
        .arg(&archive)
        .args(["--dbname", &source.url_for("demo")])
        .status()?
        .success();
    if !ok {
        return Err("pg_dump failed".into());
    }
    let toc = drills::archive::list(&pg_restore, &archive).await?;
    println!(
        "archive: {} bytes, {} entries",
        drills::archive::size(&archive),
        toc.entries
    );

    let target = PgSandbox::start(PgOptions::default()).await?;
    let admin = target.connect("postgres").await?;
    let (mut plain, mut ours) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for db in [format!("plain_{round}"), format!("ours_{round}")] {
            admin
                .batch_execute(&format!("CREATE DATABASE {db} TEMPLATE template0"))
                .await?;
        }
        let t = Instant::now();
        let status = Command::new(&pg_restore)
            .args(["--jobs", &JOBS.to_string(), "--dbname"])
            .arg(target.url_for(&format!("plain_{round}")))
            .arg(&archive)
            .status()?;
        plain.push(t.elapsed().as_secs_f64() * 1000.0);
        if !status.success() {
            return Err("plain pg_restore failed".into());
        }
        let t = Instant::now();
        let out = drills::restore::run(
            &pg_restore,
            &archive,
            &ChildLogin::for_spec(&target.url_for(&format!("ours_{round}")))?,
            JOBS,
            toc.entries,
            &Stop::new(),
            &|_| {},
        )
        .await?;
        ours.push(t.elapsed().as_secs_f64() * 1000.0);
        if !out.clean() {
            return Err(format!("opsdeck restore: {out:?}").into());
        }
    }
    let (p, o) = (median(plain.clone()), median(ours.clone()));
    println!("pg_restore -j {JOBS} (plain)   median {p:>8.0} ms  rounds {plain:.0?}");
    println!("opsdeck restore phase   median {o:>8.0} ms  rounds {ours:.0?}");
    println!("ratio opsdeck/plain: {:.3}x (target <= 1.15x)", o / p);

    let ctx = Context {
        pg: Some(source.url_for("demo")),
        ..Context::default()
    };
    let resolved = ResolvedContext::resolve("bench".into(), ctx, &ContextOverrides::default());
    let src = opsdeck::conn::connect_pg(&resolved).await?;
    let settings = DrillSettings::default();
    let plan = drills::plan(
        &settings,
        DrillRequest {
            source: Some(SourceKind::Dump),
            path: Some(archive.clone()),
            ..DrillRequest::default()
        },
        &src.target,
    )?;
    let audit = Audit::new(
        dir.path().join("audit.jsonl"),
        None,
        Actor::current(None),
        "bench".into(),
    );
    let approved = Safety::new(false, audit)
        .authorize(plan, Approval::AssumeYes)
        .await?;
    let schema = SchemaMap::default();
    let env = drills::DrillEnv {
        source: &src,
        source_login: ChildLogin::for_context(&resolved).await?,
        settings: &settings,
        schema: &schema,
        history_file: dir.path().join("drills.jsonl"),
        operator: "bench".into(),
        context: "bench".into(),
    };
    let report = drills::run(&env, approved, &Stop::new(), &|_| {}).await?;
    println!(
        "whole drill: {} — RTO {} ms (fetch {} ms, restore {} ms, verify {} ms), {} checks, throughput {} bytes/s",
        report.status.as_str(),
        report.rto_ms,
        report.fetch_ms,
        report.restore_ms,
        report.verify_ms,
        report.checks.len(),
        report.restore_bytes_per_s.unwrap_or(0)
    );
    Ok(())
}
