//! Where the CLI's log goes: warnings to stderr by default, more with `-v`,
//! or everything to `--log-file`. Stdout stays data only.

use super::Global;
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// Log lines on stderr read like the rest of the narration:
/// `opsdeck: warning: …`, `opsdeck: info: …`.
struct Narration;

impl<S, N> FormatEvent<S, N> for Narration
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let kind = match *event.metadata().level() {
            Level::ERROR => "error",
            Level::WARN => "warning",
            Level::INFO => "info",
            Level::DEBUG => "debug",
            Level::TRACE => "trace",
        };
        write!(w, "opsdeck: {kind}: ")?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
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
                super::narrate::warn(format!(
                    "cannot open log file {}: {e}; logging to stderr",
                    path.display()
                ));
                builder
                    .with_ansi(false)
                    .event_format(Narration)
                    .with_writer(std::io::stderr)
                    .try_init()
            }
        },
        None => builder
            .with_ansi(false)
            .event_format(Narration)
            .with_writer(std::io::stderr)
            .try_init(),
    };
    // A second init (tests calling run twice) keeps the first subscriber.
    drop(result);
}
