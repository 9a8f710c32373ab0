//! The command line: clap definitions and one file per subcommand. Stdout
//! carries data only; narration, progress and errors go to stderr.

mod audit;
mod cache;
mod cache_stats;
mod cache_value;
mod completions;
pub mod confirm;
mod demo;
mod doctor;
mod drill;
mod indexes;
mod init;
mod interrupt;
mod jobs;
mod json;
mod keys;
pub mod logging;
mod login;
mod man;
mod migrations;
mod narrate;
pub mod output;
mod overview;
mod pretty;
mod queries;
mod record;
mod safe;
mod tenants;
mod tenants_show;

use crate::config::{Config, ContextOverrides, Paths};
use crate::error::{Error, ExitCode, Result};
use crate::session::Session;
use clap::{Args, Parser, Subcommand};
use output::Format;
use std::io::Write;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "opsdeck",
    version,
    about = "Terminal admin console for multi-tenant SaaS backends on Postgres and Redis",
    long_about = "opsdeck: a terminal admin console for multi-tenant SaaS backends.\n\nWith no subcommand on a terminal it opens the interactive console; every operation is also a subcommand for scripts.\n\nExit codes: 0 ok, 1 problems found, 2 usage or config error, 3 refused by safety, 4 cannot connect or authenticate, 5 server rejected or timed out the operation."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Global flags, valid before or after the subcommand; help lists them
/// apart from each subcommand's own options.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Context from the config file.
    #[arg(long, global = true, env = "OPSDECK_CONTEXT")]
    pub context: Option<String>,
    /// Config file (default: $OPSDECK_CONFIG, then the XDG config dir).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Postgres URL or conninfo (env OPSDECK_PG_URL, else libpq env).
    #[arg(long, global = true)]
    pub pg: Option<String>,
    /// Redis URL (env OPSDECK_REDIS_URL, REDIS_URL).
    #[arg(long, global = true)]
    pub redis: Option<String>,
    /// Refuse every change, whatever the context says.
    #[arg(long, global = true)]
    pub read_only: bool,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
    /// Tables as wide as their content instead of wrapped to the terminal
    /// (COLUMNS, or 80 when piped).
    #[arg(long, global = true)]
    pub wide: bool,
    /// Confirm changes without asking (for scripts).
    #[arg(long, short = 'y', global = true)]
    pub yes: bool,
    /// Monochrome output (also NO_COLOR).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// More detail on stderr and in the log.
    #[arg(long, short = 'v', global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Write the log to this file.
    #[arg(long, global = true)]
    pub log_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a throwaway Postgres + Redis seeded with a multi-tenant SaaS; --no-tui prints the URLs and waits.
    Demo(demo::DemoArgs),
    /// Check connectivity, versions, extensions, privileges, RLS and config; one line per check.
    Doctor,
    /// Health summary: connections, TPS, cache hit ratio, replication lag, long transactions, blocking, Redis.
    Overview(overview::OverviewArgs),
    /// Create the opsdeck schema (audit log, drill history) in the context's database.
    Init,
    /// Store a context's Postgres password in the OS keyring (--delete removes it).
    Login(login::LoginArgs),
    /// Restore drills: restore a backup into a scratch target, verify it, record RTO and RPO.
    #[command(subcommand)]
    Drill(drill::DrillCmd),
    /// Redis caches: stats, keys, get, del, invalidate by pattern, tag or tenant.
    #[command(subcommand)]
    Cache(cache::CacheCmd),
    /// Tenants: list, show, suspend, resume, tenancy lint.
    #[command(subcommand)]
    Tenants(tenants::TenantsCmd),
    /// API keys: list, create, revoke, rotate with grace, verify.
    #[command(subcommand)]
    Keys(keys::KeysCmd),
    /// Schema migrations across Drizzle, Prisma, pgroll, golang-migrate, node-pg-migrate and configured tables; read-only.
    #[command(subcommand)]
    Migrations(migrations::MigrationsCmd),
    /// Queries: slow statements, live sessions, the lock tree, plans, cancel/terminate.
    #[command(subcommand)]
    Queries(queries::QueriesCmd),
    /// Background jobs across pg-boss, graphile-worker, River, BullMQ and configured tables: queues, list, show, errors, retry, discard.
    #[command(subcommand)]
    Jobs(jobs::JobsCmd),
    /// Index advice: suggestions from the workload (verified with HypoPG where installed), lint, concurrent create.
    #[command(subcommand)]
    Indexes(indexes::IndexesCmd),
    /// opsdeck's own audit log.
    #[command(subcommand)]
    Audit(audit::AuditCmd),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff) to stdout.
    Man,
}

impl Global {
    pub fn overrides(&self) -> ContextOverrides {
        ContextOverrides {
            pg: self.pg.clone(),
            redis: self.redis.clone(),
            read_only: self.read_only,
        }
    }

    pub fn session(&self) -> Result<Session> {
        let paths = Paths::discover();
        let config = self.load_config(&paths)?;
        Session::new(config, paths, self.context.as_deref(), &self.overrides())
    }

    /// The config file, with the warning every command gives when it holds
    /// secrets that others may read.
    pub fn load_config(&self, paths: &Paths) -> Result<Config> {
        let config = Config::load(self.config.as_deref(), paths)?;
        if let Some(warning) = config.exposure_warning() {
            let _ = writeln!(
                std::io::stderr(),
                "opsdeck: warning: {}",
                one_line(&warning)
            );
        }
        Ok(config)
    }

    pub fn color(&self) -> bool {
        !self.no_color && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
    }
}

/// Runs a subcommand and returns its exit code.
pub async fn run(global: Global, command: Command) -> Result<ExitCode> {
    logging::init(&global);
    output::set_wide(global.wide);
    let result = match command {
        Command::Demo(args) => demo::run(&global, args).await,
        Command::Doctor => doctor::run(&global).await,
        Command::Overview(args) => overview::run(&global, args).await,
        Command::Init => init::run(&global).await,
        Command::Login(args) => login::run(&global, args).await,
        Command::Migrations(cmd) => migrations::run(&global, cmd).await,
        Command::Audit(cmd) => audit::run(&global, cmd).await,
        Command::Tenants(cmd) => tenants::run(&global, cmd).await,
        Command::Queries(cmd) => queries::run(&global, cmd).await,
        Command::Indexes(cmd) => indexes::run(&global, cmd).await,
        Command::Cache(cmd) => cache::run(&global, cmd).await,
        Command::Keys(cmd) => keys::run(&global, cmd).await,
        Command::Jobs(cmd) => jobs::run(&global, cmd).await,
        Command::Drill(cmd) => drill::run(&global, cmd).await,
        Command::Completions(args) => completions::run(args),
        Command::Man => man::run(),
    };
    match result {
        // The reader went away (`| head`): what it wanted was written.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            Ok(ExitCode::Ok)
        }
        other => other,
    }
}

/// One readable line on stderr for an error, prefixed like cargo's.
pub fn report(err: &Error) {
    // Not eprintln!: it panics when stderr is gone (a dropped SSH session).
    let _ = writeln!(
        std::io::stderr(),
        "opsdeck: error: {}",
        one_line(&err.to_string())
    );
}

/// A command-line error as one line like every other error: clap's message,
/// its tip and the usage it shows, without the pointer to `--help` (the
/// usage says where help is). clap quotes the offending argument, which may
/// be huge or hold control characters, so the line is bounded and escaped.
pub fn report_usage(rendered: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "opsdeck: error: {}",
        one_line(&usage_line(rendered))
    );
}

fn usage_line(rendered: &str) -> String {
    let (mut message, mut usage) = (Vec::new(), None);
    for line in rendered.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if let Some(u) = line.strip_prefix("Usage: ") {
            usage = Some(u);
        } else if !line.starts_with("For more information") {
            message.push(line.strip_prefix("error: ").unwrap_or(line));
        }
    }
    let mut out = message.join(" ");
    if let Some(u) = usage {
        out.push_str(&format!(" (usage: {u}; see --help)"));
    }
    out
}

/// The longest error line, in characters: enough for any real message,
/// while a 10 MB dbname or cursor quoted back stays readable.
const MAX_LINE: usize = 500;

/// Folds a multi-line message (server replies, parser dumps) into one line so
/// that every error stays one readable line, escapes what would drive the
/// terminal (messages quote user input), and cuts the middle out of an
/// overlong one, keeping its start and its end (where hints are).
pub fn one_line(text: &str) -> String {
    let folded = text
        .split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    bounded(&output::printable(&folded))
}

fn bounded(shown: &str) -> String {
    let count = shown.chars().count();
    if count <= MAX_LINE {
        return shown.to_string();
    }
    let head_len = (MAX_LINE - 1) / 2;
    let tail_len = MAX_LINE - 1 - head_len;
    let head: String = shown.chars().take(head_len).collect();
    let tail: String = shown.chars().skip(count - tail_len).collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every `opsdeck …` a message, hint or help text names, as backticked
    /// code in the sources: the words before the first flag or argument.
    fn named_commands() -> Vec<(String, Vec<String>)> {
        let mut found = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (_, rest) in text
                    .match_indices("`opsdeck ")
                    .map(|(i, _)| ((), &text[i + 9..]))
                {
                    let code = rest.split('`').next().unwrap_or_default();
                    let words: Vec<String> = code
                        .split_whitespace()
                        .take_while(|w| {
                            w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
                                && !w.starts_with('-')
                        })
                        .map(str::to_string)
                        .collect();
                    found.push((path.display().to_string(), words));
                }
            }
        }
        found
    }

    #[test]
    fn every_command_a_hint_names_exists() {
        let named = named_commands();
        assert!(named.len() > 10, "the scan found the hints: {named:?}");
        for (file, words) in named {
            let mut cmd = super::Cli::command();
            for w in &words {
                // Past the subcommands: the rest are the command's own words.
                if cmd.get_subcommands().next().is_none() {
                    break;
                }
                cmd = cmd
                    .find_subcommand(w)
                    .unwrap_or_else(|| {
                        panic!("{file}: `opsdeck {}` names no command", words.join(" "))
                    })
                    .clone();
            }
        }
    }

    #[test]
    fn errors_fold_to_one_line() {
        assert_eq!(super::one_line("a: b\n  c\r\n\nd"), "a: b; c; d");
        assert_eq!(super::one_line("plain"), "plain");
        assert_eq!(
            super::one_line("bad \u{1b}]0;x\u{7} \u{202e}name"),
            "bad \\u{1b}]0;x\\u{7} \\u{202e}name"
        );
    }

    #[test]
    fn clap_errors_become_one_line_with_their_usage() {
        let rendered = "error: the following required arguments were not provided:\n  <TENANT>\n\nUsage: opsdeck tenants show <TENANT>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            super::usage_line(rendered),
            "the following required arguments were not provided: <TENANT> (usage: opsdeck tenants show <TENANT>; see --help)"
        );
        let tip = "error: unrecognized subcommand 'lst'\n\n  tip: some similar subcommands exist: 'lint', 'list'\n\nUsage: opsdeck tenants [OPTIONS] <COMMAND>\n";
        assert_eq!(
            super::usage_line(tip),
            "unrecognized subcommand 'lst' tip: some similar subcommands exist: 'lint', 'list' (usage: opsdeck tenants [OPTIONS] <COMMAND>; see --help)"
        );
    }

    #[test]
    fn long_errors_keep_start_and_end() {
        let long = format!("cannot connect to db {}: try --pg", "x".repeat(10_000_000));
        let line = super::one_line(&long);
        assert_eq!(line.chars().count(), super::MAX_LINE);
        assert!(line.starts_with("cannot connect to db xxx"), "{line}");
        assert!(line.ends_with("xxx: try --pg"), "{line}");
        assert!(line.contains('…'), "{line}");
    }
}
