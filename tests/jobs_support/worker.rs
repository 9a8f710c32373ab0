//! A node worker from tests/jobs_support driven over stdin/stdout.

use super::npm::npm_dir;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// A node worker script from tests/jobs_support, its stdout read line by line.
pub struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Worker {
    pub fn start(script: &str, args: &[&str]) -> Worker {
        let path = format!("{}/tests/jobs_support/{script}", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("node")
            .arg(path)
            .arg(npm_dir())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node runs");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Worker {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// The rest of the first line starting with `prefix ` (seen before or
    /// arriving within 30 s).
    pub fn expect(&mut self, prefix: &str) -> String {
        let tag = format!("{prefix} ");
        if let Some(pos) = self.seen.iter().position(|l| l.starts_with(&tag)) {
            return self.seen.remove(pos)[tag.len()..].to_string();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("worker said no '{prefix}' line; saw {:?}", self.seen));
            if let Some(rest) = line.strip_prefix(&tag) {
                return rest.to_string();
            }
            self.seen.push(line);
        }
    }

    /// Waits for exactly `line`.
    pub fn expect_line(&mut self, prefix: &str, value: &str) {
        loop {
            if self.expect(prefix) == value {
                return;
            }
        }
    }

    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write to worker");
        stdin.flush().expect("flush");
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Closing stdin stops the worker cleanly; kill it if it lingers.
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
