//! Collecting an [`Approval`] on the command line: `--yes`, or a prompt on
//! the terminal (default No), or nothing when there is no terminal.

use crate::safety::{Approval, Intent};
use std::io::{BufRead, IsTerminal, Write};

pub fn approval(intent: &Intent, assume_yes: bool) -> Approval {
    if assume_yes {
        return Approval::AssumeYes;
    }
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return Approval::Declined;
    }
    eprint!("{} ", intent.prompt());
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return Approval::Declined;
    }
    let answer = line.trim();
    if answer.is_empty() {
        Approval::Declined
    } else {
        Approval::Typed(answer.to_string())
    }
}
