//! Temporary: captures the demo's overview at 120x35 (not committed).
use std::process::Command;
use std::time::Duration;

#[test]
fn capture() {
    let bin = assert_cmd::cargo::cargo_bin("opsdeck");
    let home = tempfile::tempdir().unwrap();
    let script = format!(
        "stty cols 120 rows 35; '{}' demo --scale small",
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
    let mut parser = vt100::Parser::new(35, 120, 0);
    let started = std::time::Instant::now();
    let mut seen_at = None;
    loop {
        let mut buf = [0u8; 8192];
        while let Ok(n) = pty.try_read(&mut buf) {
            if n == 0 {
                break;
            }
            parser.process(&buf[..n]);
        }
        let screen = parser.screen().contents();
        if seen_at.is_none() && screen.contains("Connections") && screen.contains("TPS") {
            seen_at = Some(std::time::Instant::now());
        }
        if let Some(t) = seen_at {
            if t.elapsed() > Duration::from_secs(8) {
                std::fs::write("/tmp/overview_120x35.txt", &screen).unwrap();
                break;
            }
        }
        assert!(started.elapsed() < Duration::from_secs(400), "{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
    pty.send("q").unwrap();
    std::thread::sleep(Duration::from_secs(3));
}
