//! End to end: the real binary in a pseudo-terminal against real Postgres
//! and Redis. Keys in, screen text out (parsed with vt100); afterwards the
//! terminal must be back in its normal modes.

mod common;

use common::pty::{modes_restored, Tui};
use common::{home, redis_url, TestDb};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const LEAVE_ALT_SCREEN: &str = "\x1b[?1049l";
const SHOW_CURSOR: &str = "\x1b[?25h";

/// Whether any SGR sequence (`ESC [ params m`) sets a foreground or
/// background colour (30-38, 40-48, 90-97, 100-107; 39/49 only reset).
fn sets_a_colour(out: &str) -> bool {
    out.split("\x1b[").skip(1).any(|seq| {
        let params: String = seq
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == ';')
            .collect();
        if !seq[params.len()..].starts_with('m') {
            return false;
        }
        params
            .split(';')
            .filter_map(|p| p.parse::<u16>().ok())
            .any(|p| matches!(p, 30..=38 | 40..=48 | 90..=97 | 100..=107))
    })
}

fn fast_refresh(home: &Path) {
    std::fs::create_dir_all(home.join("config")).unwrap();
    std::fs::write(home.join("config/config.toml"), "[tui]\nrefresh_secs = 1\n").unwrap();
}

#[tokio::test]
async fn overview_audit_help_and_quit_restore_the_terminal() {
    let db = TestDb::new().await;
    let h = home();
    fast_refresh(h.path());
    let mut tui = Tui::spawn(h.path(), &["--pg", &db.url, "--redis", &redis_url()]);

    let screen = tui.wait_for("the overview with live figures", |s| {
        s.contains("overview")
            && s.contains("Connections")
            && s.contains("Redis memory")
            && s.contains("● up")
    });
    assert!(screen.contains("Cache hit"), "{screen}");
    assert!(screen.contains("? help"), "footer of key hints: {screen}");
    assert!(
        screen.contains("pg 1"),
        "server version in the header: {screen}"
    );
    // TPS needs two snapshots: it turns from n/a into a number on refresh.
    tui.wait_for("a TPS figure", |s| {
        s.lines().any(|l| {
            l.contains("TPS")
                && l.split_whitespace()
                    .nth(1)
                    .is_some_and(|v| v.parse::<f64>().is_ok())
        })
    });

    tui.send(":audit\r");
    let screen = tui.wait_for("the audit screen", |s| {
        s.contains(" audit ") && s.contains("started")
    });
    assert!(screen.contains("action"), "{screen}");

    tui.send("?");
    let screen = tui.wait_for("the help overlay", |s| s.contains("keys: audit"));
    assert!(screen.contains("quit"), "{screen}");
    assert!(
        screen.contains("j/↓"),
        "keys come from the live keymap: {screen}"
    );
    tui.send("x");
    tui.wait_for("help closed", |s| !s.contains("keys: audit"));

    tui.send("q");
    let (out, code, stty) = tui.finish();
    assert_eq!(code, 0, "{out:?}");
    assert!(
        out.ends_with(&format!("{LEAVE_ALT_SCREEN}{SHOW_CURSOR}")),
        "output must end by leaving the alternate screen and showing the cursor: {:?}",
        &out[out.len().saturating_sub(80)..]
    );
    assert!(modes_restored(&stty), "{stty}");
    assert!(sets_a_colour(&out), "the dark theme draws in colour");
    let log = std::fs::read_to_string(h.path().join("state/opsdeck.log")).unwrap();
    assert!(
        log.contains("tui started"),
        "tracing goes to the log file: {log}"
    );
}

#[tokio::test]
async fn sigterm_restores_the_terminal() {
    let db = TestDb::new().await;
    let h = home();
    let mut tui = Tui::spawn(
        h.path(),
        &["--pg", &db.url, "--redis", &redis_url(), "--no-color"],
    );
    tui.wait_for("the overview", |s| {
        s.contains("Connections") && s.contains("● up")
    });
    let pid = tui.opsdeck_pid();
    // SAFETY: kill(2) with a pid we just read from our own child shell.
    let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(rc, 0);
    let (out, code, stty) = tui.finish();
    assert_eq!(code, 128 + libc::SIGTERM, "{out:?}");
    assert!(
        out.ends_with(&format!("{LEAVE_ALT_SCREEN}{SHOW_CURSOR}")),
        "{:?}",
        &out[out.len().saturating_sub(80)..]
    );
    assert!(modes_restored(&stty), "{stty}");
    assert!(
        !sets_a_colour(&out),
        "--no-color output must not set colours"
    );
}

#[test]
fn bad_key_config_fails_before_touching_the_terminal() {
    let h = home();
    std::fs::create_dir_all(h.path().join("config")).unwrap();
    std::fs::write(
        h.path().join("config/config.toml"),
        "[keys.global]\nquit = \"ctrl-nope\"\n",
    )
    .unwrap();
    let mut tui = Tui::spawn(h.path(), &[]);
    let (out, code, stty) = tui.finish();
    assert_eq!(code, 2, "{out:?}");
    assert!(out.contains("'ctrl-nope' for quit is not a key"), "{out:?}");
    assert!(
        !out.contains("\x1b[?1049h"),
        "the alternate screen was entered: {out:?}"
    );
    assert!(modes_restored(&stty), "{stty}");
}

/// An SSH drop: the pty's master side closes under a running console. The
/// kernel sends SIGHUP and every later write fails; opsdeck must exit 129
/// without panicking on the dead terminal.
#[tokio::test]
async fn hangup_of_the_terminal_exits_129_without_a_panic() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::os::unix::process::CommandExt;

    let db = TestDb::new().await;
    let h = home();
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty fills two fds we own from here on.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0);
    // The child must not inherit the master, or closing ours hangs nothing up.
    // SAFETY: fcntl on an fd openpty just returned.
    unsafe { libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: both fds were just returned by openpty and are not used elsewhere.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("opsdeck"));
    cmd.args(["--pg", &db.url, "--redis", &redis_url()]);
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.env("OPSDECK_HOME", h.path())
        .env("TERM", "xterm-256color")
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave.try_clone().unwrap());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    drop(slave);

    // Non-blocking reads on the one master fd, so dropping it closes the pty.
    // SAFETY: fcntl on an fd we own.
    unsafe {
        let flags = libc::fcntl(std::os::fd::AsRawFd::as_raw_fd(&master), libc::F_GETFL);
        libc::fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&master),
            libc::F_SETFL,
            flags | libc::O_NONBLOCK,
        );
    }
    let mut file = std::fs::File::from(master);
    let mut parser = vt100::Parser::new(24, 80, 0);
    let start = Instant::now();
    let mut buf = [0u8; 8192];
    while !parser.screen().contents().contains("Connections") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the console never drew"
        );
        match std::io::Read::read(&mut file, &mut buf) {
            Ok(n) if n > 0 => parser.process(&buf[..n]),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }
    // Closing the master fd hangs the terminal up.
    drop(file);
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(15) {
            let _ = child.kill();
            let log =
                std::fs::read_to_string(h.path().join("state/opsdeck.log")).unwrap_or_default();
            panic!("opsdeck did not end after the hangup; log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(h.path().join("state/opsdeck.log")).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(128 + libc::SIGHUP),
        "status {status:?}; log:\n{log}"
    );
    assert!(!log.contains("panic"), "{log}");
}
