//! Collecting an [`Approval`] on the command line: the safety layer says
//! what the change needs (or refuses it, audited, before anything is
//! asked), then `--yes`, a prompt on the terminal (default No), or nothing
//! when there is no terminal.

use crate::error::Result;
use crate::safety::{Approval, Mutation, Safety};
use std::io::{BufRead, IsTerminal, Write};

pub async fn approval<P: Mutation>(
    safety: &Safety,
    plan: &P,
    assume_yes: bool,
) -> Result<Approval> {
    let intent = plan.intent();
    safety.admit(intent).await?;
    if assume_yes {
        return Ok(Approval::AssumeYes);
    }
    if !interactive() {
        return Ok(Approval::Declined);
    }
    eprint!("{} ", intent.prompt());
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).is_err() {
        return Ok(Approval::Declined);
    }
    let answer = line.trim();
    Ok(if answer.is_empty() {
        Approval::Declined
    } else {
        Approval::Typed(answer.to_string())
    })
}

/// Whether someone can answer a prompt.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
