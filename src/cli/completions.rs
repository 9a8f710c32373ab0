//! `opsdeck completions SHELL`: a completion script generated from the clap
//! definitions at run time, so it always matches the binary that prints it.

use super::Cli;
use crate::error::{Error, ExitCode, Result};
use clap::CommandFactory;
use std::io::Write;

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// Shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

pub fn run(args: CompletionsArgs) -> Result<ExitCode> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "opsdeck", &mut script);
    std::io::stdout()
        .lock()
        .write_all(&script)
        .map_err(|e| Error::io("writing stdout", e))?;
    Ok(ExitCode::Ok)
}
