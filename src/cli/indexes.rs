//! `opsdeck indexes suggest|lint|create`.

use super::interrupt::Interrupts;
use super::narrate;
use super::output::{self, Format, Tabular};
use super::record::Record;
use super::{confirm, Global};
use crate::advisor::{self, create, lint, Finding, SuggestOptions, Suggestion};
use crate::error::{ExitCode, Result};
use crate::units;
use clap::{Args, Subcommand};

#[derive(Debug, Subcommand)]
pub enum IndexesCmd {
    /// Indexes that would make expensive statements of the workload
    /// (pg_stat_statements) cheaper, verified with HypoPG where installed.
    Suggest(SuggestArgs),
    /// Duplicate, redundant, unused, invalid and bloated indexes, and
    /// foreign keys without an index; exits 1 when it finds any.
    Lint,
    /// Build a suggested index (CREATE INDEX CONCURRENTLY) by its name from
    /// `opsdeck indexes suggest`, with progress; a failed or interrupted
    /// build's leftover is dropped.
    Create(CreateArgs),
}

#[derive(Debug, Args)]
pub struct SuggestArgs {
    /// Only statements called at least this many times.
    #[arg(long, default_value_t = 5)]
    pub min_calls: i64,
    /// Only suggestions for this table (name or schema.name).
    #[arg(long)]
    pub table: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The suggestion's name (the `name` column of `opsdeck indexes suggest`).
    pub name: String,
    /// The workload threshold the suggestion was made with.
    #[arg(long, default_value_t = 5)]
    pub min_calls: i64,
}

fn cost(v: f64) -> String {
    format!("{v:.1}")
}

impl Tabular for Suggestion {
    fn headers() -> Vec<&'static str> {
        vec![
            "name",
            "table",
            "columns",
            "method",
            "where",
            "verified_by",
            "statements",
            "best_cost_before",
            "best_cost_after",
            "estimated_size_bytes",
            "writes_per_second",
            "create_sql",
            "reason",
            "write_overhead",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let top = self.queries.first();
        vec![
            self.name.clone(),
            self.table.clone(),
            self.columns.join(","),
            self.method.clone(),
            self.predicate.clone().unwrap_or_default(),
            output::word(&self.verified_by),
            self.queries.len().to_string(),
            top.map(|q| cost(q.cost_before)).unwrap_or_default(),
            top.and_then(|q| q.cost_after).map(cost).unwrap_or_default(),
            self.estimated_size_bytes.to_string(),
            format!("{:.2}", self.writes_per_second),
            self.create_sql.clone(),
            self.reason.clone(),
            self.write_overhead.clone(),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "name",
            "table",
            "columns",
            "where",
            "verified",
            "cut",
            "size",
            "statements",
        ]
    }
    fn shown(&self) -> Vec<String> {
        let cut = match self.best_ratio() {
            Some(r) => format!("{r:.0}x"),
            None => "?".into(),
        };
        vec![
            self.name.clone(),
            self.table.clone(),
            format!("{} ({})", self.columns.join(", "), self.method),
            self.predicate.clone().unwrap_or_default(),
            output::word(&self.verified_by),
            cut,
            units::bytes(self.estimated_size_bytes.max(0) as u64),
            self.queries.len().to_string(),
        ]
    }
}

impl Tabular for Finding {
    fn headers() -> Vec<&'static str> {
        vec!["kind", "index", "table", "columns", "detail", "fix_sql"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            output::word(&self.kind),
            self.index.clone().unwrap_or_default(),
            self.table.clone(),
            self.columns.join(","),
            self.detail.clone(),
            self.fix_sql.clone(),
        ]
    }
}

pub async fn run(global: &Global, cmd: IndexesCmd) -> Result<ExitCode> {
    match cmd {
        IndexesCmd::Suggest(a) => suggest(global, a).await,
        IndexesCmd::Lint => lint_cmd(global).await,
        IndexesCmd::Create(a) => create_cmd(global, a).await,
    }
}

async fn suggest(global: &Global, a: SuggestArgs) -> Result<ExitCode> {
    let session = global.session()?;
    // A session of its own: the verification is one transaction.
    let pg = session.pg_dedicated().await?;
    let opts = SuggestOptions {
        min_calls: a.min_calls,
        table: a.table,
    };
    let advice = advisor::suggest(&pg, &opts).await?;
    if !advice.hypopg {
        narrate::note(advisor::hypo::install_hint(pg.caps.major()));
    }
    output::print_list(&advice.suggestions, global.output)?;
    if global.output == Format::Table {
        for s in &advice.suggestions {
            narrate::say(format!("{}: {}", s.name, s.create_sql));
        }
    }
    narrate::note(format!(
        "{} statement(s) with at least {} calls, {} candidate(s), {} suggestion(s); {} candidate(s) already served by an existing index",
        advice.statements,
        opts.min_calls,
        advice.candidates,
        advice.suggestions.len(),
        advice.covered.len()
    ));
    Ok(ExitCode::Ok)
}

async fn lint_cmd(global: &Global) -> Result<ExitCode> {
    let session = global.session()?;
    let pg = session.pg().await?;
    let report = lint::lint(&pg).await?;
    output::print_list(&report.findings, global.output)?;
    narrate::note(format!("usage counts since {}", report.stats_since));
    if report.findings.is_empty() {
        narrate::say("no index problems found");
        Ok(ExitCode::Ok)
    } else {
        Ok(ExitCode::Problems)
    }
}

async fn create_cmd(global: &Global, a: CreateArgs) -> Result<ExitCode> {
    let session = global.session()?;
    let safety = session.safety().await;
    safety.admit(&create::intent_for(&a.name)).await?;
    let pg = session.pg_dedicated().await?;
    let opts = SuggestOptions {
        min_calls: a.min_calls,
        table: None,
    };
    let advice = advisor::suggest(&pg, &opts).await?;
    let plan = create::plan(&pg, &advice.suggestions, &a.name).await?;
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    let watcher = session.pg_dedicated().await?;
    let done = Interrupts::run(&safety, plan, approval, |approved, stop| async move {
        create::apply(&pg, &watcher, approved, &stop, |p| {
            narrate::say(p.describe());
        })
        .await
    })
    .await?;
    output::print_result(&done, created_record, global.output)?;
    narrate::say(format!("index {} created", done.index));
    Ok(ExitCode::Ok)
}

fn created_record(c: &advisor::Created) -> Record {
    Record::new()
        .text("index", c.index.clone())
        .text("table", c.table.clone())
        .text("create_sql", c.create_sql.clone())
        .millis("duration_ms", Some(c.duration_ms))
        .bytes("size_bytes", Some(c.size_bytes.max(0) as u64))
}
