//! `cargo bench --bench jobs_bullmq`: retrying 100,000 failed BullMQ jobs,
//! opsdeck against BullMQ's own `Queue.retryJobs({ state: 'failed' })`, on
//! identical data (the same seed into a flushed throwaway redis-server
//! before each run), in the same run, with Redis latency measured by a
//! PING probe every 1 ms during each (target: opsdeck no slower, PING p99
//! under 5 ms).
//!
//! Rows: `opsdeck jobs retry --all-failed --yes` as a process (start-up,
//! discovery, listing and the Lua batches), the same through the core
//! in-process, and the library's call timed inside node as well as the
//! node process's wall time. Needs bullmq + ioredis (tests/bullmq.sh).

#[path = "common/probe.rs"]
mod probe;

use opsdeck::audit::{Actor, Audit};
use opsdeck::conn::redis::connect_url;
use opsdeck::jobs::bullmq::Bullmq;
use opsdeck::jobs::plan::{execute_retry, RetryPlan, Selection};
use opsdeck::jobs::SourceKind;
use opsdeck::safety::{Approval, Safety};
use opsdeck::sandbox::seed::jobs_bullmq::write_failed;
use opsdeck::sandbox::RedisSandbox;
use opsdeck::stop::Stop;
use probe::{pooled, probe_during, Latency};
use redis::aio::MultiplexedConnection;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const OPSDECK: &str = env!("CARGO_BIN_EXE_opsdeck");
const CLIENT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/jobs_support/bullmq_client.mjs"
);
const JOBS: u64 = 100_000;
const ROUNDS: usize = 3;
const QUEUE: &str = "bench";

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> BenchResult<()> {
    let modules = bullmq_modules()?;
    let sb = RedisSandbox::start().await?;
    let url = sb.url();
    let mut c = redis::Client::open(url.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    let home = tempfile::tempdir()?;
    println!(
        "BullMQ retry benchmark on redis-server at {url}: {JOBS} failed jobs, {ROUNDS} rounds, median"
    );

    let mut cli = Vec::new();
    let mut core = Vec::new();
    let mut lib = Vec::new();
    let mut lib_inner = Vec::new();
    for _ in 0..ROUNDS {
        reseed(&mut c).await?;
        let mut cmd = Command::new(OPSDECK);
        cmd.env("OPSDECK_HOME", home.path()).args([
            "--redis",
            &url,
            "jobs",
            "retry",
            "--all-failed",
            "--source",
            "bullmq",
            "--queue",
            QUEUE,
            "--yes",
        ]);
        cli.push(probe_during(&url, run_blocking(cmd)).await?);
        check_retried(&mut c, true).await?;

        reseed(&mut c).await?;
        core.push(probe_during(&url, retry_in_process(&url, home.path().into())).await?);
        check_retried(&mut c, true).await?;

        reseed(&mut c).await?;
        let mut cmd = Command::new("node");
        cmd.arg(CLIENT)
            .arg("retryAll")
            .env("NODE_PATH", &modules)
            .env("REDIS_URL", &url)
            .env("BULLMQ_PREFIX", "bull")
            .env("BULLMQ_QUEUE", QUEUE);
        let ((wall, out), samples) = probe_during(&url, run_blocking_output(cmd)).await?;
        let inner: serde_json::Value = serde_json::from_str(out.trim())?;
        lib_inner.push(Duration::from_secs_f64(
            inner["ms"].as_f64().unwrap_or(0.0) / 1000.0,
        ));
        lib.push((wall, samples));
        check_retried(&mut c, false).await?;
    }
    let (cli_t, cli_lat) = pooled(cli);
    let (core_t, core_lat) = pooled(core);
    let (lib_t, lib_lat) = pooled(lib);
    lib_inner.sort();
    let lib_inner_t = lib_inner[lib_inner.len() / 2];
    let row = |name: &str, t: Duration, l: &Latency| {
        println!(
            "  {name:<44} {:>8.1} ms  PING p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} probes)",
            ms(t),
            l.p50,
            l.p99,
            l.max,
            l.n
        );
    };
    row("opsdeck jobs retry --all-failed --yes", cli_t, &cli_lat);
    row("opsdeck core execute_retry (in-process)", core_t, &core_lat);
    row("node: Queue.retryJobs({state:'failed'})", lib_t, &lib_lat);
    println!(
        "  {:<44} {:>8.1} ms  (timed inside node, no start-up)",
        "  of which retryJobs itself",
        ms(lib_inner_t)
    );
    let ratio = ms(cli_t) / ms(lib_t);
    println!(
        "  ratio opsdeck process / node process: {ratio:.2}x (target <= 1.00x) {}",
        verdict(ratio <= 1.0)
    );
    println!(
        "  ratio opsdeck core / retryJobs call:  {:.2}x",
        ms(core_t) / ms(lib_inner_t)
    );
    println!(
        "  opsdeck PING p99 during the retry: {:.2} ms (target < 5 ms) {}; BullMQ's own: {:.2} ms",
        cli_lat.p99,
        verdict(cli_lat.p99 < 5.0),
        lib_lat.p99
    );
    Ok(())
}

/// The cached bullmq install (tests/bullmq.sh makes it when missing).
fn bullmq_modules() -> BenchResult<PathBuf> {
    if let Ok(dir) = std::env::var("OPSDECK_TEST_BULLMQ") {
        return Ok(PathBuf::from(dir).join("node_modules"));
    }
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bullmq.sh"))
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let dir = text
        .trim()
        .strip_prefix("export OPSDECK_TEST_BULLMQ=")
        .ok_or("tests/bullmq.sh printed no export line")?;
    Ok(PathBuf::from(dir).join("node_modules"))
}

async fn reseed(c: &mut MultiplexedConnection) -> BenchResult<()> {
    let _: () = redis::cmd("FLUSHALL").query_async(c).await?;
    // One fixed clock, so every round starts from the same bytes.
    write_failed(c, "bull", QUEUE, JOBS, 1_796_000_000_000).await?;
    Ok(())
}

/// Every job left `failed` for `wait`; opsdeck also resets the attempts.
async fn check_retried(c: &mut MultiplexedConnection, reset: bool) -> BenchResult<()> {
    let (failed, waiting): (u64, u64) = redis::pipe()
        .cmd("ZCARD")
        .arg(format!("bull:{QUEUE}:failed"))
        .cmd("LLEN")
        .arg(format!("bull:{QUEUE}:wait"))
        .query_async(c)
        .await?;
    if failed != 0 || waiting != JOBS {
        return Err(format!("after the retry: {failed} failed, {waiting} waiting").into());
    }
    let (reason, atm): (Option<String>, Option<u64>) = redis::cmd("HMGET")
        .arg(format!("bull:{QUEUE}:77"))
        .arg("failedReason")
        .arg("atm")
        .query_async(c)
        .await?;
    if reason.is_some() || atm.is_some() == reset {
        return Err(format!("job 77 after the retry: failedReason {reason:?}, atm {atm:?}").into());
    }
    Ok(())
}

async fn retry_in_process(url: &str, home: PathBuf) -> BenchResult<Duration> {
    let started = Instant::now();
    let redis = connect_url(url, None).await?;
    let source = Bullmq::new(redis, "bull");
    let selection = Selection::AllFailed {
        queue: Some(QUEUE.into()),
        error_like: None,
        pattern: None,
    };
    let audit = Audit::new(
        home.join("bench-audit.jsonl"),
        None,
        Actor::current(None),
        "bench".into(),
    );
    let approved = Safety::new(false, audit)
        .authorize(
            RetryPlan::new(SourceKind::Bullmq, selection, None),
            Approval::AssumeYes,
        )
        .await?;
    let outcome = execute_retry(&source, approved, &Stop::new(), |_| {}).await?;
    if outcome.done != JOBS {
        return Err(format!("retried {} jobs, expected {JOBS}", outcome.done).into());
    }
    Ok(started.elapsed())
}

async fn run_blocking(cmd: Command) -> BenchResult<Duration> {
    Ok(run_blocking_output(cmd).await?.0)
}

/// Runs a command on a blocking thread; its wall time and stdout.
async fn run_blocking_output(mut cmd: Command) -> BenchResult<(Duration, String)> {
    let r = tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let out = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| e.to_string())?;
        let took = started.elapsed();
        if !out.status.success() {
            return Err(format!(
                "{cmd:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
    })
    .await?;
    Ok(r?)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "MISSED"
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
