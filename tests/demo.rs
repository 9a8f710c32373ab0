//! `opsdeck demo --no-tui`: prints working URLs, seeds the reference system,
//! and stops and removes its servers on SIGTERM or Ctrl-C.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Running {
    child: Child,
    pg_url: String,
    redis_url: String,
    stderr: mpsc::Receiver<String>,
}

/// Starts the demo and reads its two URL lines from stdout.
fn start_demo(home: &Path, extra: &[&str]) -> Running {
    let bin = assert_cmd::cargo::cargo_bin("opsdeck");
    let mut cmd = Command::new(bin);
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .env("OPSDECK_HOME", home)
        .args(["demo", "--no-tui", "--scale", "tiny"])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        let _ = tx.send(text);
    });
    let (line_tx, line_rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut script = String::new();
    for var in ["OPSDECK_PG_URL", "OPSDECK_REDIS_URL"] {
        let line = line_rx
            .recv_timeout(Duration::from_secs(120))
            .expect("demo printed its settings");
        assert!(
            line.starts_with(&format!("export {var}=")),
            "unexpected stdout line: {line}"
        );
        script.push_str(&line);
        script.push('\n');
    }
    // The lines are meant to be pasted into a shell: a shell reads them.
    script.push_str(r#"printf '%s\n' "$OPSDECK_PG_URL" "$OPSDECK_REDIS_URL""#);
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env_remove("OPSDECK_PG_URL")
        .env_remove("OPSDECK_REDIS_URL")
        .output()
        .unwrap();
    assert!(out.status.success(), "{script}");
    let values = String::from_utf8(out.stdout).unwrap();
    let [pg_url, redis_url] = values.lines().collect::<Vec<_>>()[..] else {
        panic!("two settings from {script}: {values}");
    };
    assert!(pg_url.starts_with("postgres"), "{pg_url}");
    assert!(redis_url.starts_with("redis://"), "{redis_url}");
    Running {
        child,
        pg_url: pg_url.to_string(),
        redis_url: redis_url.to_string(),
        stderr: rx,
    }
}

impl Running {
    fn signal(&self, sig: &str) {
        let status = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit and returns (success, stderr).
    fn wait(mut self) -> (bool, String) {
        for _ in 0..600 {
            if let Some(status) = self.child.try_wait().unwrap() {
                let err = self.stderr.recv_timeout(Duration::from_secs(10)).unwrap();
                return (status.success(), err);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("demo did not exit after the signal");
    }
}

fn port_of(url: &str) -> u16 {
    url.rsplit_once(':')
        .unwrap()
        .1
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

fn leftovers(pid: u32) -> Vec<String> {
    std::fs::read_dir(opsdeck::sandbox::dirs::root())
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.contains(&format!("-{pid}-")))
        .collect()
}

fn port_closed(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_prints_working_urls_and_cleans_up_on_sigterm() {
    let home = common::home();
    let demo = start_demo(home.path(), &[]);
    let pid = demo.child.id();
    assert!(demo.pg_url.ends_with("/app"), "{}", demo.pg_url);
    assert_eq!(leftovers(pid).len(), 2, "a pg and a redis sandbox dir");

    // The CLI works against it: init is idempotent, the audit list is JSON.
    common::opsdeck(home.path())
        .args(["--pg", &demo.pg_url, "init", "--yes"])
        .assert()
        .success();
    let out = common::opsdeck(home.path())
        .args(["--pg", &demo.pg_url, "audit", "list", "--output", "json"])
        .assert()
        .success();
    let list: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert!(list.as_array().is_some_and(|a| !a.is_empty()), "{list}");

    // The seeded tables, RLS and the audit schema exist.
    let (client, conn) = tokio_postgres::connect(&demo.pg_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let row = client
        .query_one(
            "SELECT (SELECT count(*) FROM tenants), (SELECT count(*) FROM events),
                    (SELECT count(*) FROM pg_class WHERE relrowsecurity),
                    to_regclass('opsdeck.audit') IS NOT NULL",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i64>(0), 30);
    assert_eq!(row.get::<_, i64>(1), 20_000);
    assert_eq!(row.get::<_, i64>(2), 4);
    assert!(row.get::<_, bool>(3));
    drop(client);
    let redis = redis::Client::open(demo.redis_url.as_str()).unwrap();
    let mut rc = redis.get_multiplexed_async_connection().await.unwrap();
    let size: i64 = redis::cmd("DBSIZE").query_async(&mut rc).await.unwrap();
    assert!(size > 600, "cache keys and tags: {size}");
    drop(rc);

    let (pg_port, redis_port) = (port_of(&demo.pg_url), port_of(&demo.redis_url));
    demo.signal("TERM");
    let (ok, stderr) = demo.wait();
    assert!(ok, "exit 0 after SIGTERM; stderr: {stderr}");
    assert!(stderr.contains("paste the export lines"), "{stderr}");
    assert!(stderr.contains("stopping the demo servers"), "{stderr}");
    assert!(leftovers(pid).is_empty(), "{:?}", leftovers(pid));
    assert!(port_closed(pg_port) && port_closed(redis_port));
}

#[test]
fn demo_keep_leaves_the_data_dir_after_ctrl_c() {
    let home = common::home();
    let demo = start_demo(home.path(), &["--keep"]);
    let pid = demo.child.id();
    let pg_port = port_of(&demo.pg_url);
    demo.signal("INT");
    let (ok, stderr) = demo.wait();
    assert!(ok, "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.contains("kept the Postgres data directory"))
        .unwrap_or_else(|| panic!("path printed: {stderr}"));
    let dir = Path::new(line.rsplit(' ').next().unwrap());
    assert!(dir.join("PG_VERSION").exists(), "{}", dir.display());
    assert!(port_closed(pg_port));
    assert_eq!(leftovers(pid).len(), 1, "only the kept pg dir remains");
    std::fs::remove_dir_all(dir.parent().unwrap()).unwrap();
}

#[test]
fn demo_rejects_an_unknown_scale() {
    let home = common::home();
    common::opsdeck(home.path())
        .args(["demo", "--no-tui", "--scale", "huge"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("tiny"));
}

/// The demo on a terminal: the console opens on the seeded servers, `q`
/// quits, and the servers are gone afterwards.
#[test]
fn demo_on_a_terminal_opens_the_console_and_cleans_up_on_quit() {
    let home = common::home();
    let bin = assert_cmd::cargo::cargo_bin("opsdeck");
    let script = format!(
        "'{}' demo --scale tiny; printf '\\nEXIT=%s\\n' $?",
        bin.display()
    );
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(script);
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.env("OPSDECK_HOME", home.path())
        .env("TERM", "xterm-256color");
    let mut pty = expectrl::Session::spawn(cmd).unwrap();
    let mut parser = vt100::Parser::new(24, 80, 0);
    let mut raw = Vec::new();
    let mut pump = |pty: &mut expectrl::Session, parser: &mut vt100::Parser| {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pty.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            raw.extend_from_slice(&buf[..n]);
            parser.process(&buf[..n]);
        }
        String::from_utf8_lossy(&raw).to_string()
    };
    let started = std::time::Instant::now();
    loop {
        pump(&mut pty, &mut parser);
        let screen = parser.screen().contents();
        if screen.contains("Connections") && screen.contains("● up") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "console not seen; screen:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let sh = pty.get_process().pid().as_raw();
    let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
    let pid: u32 = children.split_whitespace().next().unwrap().parse().unwrap();
    assert_eq!(leftovers(pid).len(), 2);

    pty.send("q").unwrap();
    let started = std::time::Instant::now();
    let text = loop {
        let text = pump(&mut pty, &mut parser);
        if text.contains("EXIT=") {
            break text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "demo did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let code = text
        .rsplit("EXIT=")
        .next()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap();
    assert_eq!(code, "0", "{text:?}");
    assert!(leftovers(pid).is_empty(), "{:?}", leftovers(pid));
}
