//! Where the CLI's log goes: warnings to stderr by default, more with `-v`,
//! or everything to `--log-file`. Stdout stays data only.

use super::Global;
use tracing_subscriber::EnvFilter;

pub fn init(global: &Global) {
    let level = match global.verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    // Dependencies' debug output can echo connection parameters; keep them at warn.
    let filter = EnvFilter::try_from_env("OPSDECK_LOG")
        .unwrap_or_else(|_| EnvFilter::new(format!("warn,opsdeck={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(global.verbose > 1)
        .without_time();
    let result = match &global.log_file {
        Some(path) => match crate::config::private::open_append(path) {
            Ok(file) => builder
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .try_init(),
            Err(e) => {
                eprintln!(
                    "opsdeck: warning: cannot open log file {}: {e}; logging to stderr",
                    path.display()
                );
                builder
                    .with_ansi(false)
                    .with_writer(std::io::stderr)
                    .try_init()
            }
        },
        None => builder
            .with_ansi(global.color() && std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // A second init (tests calling run twice) keeps the first subscriber.
    drop(result);
}
