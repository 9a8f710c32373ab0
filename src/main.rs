//! The `opsdeck` binary: parses the command line, then hands over to the CLI
//! subcommand or the TUI.

#![deny(clippy::unwrap_used, clippy::panic)]

use clap::{CommandFactory, Parser};
use opsdeck::cli::{self, Cli};
use opsdeck::ExitCode;
use std::io::IsTerminal;

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) if e.use_stderr() => {
            cli::report_usage(&e.render().to_string());
            return std::process::ExitCode::from(ExitCode::Usage as u8);
        }
        Err(e) => {
            let _ = e.print();
            return std::process::ExitCode::from(0);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("opsdeck: error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(ExitCode::Server as u8);
        }
    };
    let code = runtime.block_on(async move {
        let Cli { global, command } = cli;
        match command {
            Some(command) => match cli::run(global, command).await {
                Ok(code) => code,
                Err(e) => {
                    cli::report(&e);
                    e.exit_code()
                }
            },
            None if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() => {
                match opsdeck_tui(global).await {
                    Ok(()) => ExitCode::Ok,
                    Err(e) => {
                        cli::report(&e);
                        e.exit_code()
                    }
                }
            }
            None => {
                let _ = Cli::command().print_help();
                ExitCode::Usage
            }
        }
    });
    std::process::ExitCode::from(code as u8)
}

async fn opsdeck_tui(global: cli::Global) -> opsdeck::Result<()> {
    let session = global.session()?;
    let options = opsdeck::tui::Options {
        color: global.color(),
        overrides: global.overrides(),
        log_file: global.log_file.clone(),
        verbose: global.verbose,
    };
    match opsdeck::tui::run(session, options).await? {
        opsdeck::tui::Exit::Quit => Ok(()),
        // The terminal is restored already; exit the way a signalled process does.
        opsdeck::tui::Exit::Signal(n) => std::process::exit(128 + n),
    }
}
