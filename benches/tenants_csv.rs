//! `opsdeck tenants list --output csv` over 1,000,000 tenants against
//! `psql -X -c "\copy (same query) to stdout csv header"`, in the same run,
//! on a scratch database (dropped afterwards), for the whole table and for
//! `--limit 1000000` (the same rows through the limited path). Prints both
//! times, the ratio (target <= 1.1x) and both peak RSS figures. Run:
//! `cargo bench --bench tenants_csv`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TENANTS: i64 = 1_000_000;
const RUNS: usize = 7;

fn admin_url() -> String {
    std::env::var("OPSDECK_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The scratch database, dropped on every exit path.
struct Scratch {
    name: String,
    url: String,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let status = Command::new("psql")
            .args(["-X", "-q", "-d", &admin_url(), "-c"])
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!("warning: could not drop scratch database {}", self.name);
        }
    }
}

fn psql(url: &str, sql: &str) {
    let out = Command::new("psql")
        .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql])
        .output()
        .expect("psql runs");
    assert!(
        out.status.success(),
        "psql: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Run {
    took: Duration,
    bytes: usize,
    hash: u64,
    max_rss_kib: i64,
}

/// Runs a command with stdout drained through a pipe; wait4 gives the
/// child's own peak RSS.
// The child is reaped by wait4 (for its rusage), which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> Run {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stdout = child.stdout.take().expect("stdout piped");
    let reader = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let (mut bytes, mut hash) = (0usize, 0xcbf29ce484222325u64);
        loop {
            let n = stdout.read(&mut buf).expect("read");
            if n == 0 {
                return (bytes, hash);
            }
            bytes += n;
            for b in &buf[..n] {
                hash = (hash ^ u64::from(*b)).wrapping_mul(0x100000001b3);
            }
        }
    });
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; status and usage point to live locals.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    let (bytes, hash) = reader.join().expect("reader thread");
    let took = start.elapsed();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "command failed: {err}"
    );
    Run {
        took,
        bytes,
        hash,
        max_rss_kib: usage.ru_maxrss,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let name = format!("opsdeck_bench_{}", std::process::id());
    let root = admin_url()
        .rsplit_once('/')
        .map(|(r, _)| r.to_string())
        .expect("admin url has a path");
    psql(&admin_url(), &format!("CREATE DATABASE \"{name}\""));
    let db = Scratch {
        url: format!("{root}/{name}"),
        name,
    };
    let seed = Instant::now();
    psql(
        &db.url,
        &format!(
            "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text NOT NULL UNIQUE, name text, plan text, status text NOT NULL, created_at timestamptz NOT NULL);
             INSERT INTO tenants SELECT g, 'tenant-' || g, 'Tenant ' || g || CASE WHEN g % 1000 = 0 THEN ' O''Brien \"Ltd\" 🚀' ELSE '' END,
                    (ARRAY['free','pro','enterprise'])[1 + g % 3], CASE WHEN g % 50 = 0 THEN 'suspended' ELSE 'active' END,
                    timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute'
             FROM generate_series(1, {TENANTS}) g;"
        ),
    );
    eprintln!(
        "seeded {TENANTS} tenants in {:.1}s",
        seed.elapsed().as_secs_f64()
    );

    let ctx = opsdeck::config::ResolvedContext::resolve(
        "bench".into(),
        opsdeck::config::Context {
            pg: Some(db.url.clone()),
            ..Default::default()
        },
        &Default::default(),
    );
    let pg = opsdeck::conn::connect_pg(&ctx).await.expect("connect");
    let home = tempfile::tempdir().expect("tempdir");
    // The whole table, then the same rows asked for with --limit (which
    // streams too, one row more held back, so it must keep pace).
    for limit in [None, Some(TENANTS as usize)] {
        let query =
            opsdeck::tenants::stream::csv_query(&pg, &ctx.schema, &Default::default(), limit)
                .await
                .expect("query text");
        let opsdeck_cmd = || {
            let mut c = Command::new(env!("CARGO_BIN_EXE_opsdeck"));
            for (k, _) in std::env::vars() {
                if k.starts_with("OPSDECK_") || k.starts_with("PG") {
                    c.env_remove(k);
                }
            }
            c.env("OPSDECK_HOME", home.path())
                .args(["--pg", &db.url, "tenants", "list", "--output", "csv"]);
            if let Some(n) = limit {
                c.args(["--limit", &n.to_string()]);
            }
            c
        };
        let psql_cmd = || {
            let mut c = Command::new("psql");
            c.args(["-X", "-q", "-d", &db.url, "-c"])
                .arg(format!("\\copy ({query}) to stdout csv header"));
            c
        };
        compare(
            &match limit {
                Some(n) => format!("tenants list --output csv --limit {n}"),
                None => "tenants list --output csv".into(),
            },
            opsdeck_cmd,
            psql_cmd,
        );
    }
}

/// Runs both commands RUNS times, alternating who goes first so cache
/// warmth favours neither, checks they print the same bytes, and prints
/// the medians, the ratio and both peak RSS figures.
fn compare(label: &str, opsdeck_cmd: impl Fn() -> Command, psql_cmd: impl Fn() -> Command) {
    let (mut ours, mut theirs, mut rss, mut psql_rss) = (Vec::new(), Vec::new(), 0i64, 0i64);
    for i in 0..RUNS {
        let (a, b) = if i % 2 == 0 {
            let a = measure(&mut opsdeck_cmd());
            (a, measure(&mut psql_cmd()))
        } else {
            let b = measure(&mut psql_cmd());
            (measure(&mut opsdeck_cmd()), b)
        };
        assert_eq!(
            (a.bytes, a.hash),
            (b.bytes, b.hash),
            "opsdeck and psql output differ"
        );
        eprintln!(
            "{label} run {}: opsdeck {:.3}s, psql {:.3}s, {} bytes",
            i + 1,
            a.took.as_secs_f64(),
            b.took.as_secs_f64(),
            a.bytes
        );
        rss = rss.max(a.max_rss_kib);
        psql_rss = psql_rss.max(b.max_rss_kib);
        ours.push(a.took);
        theirs.push(b.took);
    }
    let (o, p) = (median(ours), median(theirs));
    let ratio = o.as_secs_f64() / p.as_secs_f64();
    println!("{label}, {TENANTS} tenants, median of {RUNS} runs");
    println!("  opsdeck: {:.3}s", o.as_secs_f64());
    println!("  psql \\copy: {:.3}s", p.as_secs_f64());
    println!(
        "  ratio: {ratio:.3}x (target <= 1.1x): {}",
        if ratio <= 1.1 { "ok" } else { "OVER TARGET" }
    );
    println!(
        "  peak RSS: opsdeck {:.1} MiB, psql {:.1} MiB",
        rss as f64 / 1024.0,
        psql_rss as f64 / 1024.0
    );
}
