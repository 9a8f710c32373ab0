//! `cargo bench --bench queries`: what one refresh of each `:queries` tab
//! costs the server, on the demo data under a pgbench load, side by side
//! with pg_activity's refresh when it is installed (`apt-get install
//! pg-activity`). Each tool connects as a role of its own, so
//! pg_stat_statements (grouped by role) counts exactly its statements and
//! their execution time; the counting itself runs as another role.
//!
//! Reported per refresh: statements issued, server execution time (ms), and
//! for opsdeck the client's wall time (median of the rounds).

use opsdeck::config::{Config, ContextOverrides, Paths};
use opsdeck::queries::{self, activity::ActiveQuery, stat_statements, SlowQuery, SortKey};
use opsdeck::sandbox::seed::{seed_postgres, Scale};
use opsdeck::sandbox::{find_bin_dir, PgOptions, PgSandbox};
use opsdeck::session::Session;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_postgres::Client;

const ROUNDS: usize = 20;
const DB: &str = "demo";
/// pg_activity's fastest refresh, and how long it is watched.
const PGA_REFRESH_S: f64 = 1.0;
const PGA_WATCH: Duration = Duration::from_secs(10);

type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

fn main() -> BenchResult<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run())
}

/// Calls and execution time pg_stat_statements holds for `role`.
async fn counted(admin: &Client, role: &str) -> BenchResult<(i64, f64)> {
    let r = admin
        .query_one(
            "SELECT coalesce(sum(s.calls), 0)::int8, coalesce(sum(s.total_exec_time), 0)::float8
             FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid WHERE r.rolname = $1",
            &[&role],
        )
        .await?;
    Ok((r.get(0), r.get(1)))
}

struct Figures {
    statements: f64,
    server_ms: f64,
    wall_ms: Option<f64>,
}

fn print(tool: &str, what: &str, f: &Figures) {
    let wall = f
        .wall_ms
        .map(|w| format!("{w:>9.2}"))
        .unwrap_or_else(|| format!("{:>9}", "-"));
    println!(
        "{tool:<12} {what:<22} {:>10.1} {:>12.3} {wall}",
        f.statements, f.server_ms
    );
}

async fn run() -> BenchResult<()> {
    let sb = PgSandbox::start(PgOptions::default()).await?;
    sb.create_database(DB).await?;
    let admin = sb.connect(DB).await?;
    let t = Instant::now();
    seed_postgres(&admin, Scale::Small, &|_| {}).await?;
    admin
        .batch_execute(
            "CREATE ROLE od_bench LOGIN IN ROLE pg_monitor;
             CREATE ROLE pga_bench LOGIN IN ROLE pg_monitor;",
        )
        .await?;
    let bin = find_bin_dir()?;
    let port = sb.port().to_string();
    let pgbench = bin.join("pgbench");
    let init = Command::new(&pgbench)
        .args([
            "-i",
            "-q",
            "-s",
            "5",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            DB,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    if !init.success() {
        return Err("pgbench -i failed".into());
    }
    println!(
        "queries benchmark: demo data (small) + pgbench -s 5 in {:.1} s; load: pgbench -c 4 -j 1, {ROUNDS} refreshes a tab",
        t.elapsed().as_secs_f64()
    );
    let mut load = Command::new(&pgbench)
        .args([
            "-n",
            "-c",
            "4",
            "-j",
            "1",
            "-T",
            "600",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "postgres",
            DB,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let result = measure(&sb, &admin).await;
    kill(&mut load);
    result
}

async fn measure(sb: &PgSandbox, admin: &Client) -> BenchResult<()> {
    let dir = tempfile::tempdir()?;
    let url = format!("postgres://od_bench@127.0.0.1:{}/{DB}", sb.port());
    let config = Config::parse(
        &format!("default_context = \"bench\"\n[contexts.bench]\npg = \"{url}\"\n"),
        Path::new("c.toml"),
    )?;
    let session = Session::new(
        config,
        Paths::under(dir.path().to_path_buf()),
        None,
        &ContextOverrides::default(),
    )?;
    let pg = session.pg().await?;
    let pss = stat_statements::locate(&pg).await?;
    println!(
        "\n{:<12} {:<22} {:>10} {:>12} {:>9}",
        "tool", "refresh", "statements", "server ms", "wall ms"
    );
    let slow = SlowQuery {
        sort: SortKey::Total,
        limit: 200,
    };
    let active = ActiveQuery {
        include_idle: false,
        include_own: false,
        limit: 500,
    };
    for tab in ["slow", "active", "locks", "overview cockpit"] {
        let before = counted(admin, "od_bench").await?;
        let mut walls = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let t = Instant::now();
            match tab {
                "slow" => stat_statements::slow(&pg, &pss, slow).await.map(|_| ())?,
                "active" => queries::active(&pg, active).await.map(|_| ())?,
                "locks" => queries::lock_tree(&pg).await.map(|_| ())?,
                _ => opsdeck::health::hot::top_sessions(&pg).await.map(|_| ())?,
            }
            walls.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let after = counted(admin, "od_bench").await?;
        walls.sort_by(f64::total_cmp);
        let f = Figures {
            statements: (after.0 - before.0) as f64 / ROUNDS as f64,
            server_ms: (after.1 - before.1) / ROUNDS as f64,
            wall_ms: Some(walls[ROUNDS / 2]),
        };
        print("opsdeck", tab, &f);
    }
    match pg_activity(sb, admin).await? {
        Some(f) => print("pg_activity", "refresh (activities)", &f),
        None => println!("pg_activity  not run: no comparison"),
    }
    Ok(())
}

/// pg_activity on a pseudo-terminal (`script`), refreshing every second;
/// its statements counted between two snapshots taken after it settled.
async fn pg_activity(sb: &PgSandbox, admin: &Client) -> BenchResult<Option<Figures>> {
    if Command::new("pg_activity")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("pg_activity  not installed (apt-get install pg-activity)");
        return Ok(None);
    }
    let line = format!(
        // A pty made by `script` starts at 0x0, which pg_activity cannot draw in.
        "stty cols 160 rows 50; pg_activity -h 127.0.0.1 -p {} -U pga_bench -d {DB} --refresh {PGA_REFRESH_S} --no-db-size",
        sb.port()
    );
    let mut child = Command::new("script")
        .args(["-qfc", &line, "/dev/null"])
        .env("TERM", "xterm-256color")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before = counted(admin, "pga_bench").await?;
    tokio::time::sleep(PGA_WATCH).await;
    let after = counted(admin, "pga_bench").await?;
    // `q` through the pty ends pg_activity, and with it `script`.
    if let Some(stdin) = child.stdin.as_mut() {
        use std::io::Write;
        let _ = stdin.write_all(b"q");
        let _ = stdin.flush();
    }
    for _ in 0..30 {
        if child.try_wait()?.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    kill(&mut child);
    let refreshes = PGA_WATCH.as_secs_f64() / PGA_REFRESH_S;
    if after.0 == before.0 {
        println!("pg_activity  issued no statement while watched: it did not run");
        return Ok(None);
    }
    Ok(Some(Figures {
        statements: (after.0 - before.0) as f64 / refreshes,
        server_ms: (after.1 - before.1) / refreshes,
        wall_ms: None,
    }))
}

/// Stops a child this benchmark started, by its pid, if it still runs.
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
