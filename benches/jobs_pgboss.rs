//! `cargo bench --bench jobs_pgboss`: retrying 100,000 failed pg-boss jobs
//! with `opsdeck jobs retry --all-failed --yes` against pg-boss's own API
//! (tests/jobs_support/pgboss_bench.mjs: the failed ids read once, then
//! `boss.retry(name, ids)` in batches of 1,000), on the same data in the
//! same run, each round starting from the same 100,000 failed jobs. Needs
//! the libraries tests/jobs_npm.sh installs and Postgres at
//! OPSDECK_TEST_PG (default 127.0.0.1:5432, trust), where it makes and
//! drops a database of its own.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const OPSDECK: &str = env!("CARGO_BIN_EXE_opsdeck");
const JOBS: i64 = 100_000;
const ROUNDS: usize = 3;
const QUEUE: &str = "bench_invoices";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

fn admin_url() -> String {
    std::env::var("OPSDECK_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn npm_dir() -> BenchResult<PathBuf> {
    if let Ok(d) = std::env::var("OPSDECK_TEST_JOBS_NPM") {
        return Ok(PathBuf::from(d));
    }
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jobs_npm.sh"))
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    Ok(PathBuf::from(
        text.trim()
            .strip_prefix("export OPSDECK_TEST_JOBS_NPM=")
            .ok_or("tests/jobs_npm.sh printed no export line")?,
    ))
}

async fn connect(url: &str) -> BenchResult<tokio_postgres::Client> {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(conn);
    Ok(c)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

async fn run() -> BenchResult<()> {
    let npm = npm_dir()?;
    let name = format!("opsdeck_bench_pgboss_{}", std::process::id());
    let admin = connect(&admin_url()).await?;
    admin
        .batch_execute(&format!("CREATE DATABASE \"{name}\""))
        .await?;
    let root = admin_url()
        .rsplit_once('/')
        .map(|(r, _)| r.to_string())
        .ok_or("url")?;
    let url = format!("{root}/{name}");
    let result = bench(&npm, &url).await;
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await?;
    result
}

async fn bench(npm: &std::path::Path, url: &str) -> BenchResult<()> {
    // pg-boss installs its schema and the queue; the jobs are then made
    // failed in one statement, as 100,000 failed runs would leave them.
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/jobs_support/pgboss_bench.mjs"
    );
    let out = Command::new("node")
        .arg(script)
        .arg(npm)
        .arg(url)
        .arg(QUEUE)
        .output()?;
    if !out.status.success() {
        return Err(format!("pgboss_bench.mjs: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    let c = connect(url).await?;
    c.batch_execute(&format!(
        "INSERT INTO pgboss.job (name, data, state, retry_limit, started_on, completed_on, output)
         SELECT '{QUEUE}', jsonb_build_object('invoice', g, 'tenant_id', g % 300), 'failed', 0,
                now() - interval '1 minute', now(),
                jsonb_build_object('name', 'Error', 'message', 'payment gateway timeout for invoice ' || g,
                                   'stack', 'Error: payment gateway timeout')
         FROM generate_series(1, {JOBS}) g;
         ANALYZE pgboss.job;"
    ))
    .await?;
    // VACUUM cannot share a multi-statement string, so the reset is two.
    let reset = format!(
        "UPDATE pgboss.job SET state = 'failed', retry_limit = 0, completed_on = now()
         WHERE name = '{QUEUE}'"
    );
    let reset = || async {
        c.batch_execute(&reset).await?;
        c.batch_execute("VACUUM ANALYZE pgboss.job").await?;
        BenchResult::Ok(())
    };
    let failed = || async {
        let n: i64 = c
            .query_one(
                &format!(
                    "SELECT count(*) FROM pgboss.job WHERE name = '{QUEUE}' AND state = 'failed'"
                ),
                &[],
            )
            .await?
            .get(0);
        BenchResult::Ok(n)
    };
    let retrying = || async {
        let n: i64 = c
            .query_one(
                &format!(
                    "SELECT count(*) FROM pgboss.job WHERE name = '{QUEUE}' AND state = 'retry'"
                ),
                &[],
            )
            .await?
            .get(0);
        BenchResult::Ok(n)
    };
    let home = tempfile::tempdir()?;
    println!("pg-boss retry of {JOBS} failed jobs ({ROUNDS} rounds each, median)");
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        reset().await?;
        assert_eq!(failed().await?, JOBS);
        let t = Instant::now();
        let out = Command::new(OPSDECK)
            .env("OPSDECK_HOME", home.path())
            .args([
                "--pg",
                url,
                "--yes",
                "--output",
                "json",
                "jobs",
                "retry",
                "--all-failed",
                "--source",
                "pgboss",
            ])
            .output()?;
        let took = t.elapsed();
        if !out.status.success() {
            return Err(format!("opsdeck: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        assert_eq!(retrying().await?, JOBS, "opsdeck retried every job");
        ours.push(took);

        reset().await?;
        let t = Instant::now();
        let out = Command::new("node")
            .arg(script)
            .arg(npm)
            .arg(url)
            .arg(QUEUE)
            .output()?;
        let took = t.elapsed();
        let said = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !said.contains(&format!("retried {JOBS} ")) {
            return Err(format!(
                "pgboss_bench.mjs: {said} {}",
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        assert_eq!(retrying().await?, JOBS, "pg-boss retried every job");
        let inner: f64 = said
            .split_whitespace()
            .last()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        theirs.push(took);
        println!(
            "  round {}: opsdeck {:.0} ms, pg-boss API {:.0} ms (of which reads + retries {inner:.0} ms)",
            round + 1,
            ours[round].as_secs_f64() * 1000.0,
            took.as_secs_f64() * 1000.0
        );
    }
    let (o, t) = (median(ours), median(theirs));
    println!(
        "opsdeck jobs retry --all-failed: {:.0} ms; pg-boss boss.retry in batches: {:.0} ms; ratio opsdeck/pg-boss {:.2}x (whole processes, start-up included)",
        o.as_secs_f64() * 1000.0,
        t.as_secs_f64() * 1000.0,
        o.as_secs_f64() / t.as_secs_f64()
    );
    Ok(())
}
