//! Reading a key for `keys verify` from stdin, never from the command line
//! (so it stays out of shell history and `ps`); on a terminal with echo off.

use crate::conn::Secret;
use crate::error::{Error, Result};
use std::io::{BufRead, IsTerminal, Read, Write};

/// The longest key `verify` reads; a real key is far shorter.
const MAX_KEY: u64 = 4096;

/// The key from stdin: on a terminal, asked for with echo off.
pub fn read_key() -> Result<Secret> {
    let stdin = std::io::stdin();
    let echo_off = stdin.is_terminal().then(|| {
        eprint!("opsdeck: paste the key and press Enter (it is not shown): ");
        let _ = std::io::stderr().flush();
        NoEcho::new()
    });
    let mut text = String::new();
    stdin
        .lock()
        .take(MAX_KEY)
        .read_line(&mut text)
        .map_err(|e| Error::io("reading the key from stdin", e))?;
    if echo_off.is_some() {
        let _ = writeln!(std::io::stderr());
    }
    Ok(Secret::new(text.trim().to_string()))
}

/// Terminal echo off while it lives (restored on drop).
struct NoEcho(Option<libc::termios>);

impl NoEcho {
    fn new() -> NoEcho {
        // SAFETY: tcgetattr/tcsetattr on stdin with a zeroed termios the call fills.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(libc::STDIN_FILENO, &mut t) != 0 {
                return NoEcho(None);
            }
            let saved = t;
            t.c_lflag &= !libc::ECHO;
            if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &t) != 0 {
                return NoEcho(None);
            }
            NoEcho(Some(saved))
        }
    }
}

impl Drop for NoEcho {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            // SAFETY: restores the settings read in `new`.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
            }
        }
    }
}
