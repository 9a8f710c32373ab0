//! `opsdeck migrations status`: every detected tool's history and problems,
//! pending and changed files against `--dir`, and DDL running right now.
//! Read only.

use super::output::{self, Format, Tabular};
use super::{narrate, Global};
use crate::error::{ExitCode, Result};
use crate::migrations::{self, DdlActivity, DdlSession, Problem, ToolStatus};
use clap::{Args, Subcommand};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum MigrationsCmd {
    /// Applied, pending and stuck migrations per tool, and DDL running now (exit 1 when something needs attention).
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// The repository's migrations folder (Drizzle, Prisma or golang-migrate layout): adds pending and changed files.
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Serialize)]
struct Report<'a> {
    tools: &'a [ToolStatus],
    ddl: &'a DdlActivity,
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn problems_cell(s: &ToolStatus) -> String {
    s.problems
        .iter()
        .map(|p| format!("{} {}", p.kind.as_str(), p.migration))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Tabular for ToolStatus {
    fn headers() -> Vec<&'static str> {
        vec![
            "tool",
            "table",
            "applied",
            "latest",
            "latest_at",
            "pending",
            "problems",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.tool.as_str().to_string(),
            self.table.clone(),
            self.applied_count.to_string(),
            self.latest.clone().unwrap_or_default(),
            time(self.latest_at),
            self.pending.len().to_string(),
            problems_cell(self),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "tool",
            "applied",
            "latest",
            "latest_at",
            "pending",
            "problems",
        ]
    }
    fn shown(&self) -> Vec<String> {
        let mut c = self.cells();
        c.remove(1);
        c
    }
}

/// A problem or a pending file, with its tool, for the table below the summary.
#[derive(Serialize)]
struct Finding {
    tool: &'static str,
    kind: &'static str,
    migration: String,
    since: String,
    detail: String,
}

impl Tabular for Finding {
    fn headers() -> Vec<&'static str> {
        vec!["tool", "kind", "migration", "since", "detail"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.tool.to_string(),
            self.kind.to_string(),
            self.migration.clone(),
            self.since.clone(),
            self.detail.clone(),
        ]
    }
}

fn findings(tools: &[ToolStatus]) -> Vec<Finding> {
    let problem = |s: &ToolStatus, p: &Problem| Finding {
        tool: s.tool.as_str(),
        kind: p.kind.as_str(),
        migration: p.migration.clone(),
        since: time(p.since),
        detail: p.detail.clone(),
    };
    tools
        .iter()
        .flat_map(|s| {
            s.problems
                .iter()
                .map(move |p| problem(s, p))
                .chain(s.pending.iter().map(|m| Finding {
                    tool: s.tool.as_str(),
                    kind: "pending",
                    migration: m.clone(),
                    since: String::new(),
                    detail: "in the folder, not applied".into(),
                }))
        })
        .collect()
}

impl Tabular for DdlSession {
    fn headers() -> Vec<&'static str> {
        vec![
            "pid",
            "role",
            "user",
            "holds",
            "waits_for",
            "blocked_by",
            "transaction_ms",
            "query",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.pid.to_string(),
            self.role.as_str().to_string(),
            self.user.clone().unwrap_or_default(),
            self.holds.join(", "),
            self.waits_for.clone().unwrap_or_default(),
            self.blocked_by
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            self.transaction_ms
                .map(|m| format!("{m:.0}"))
                .unwrap_or_default(),
            self.query.clone(),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "pid",
            "role",
            "holds",
            "waits_for",
            "blocked_by",
            "transaction",
            "query",
        ]
    }
    fn shown(&self) -> Vec<String> {
        let mut c = self.cells();
        c.remove(2);
        c[5] = self
            .transaction_ms
            .map(crate::units::millis)
            .unwrap_or_default();
        c
    }
}

impl Tabular for migrations::IndexBuild {
    fn headers() -> Vec<&'static str> {
        vec![
            "pid",
            "table",
            "index",
            "command",
            "phase",
            "blocks_done",
            "blocks_total",
            "tuples_done",
            "tuples_total",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.pid.to_string(),
            self.table.clone(),
            self.index.clone().unwrap_or_default(),
            self.command.clone(),
            self.phase.clone(),
            self.blocks_done.to_string(),
            self.blocks_total.to_string(),
            self.tuples_done.to_string(),
            self.tuples_total.to_string(),
        ]
    }
}

pub async fn run(global: &Global, cmd: MigrationsCmd) -> Result<ExitCode> {
    let MigrationsCmd::Status(args) = cmd;
    let session = global.session()?;
    let pg = session.pg().await?;
    let cfg = &session.ctx.migrations;
    let (tools, ddl) = tokio::try_join!(
        migrations::status(&pg, cfg, args.dir.as_deref()),
        migrations::ddl_activity(&pg)
    )?;
    match global.output {
        Format::Json => output::write_json(
            &mut std::io::stdout().lock(),
            &Report {
                tools: &tools,
                ddl: &ddl,
            },
        )?,
        Format::Csv => output::print_list(&tools, Format::Csv)?,
        Format::Table => {
            output::print_list(&tools, Format::Table)?;
            let found = findings(&tools);
            if !found.is_empty() {
                output::print_list(&found, Format::Table)?;
            }
            if !ddl.sessions.is_empty() {
                output::print_list(&ddl.sessions, Format::Table)?;
            }
            if !ddl.index_builds.is_empty() {
                output::print_list(&ddl.index_builds, Format::Table)?;
            }
        }
    }
    if tools.is_empty() {
        narrate::note("no migration history found: no Drizzle, Prisma, pgroll, golang-migrate or node-pg-migrate table (names are set under [contexts.NAME.migrations])");
    }
    Ok(if tools.iter().any(ToolStatus::needs_attention) {
        ExitCode::Problems
    } else {
        ExitCode::Ok
    })
}
