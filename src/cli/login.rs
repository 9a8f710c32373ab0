//! `opsdeck login CONTEXT [--delete]`: stores (or removes) a context's
//! Postgres password in the OS keyring, read from the terminal without echo,
//! or as one line from stdin when stdin is not a terminal (scripts, tests).

use super::output::{self, Format};
use super::record::Record;
use super::{narrate, Global};
use crate::config::{Config, Paths};
use crate::conn::credentials;
use crate::conn::Secret;
use crate::error::{Error, ExitCode, Result};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Context whose Postgres password to store (`default` when no config defines contexts).
    pub context: String,
    /// Remove the stored password instead of storing one.
    #[arg(long)]
    pub delete: bool,
}

pub async fn run(global: &Global, args: LoginArgs) -> Result<ExitCode> {
    let paths = Paths::discover();
    let config = Config::load(global.config.as_deref(), &paths)?;
    // Without contexts in the config every run uses the context "default".
    if !(args.context == "default" && config.contexts.is_empty()) {
        config.context(Some(&args.context))?;
    }
    let ctx = args.context;
    let stored = if args.delete {
        let removed = credentials::keyring_delete(&ctx)?;
        if removed {
            narrate::say(format!(
                "removed the stored Postgres password for context '{ctx}'"
            ));
        } else {
            narrate::say(format!("no stored Postgres password for context '{ctx}'"));
        }
        Stored {
            context: &ctx,
            action: "delete",
            changed: removed,
        }
    } else {
        let password = read_password(&format!("Postgres password for context '{ctx}': "))?;
        credentials::keyring_set(&ctx, &password)?;
        narrate::say(format!(
            "stored the Postgres password for context '{ctx}' in the OS keyring"
        ));
        Stored {
            context: &ctx,
            action: "store",
            changed: true,
        }
    };
    if global.output != Format::Table {
        output::print_result(&stored, Stored::record, global.output)?;
    }
    Ok(ExitCode::Ok)
}

/// What `--output json|csv` reports: never the password.
#[derive(serde::Serialize)]
struct Stored<'a> {
    context: &'a str,
    action: &'static str,
    changed: bool,
}

impl Stored<'_> {
    fn record(&self) -> Record {
        Record::new()
            .text("context", self.context)
            .text("action", self.action)
            .text("changed", self.changed.to_string())
    }
}

/// One line without its line ending; on a terminal, typed without echo.
fn read_password(prompt: &str) -> Result<Secret> {
    let stdin = std::io::stdin();
    let mut line = String::new();
    let read = if stdin.is_terminal() {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let _echo_off = EchoOff::new()?;
        stdin.lock().read_line(&mut line)
    } else {
        stdin.lock().read_line(&mut line)
    };
    read.map_err(|e| Error::io("reading the password from stdin", e))?;
    let password = line.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(Error::Usage("empty password: nothing stored".into()));
    }
    Ok(Secret::new(password))
}

/// Terminal echo switched off until dropped (also on early return or panic).
struct EchoOff {
    saved: libc::termios,
}

impl EchoOff {
    fn new() -> Result<EchoOff> {
        // SAFETY: termios is plain data that tcgetattr fills in completely.
        let mut term: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: STDIN_FILENO is a valid descriptor and term a valid pointer.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut term) } != 0 {
            return Err(Error::io(
                "reading the terminal settings",
                std::io::Error::last_os_error(),
            ));
        }
        let saved = term;
        term.c_lflag &= !libc::ECHO;
        // Still echo the newline, so the next message starts on its own line.
        term.c_lflag |= libc::ECHONL;
        // SAFETY: as above; term holds settings derived from the current ones.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &term) } != 0 {
            return Err(Error::io(
                "switching terminal echo off",
                std::io::Error::last_os_error(),
            ));
        }
        Ok(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the settings read in `new` on the same descriptor.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &self.saved);
        }
    }
}
