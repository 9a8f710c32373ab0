//! `opsdeck jobs …`: queues, list, show, errors (failures grouped by
//! message), retry and discard over every job system detected in the
//! context (`crate::jobs`). Listings stream; bulk changes show their count
//! first and run in batches with progress on stderr.

mod read;
mod render;
mod write;

use super::Global;
use crate::error::{ExitCode, Result};
use crate::jobs::{self, JobSource, SourceKind, State};
use crate::session::Session;
use clap::{ArgGroup, Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum JobsCmd {
    /// Counts per state per queue, oldest waiting age, failure rate over the last hour, dead-letter depth.
    Queues(SourceArg),
    /// Jobs across the detected systems, streaming; the table shows 50 unless --limit says otherwise.
    List(ListArgs),
    /// One job: payload pretty-printed, error, stack and history.
    Show {
        id: String,
        #[command(flatten)]
        source: SourceArg,
    },
    /// Failed jobs grouped by normalized error message (numbers, ids and quoted values masked): count, first/last seen, queues.
    Errors(ErrorsArgs),
    /// Make failed jobs runnable again so their system's own worker picks them up.
    Retry(WriteArgs),
    /// Remove or permanently fail jobs the way their system does (asks for the target to be typed).
    Discard(WriteArgs),
}

#[derive(Debug, Args)]
pub struct SourceArg {
    /// Only this job system.
    #[arg(long, value_parser = parse_source)]
    pub source: Option<SourceKind>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub source: SourceArg,
    #[arg(long)]
    pub queue: Option<String>,
    #[arg(long, value_parser = parse_state)]
    pub state: Option<State>,
    /// Only jobs whose error contains this text (case-insensitive).
    #[arg(long)]
    pub error_like: Option<String>,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Resume after this job id (the cursor a previous page printed).
    #[arg(long)]
    pub after: Option<String>,
}

#[derive(Debug, Args)]
pub struct ErrorsArgs {
    #[command(flatten)]
    pub source: SourceArg,
    #[arg(long)]
    pub queue: Option<String>,
    #[arg(long)]
    pub error_like: Option<String>,
    /// Failed jobs read per source at most.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub scan: u64,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("which").required(true).args(["ids", "all_failed"])))]
pub struct WriteArgs {
    /// Job ids.
    pub ids: Vec<String>,
    /// Every failed job (of --queue, with --error-like) instead of ids.
    #[arg(long, conflicts_with = "ids")]
    pub all_failed: bool,
    #[arg(long)]
    pub queue: Option<String>,
    /// Only failed jobs whose error contains this text (case-insensitive).
    #[arg(long)]
    pub error_like: Option<String>,
    /// Only failed jobs of this group: a pattern exactly as `opsdeck jobs errors` prints it.
    #[arg(long)]
    pub pattern: Option<String>,
    #[command(flatten)]
    pub source: SourceArg,
    /// Count and show a sample; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_source(s: &str) -> std::result::Result<SourceKind, String> {
    SourceKind::parse(s).ok_or_else(|| {
        let all: Vec<&str> = SourceKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown source '{s}': use one of {}", all.join(", "))
    })
}

fn parse_state(s: &str) -> std::result::Result<State, String> {
    State::parse(s).ok_or_else(|| {
        let all: Vec<&str> = State::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown state '{s}': use one of {}", all.join(", "))
    })
}

pub async fn run(global: &Global, cmd: JobsCmd) -> Result<ExitCode> {
    let session = global.session()?;
    match cmd {
        JobsCmd::Queues(s) => read::queues(global, &session, s.source).await,
        JobsCmd::List(a) => read::list(global, &session, a).await,
        JobsCmd::Show { id, source } => read::show(global, &session, &id, source.source).await,
        JobsCmd::Errors(a) => read::errors(global, &session, a).await,
        JobsCmd::Retry(a) => write::run(global, &session, a, write::Kind::Retry).await,
        JobsCmd::Discard(a) => write::run(global, &session, a, write::Kind::Discard).await,
    }
}

/// The sources detected in the context, narrowed to `only` when given.
async fn sources(session: &Session, only: Option<SourceKind>) -> Result<Vec<Box<dyn JobSource>>> {
    let backends = jobs::Backends::of(session).await?;
    let mut all = jobs::detect_all(&backends, &session.ctx.jobs).await?;
    if let Some(k) = only {
        jobs::pick(&all, Some(k))?;
        all.retain(|s| s.kind() == k);
    }
    if all.is_empty() {
        return Err(jobs::registry::none_found());
    }
    Ok(all)
}
