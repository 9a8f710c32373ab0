//! Where the CLI's log goes: warnings to stderr by default, more with `-v`,
//! or everything to `--log-file`. Stdout stays data only. On stderr a log
//! line reads like every other line opsdeck writes there: `opsdeck: warning: …`.

use super::Global;
use std::fmt;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{self, FormatEvent, FormatFields};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// `opsdeck: LEVEL: message`, one line.
struct Prefixed;

impl<S, N> FormatEvent<S, N> for Prefixed
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: format::Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let level = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(writer, "opsdeck: {level}: ")?;
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

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
                    .event_format(Prefixed)
                    .with_writer(std::io::stderr)
                    .try_init()
            }
        },
        None => builder
            .event_format(Prefixed)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // A second init (tests calling run twice) keeps the first subscriber.
    drop(result);
}
