//! The real binary on a pseudo-terminal: keys in, screen text out (parsed
//! with vt100), and the shell's epilogue (exit status, `stty -a`) after it.

use std::io::ErrorKind;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Tui {
    pub pty: expectrl::Session,
    parser: vt100::Parser,
    pub raw: Vec<u8>,
}

/// True when `stty -a` shows canonical mode and echo on (not `-icanon`, `-echo`).
pub fn modes_restored(stty: &str) -> bool {
    let words: Vec<&str> = stty
        .split(|c: char| c.is_whitespace() || c == ';')
        .collect();
    words.contains(&"icanon")
        && words.contains(&"echo")
        && !words.contains(&"-icanon")
        && !words.contains(&"-echo")
}

pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl Tui {
    /// Runs opsdeck under `sh` on a pty in cooked mode with echo (`stty sane`),
    /// which afterwards prints the exit status and `stty -a` of the same pty.
    pub fn spawn(home: &Path, args: &[&str]) -> Tui {
        let bin = assert_cmd::cargo::cargo_bin("opsdeck");
        let mut line = quote(&bin.display().to_string());
        for a in args {
            line.push(' ');
            line.push_str(&quote(a));
        }
        let script = format!("stty sane; {line}; printf '\\nEXIT=%s\\n' $?; stty -a");
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(script);
        for (k, _) in std::env::vars() {
            if k.starts_with("OPSDECK_")
                || k.starts_with("PG")
                || k == "REDIS_URL"
                || k == "NO_COLOR"
            {
                cmd.env_remove(k);
            }
        }
        cmd.env("OPSDECK_HOME", home).env("TERM", "xterm-256color");
        let pty = expectrl::Session::spawn(cmd).expect("spawn in a pty");
        Tui {
            pty,
            parser: vt100::Parser::new(24, 80, 0),
            raw: Vec::new(),
        }
    }

    pub fn pump(&mut self) {
        let mut buf = [0u8; 8192];
        loop {
            match self.pty.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    self.raw.extend_from_slice(&buf[..n]);
                    self.parse(&buf[..n]);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
    }

    /// Feeds output to the screen model. Output drawn for a bigger size
    /// that arrives after a shrink can overflow vt100 0.15's grid
    /// arithmetic (a panic in grid.rs, seen once in a resize storm); the
    /// model then starts over at the current size, as a terminal that lost
    /// its contents would, and the program's full repaint after SIGWINCH
    /// fills it again.
    fn parse(&mut self, bytes: &[u8]) {
        let parser = &mut self.parser;
        let fed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| parser.process(bytes)));
        if fed.is_err() {
            let (rows, cols) = self.parser.screen().size();
            self.parser = vt100::Parser::new(rows, cols, 0);
        }
    }

    /// The window title the program set (OSC 0/2), empty when none.
    pub fn title(&self) -> String {
        self.parser.screen().title().to_string()
    }

    pub fn screen(&self) -> String {
        self.parser.screen().contents()
    }

    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            self.pump();
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!("{what} not seen within 20s; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    pub fn send(&mut self, keys: &str) {
        self.pty.send(keys).expect("write to pty");
        // Give crossterm time to tell a lone Esc from a sequence.
        std::thread::sleep(Duration::from_millis(120));
    }

    /// Resizes the pty (the kernel sends SIGWINCH to opsdeck) and the
    /// screen model that parses its output.
    /// Output drawn for the old size is parsed first; anything still in
    /// flight lands on the new size, which the program's redraw after
    /// SIGWINCH then paints over.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        self.pump();
        self.parser.set_size(rows, cols);
        self.pty
            .get_process_mut()
            .set_window_size(cols, rows)
            .expect("resize the pty");
    }

    /// The pid of opsdeck, the shell's child.
    pub fn opsdeck_pid(&self) -> i32 {
        let sh = self.pty.get_process().pid().as_raw();
        let children = std::fs::read_to_string(format!("/proc/{sh}/task/{sh}/children")).unwrap();
        children
            .split_whitespace()
            .next()
            .expect("opsdeck runs")
            .parse()
            .unwrap()
    }

    /// Waits for the shell's epilogue; returns (opsdeck's output, exit code, stty -a).
    pub fn finish(&mut self) -> (String, i32, String) {
        let start = Instant::now();
        loop {
            self.pump();
            let text = String::from_utf8_lossy(&self.raw).to_string();
            if let Some(at) = text.find("EXIT=") {
                if text[at..].contains("icanon") && text[at..].contains("eol2") {
                    let before = text[..at].trim_end_matches(['\r', '\n']).to_string();
                    let rest = &text[at + 5..];
                    let code = rest.split_whitespace().next().unwrap().parse().unwrap();
                    return (before, code, rest.to_string());
                }
            }
            if start.elapsed() > Duration::from_secs(20) {
                panic!(
                    "opsdeck did not end; output tail: {:?}",
                    &text[text.len().saturating_sub(400)..]
                );
            }
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}
