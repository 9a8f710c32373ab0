//! `cargo bench --bench cache`: opsdeck's cache commands against the obvious
//! redis-cli equivalents, in the same run, on a throwaway redis-server.
//!
//! 1. `opsdeck cache keys --pattern P` over 1,000,000 keys vs
//!    `redis-cli --scan --pattern P` (target <= 1.1x).
//! 2. `opsdeck cache invalidate --pattern P --yes` of 100,000 keys vs
//!    `redis-cli --scan --pattern P | xargs redis-cli unlink` (target <= 0.5x),
//!    with Redis latency measured by a PING probe every 1 ms during each run
//!    (target p99 < 5 ms).
//! 3. The core's invalidation at a few throttle settings (batch, pause), to
//!    show what the default costs and buys.

#[path = "common/probe.rs"]
mod probe;

use opsdeck::audit::{Actor, Audit};
use opsdeck::cache::{invalidate, Plan, Throttle};
use opsdeck::conn::redis::connect_url;
use opsdeck::safety::{Approval, Safety};
use opsdeck::sandbox::RedisSandbox;
use opsdeck::stop::Stop;
use probe::{latency, pooled, probe_during};
use redis::aio::MultiplexedConnection;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const OPSDECK: &str = env!("CARGO_BIN_EXE_opsdeck");
const ROUNDS: usize = 3;
/// More rounds here: each is short, and the latency tail needs samples.
const INVALIDATE_ROUNDS: usize = 5;
const SCAN_KEYS: usize = 1_000_000;
const INVALIDATE_KEYS: usize = 100_000;

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

async fn run() -> BenchResult<()> {
    let sb = RedisSandbox::start().await?;
    let port = sb.port().to_string();
    let mut c = redis::Client::open(sb.url())?
        .get_multiplexed_async_connection()
        .await?;
    let home = tempfile::tempdir()?;

    println!(
        "cache benchmarks on redis-server at {} ({ROUNDS} rounds, median)",
        sb.url()
    );

    // 1. keys --pattern over 1,000,000 keys: a quarter of them match.
    let kinds = ["user", "project", "invoice", "session"];
    fill(
        &mut c,
        (0..SCAN_KEYS).map(|i| format!("t:{}:{}:{i}", i % 500, kinds[i % 4])),
        None,
    )
    .await?;
    let pattern = "t:*:user:*";
    let ours = median(ROUNDS, || {
        timed(
            Command::new(OPSDECK)
                .env("OPSDECK_HOME", home.path())
                .args(["--redis", &sb.url(), "cache", "keys", "--pattern", pattern]),
        )
    })?;
    let cli = median(ROUNDS, || {
        timed(Command::new("redis-cli").args(["-p", &port, "--scan", "--pattern", pattern]))
    })?;
    let lines = count_lines(
        Command::new(OPSDECK)
            .env("OPSDECK_HOME", home.path())
            .args(["--redis", &sb.url(), "cache", "keys", "--pattern", pattern]),
    )?;
    println!("\n[keys] pattern {pattern} over {SCAN_KEYS} keys ({lines} match)");
    println!(
        "  opsdeck cache keys --pattern             {:>8.1} ms",
        ms(ours)
    );
    println!(
        "  redis-cli --scan --pattern               {:>8.1} ms",
        ms(cli)
    );
    println!(
        "  ratio opsdeck / redis-cli: {:.2}x (target <= 1.10x) {}",
        ms(ours) / ms(cli),
        verdict(ms(ours) / ms(cli) <= 1.1)
    );
    let _: () = redis::cmd("FLUSHALL").query_async(&mut c).await?;

    // 2. invalidate 100,000 keys (100,000 others stay), with a latency probe.
    let pattern = "inv:*";
    let mut ours = Vec::new();
    let mut cli = Vec::new();
    for _ in 0..INVALIDATE_ROUNDS {
        refill(&mut c).await?;
        let mut cmd = Command::new(OPSDECK);
        cmd.env("OPSDECK_HOME", home.path()).args([
            "--redis",
            &sb.url(),
            "cache",
            "invalidate",
            "--pattern",
            pattern,
            "--yes",
        ]);
        ours.push(probed(&sb.url(), cmd).await?);
        check_left(&mut c).await?;
        refill(&mut c).await?;
        let script = format!(
            "redis-cli -p {port} --scan --pattern '{pattern}' | xargs redis-cli -p {port} unlink"
        );
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &script]);
        cli.push(probed(&sb.url(), cmd).await?);
        check_left(&mut c).await?;
    }
    let (ours_t, ours_lat) = pooled(ours);
    let (cli_t, cli_lat) = pooled(cli);
    println!(
        "\n[invalidate] {INVALIDATE_KEYS} keys matching {pattern} (another {INVALIDATE_KEYS} kept), {INVALIDATE_ROUNDS} rounds, median"
    );
    println!("  opsdeck cache invalidate --yes       {:>8.1} ms  PING p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} probes)",
        ms(ours_t), ours_lat.p50, ours_lat.p99, ours_lat.max, ours_lat.n);
    println!("  redis-cli --scan | xargs unlink      {:>8.1} ms  PING p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} probes)",
        ms(cli_t), cli_lat.p50, cli_lat.p99, cli_lat.max, cli_lat.n);
    println!(
        "  ratio opsdeck / redis-cli: {:.2}x (target <= 0.50x) {}",
        ms(ours_t) / ms(cli_t),
        verdict(ms(ours_t) / ms(cli_t) <= 0.5)
    );
    println!(
        "  opsdeck PING p99 during invalidation: {:.2} ms (target < 5 ms) {}",
        ours_lat.p99,
        verdict(ours_lat.p99 < 5.0)
    );

    // 3. throttle settings, through the core (no process start-up).
    println!("\n[throttle] core invalidate::run of {INVALIDATE_KEYS} keys");
    let redis = connect_url(&sb.url(), None).await?;
    let default = Throttle::default();
    let never = Duration::from_secs(3600);
    let settings = [
        ("default", default),
        (
            "no back-off",
            Throttle {
                slow: never,
                ..default
            },
        ),
        (
            "batch 100",
            Throttle {
                batch: 100,
                ..default
            },
        ),
        (
            "batch 2000",
            Throttle {
                batch: 2000,
                ..default
            },
        ),
        (
            "pause 1 ms",
            Throttle {
                pause: Duration::from_millis(1),
                ..default
            },
        ),
    ];
    for (name, throttle) in settings {
        refill(&mut c).await?;
        let plan = Plan::pattern(pattern)?;
        let audit = Audit::new(
            home.path().join("bench-audit.jsonl"),
            None,
            Actor::current(None),
            "bench".into(),
        );
        let guard = Safety::new(false, audit)
            .authorize(
                plan.clone().invalidation(&redis.target, None),
                Approval::AssumeYes,
            )
            .await?;
        let (t, samples) = probe_during(&sb.url(), async {
            let started = Instant::now();
            let done = invalidate::run(&redis, guard, throttle, &Stop::new(), |_| {}).await?;
            if done.deleted != INVALIDATE_KEYS as u64 {
                return Err(
                    format!("deleted {} keys, expected {INVALIDATE_KEYS}", done.deleted).into(),
                );
            }
            Ok(started.elapsed())
        })
        .await?;
        let lat = latency(samples);
        println!(
            "  {name:<12} batch {:>5} pause {:>5} us  {:>8.1} ms  PING p99 {:.2} ms  max {:.2} ms  ({} probes)",
            throttle.batch,
            throttle.pause.as_micros(),
            ms(t),
            lat.p99,
            lat.max,
            lat.n
        );
    }
    Ok(())
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

/// SETs every key (value = key) in pipelined chunks.
async fn fill<I: Iterator<Item = String>>(
    c: &mut MultiplexedConnection,
    keys: I,
    ttl: Option<u64>,
) -> BenchResult<()> {
    let mut pipe = redis::pipe();
    for (n, k) in keys.enumerate() {
        match ttl {
            Some(t) => pipe.cmd("SET").arg(&k).arg(&k).arg("EX").arg(t).ignore(),
            None => pipe.cmd("SET").arg(&k).arg(&k).ignore(),
        };
        if n % 20_000 == 19_999 {
            pipe.query_async::<()>(c).await?;
            pipe = redis::pipe();
        }
    }
    pipe.query_async::<()>(c).await?;
    Ok(())
}

async fn refill(c: &mut MultiplexedConnection) -> BenchResult<()> {
    let _: () = redis::cmd("FLUSHALL").query_async(c).await?;
    fill(
        c,
        (0..INVALIDATE_KEYS).map(|i| format!("inv:{i}")),
        Some(3600),
    )
    .await?;
    fill(
        c,
        (0..INVALIDATE_KEYS).map(|i| format!("keep:{i}")),
        Some(3600),
    )
    .await
}

async fn check_left(c: &mut MultiplexedConnection) -> BenchResult<()> {
    let n: usize = redis::cmd("DBSIZE").query_async(c).await?;
    if n != INVALIDATE_KEYS {
        return Err(format!("{n} keys left after invalidation, expected {INVALIDATE_KEYS}").into());
    }
    Ok(())
}

/// Runs a command with stdout to /dev/null and returns its wall time.
fn timed(cmd: &mut Command) -> BenchResult<Duration> {
    let started = Instant::now();
    let out = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
    let took = started.elapsed();
    if !out.status.success() {
        return Err(format!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(took)
}

fn count_lines(cmd: &mut Command) -> BenchResult<usize> {
    let out = cmd.output()?;
    Ok(out.stdout.iter().filter(|b| **b == b'\n').count())
}

fn median<F: FnMut() -> BenchResult<Duration>>(rounds: usize, mut f: F) -> BenchResult<Duration> {
    let mut v = (0..rounds).map(|_| f()).collect::<BenchResult<Vec<_>>>()?;
    v.sort();
    Ok(v[v.len() / 2])
}

/// Runs a command on a blocking thread while the probe PINGs.
async fn probed(url: &str, mut cmd: Command) -> BenchResult<(Duration, Vec<f64>)> {
    probe_during(url, async {
        tokio::task::spawn_blocking(move || timed(&mut cmd).map_err(|e| e.to_string()))
            .await?
            .map_err(|e| e.into())
    })
    .await
}
