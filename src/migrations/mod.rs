//! Schema migrations, read only: which tools keep a history in this
//! database, what each has applied, what is pending against a migrations
//! folder, and what is stuck. Nothing here applies or rolls back anything.

mod ddl;
mod detect;
mod drizzle;
mod files;
mod golang_migrate;
mod order;
mod pgroll;
mod prisma;
mod table;

pub use crate::config::migrations::Tool;
pub use ddl::{ddl_activity, DdlActivity, DdlSession, IndexBuild, Role};

use crate::config::migrations::MigrationsConfig;
use crate::conn::Pg;
use crate::error::Result;
use chrono::{DateTime, Utc};
use futures_util::future::{try_join_all, BoxFuture};
use serde::Serialize;
use std::path::Path;

/// One tool's history as the database records it.
#[derive(Debug, Clone, Serialize)]
pub struct ToolStatus {
    pub tool: Tool,
    /// The history table (pgroll: its state schema's table).
    pub table: String,
    pub applied_count: u64,
    pub latest: Option<String>,
    /// When the latest was applied. Drizzle keeps no apply time: there it
    /// is when the migration was generated (its journal's `when`).
    pub latest_at: Option<DateTime<Utc>>,
    /// In the folder, not in the database (only with `--dir`).
    pub pending: Vec<String>,
    pub problems: Vec<Problem>,
    /// What was applied, in the order it was (the TUI's history; JSON
    /// keeps to the summary). golang-migrate records only its version.
    #[serde(skip)]
    pub history: Vec<Applied>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub migration: String,
    pub detail: String,
    /// When the problem began (a stuck migration's start), if known.
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// Started and neither finished nor rolled back (Prisma).
    Stuck,
    /// golang-migrate's dirty flag: a migration failed half-way.
    Dirty,
    /// A pgroll migration still in its expand phase.
    InProgress,
    OutOfOrder,
    /// Applied, but its file changed since (hash or checksum).
    Mismatched,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::Stuck => "stuck",
            ProblemKind::Dirty => "dirty",
            ProblemKind::InProgress => "in_progress",
            ProblemKind::OutOfOrder => "out_of_order",
            ProblemKind::Mismatched => "mismatched",
        }
    }
}

impl ToolStatus {
    fn new(tool: Tool, table: String) -> ToolStatus {
        ToolStatus {
            tool,
            table,
            applied_count: 0,
            latest: None,
            latest_at: None,
            pending: Vec::new(),
            problems: Vec::new(),
            history: Vec::new(),
        }
    }

    /// Needs someone: stuck, dirty, mismatched, out of order or pending.
    pub fn needs_attention(&self) -> bool {
        !self.problems.is_empty() || !self.pending.is_empty()
    }
}

/// One applied migration.
#[derive(Debug, Clone)]
pub struct Applied {
    pub name: String,
    pub at: Option<DateTime<Utc>>,
}

/// Every detected tool's status; with `dir`, compared with that folder.
pub async fn status(
    pg: &Pg,
    cfg: &MigrationsConfig,
    dir: Option<&Path>,
) -> Result<Vec<ToolStatus>> {
    let found = detect::detect(pg, cfg).await?;
    let folder = match dir {
        Some(d) => Some(files::Folder::read(d)?),
        None => None,
    };
    let reads: Vec<BoxFuture<'_, Result<Vec<ToolStatus>>>> = found
        .into_iter()
        .map(|(tool, table)| {
            let folder = folder.as_ref();
            let fut: BoxFuture<'_, Result<Vec<ToolStatus>>> = match tool {
                Tool::Drizzle => Box::pin(async move {
                    drizzle::read(pg, table, folder.and_then(|f| f.drizzle.as_ref()))
                        .await
                        .map(|s| vec![s])
                }),
                Tool::Prisma => Box::pin(async move {
                    prisma::read(pg, table, folder.and_then(|f| f.prisma.as_ref()))
                        .await
                        .map(|s| vec![s])
                }),
                Tool::GolangMigrate => Box::pin(async move {
                    golang_migrate::read(pg, table, folder.and_then(|f| f.golang.as_ref()))
                        .await
                        .map(|s| vec![s])
                }),
                Tool::NodePgMigrate => Box::pin(async move {
                    table::read(pg, tool, table, "name", "run_on")
                        .await
                        .map(|s| vec![s])
                }),
                Tool::Pgroll => Box::pin(pgroll::read(pg, table)),
                Tool::Table => Box::pin(async move {
                    match cfg.table.as_ref() {
                        Some(t) => {
                            table::read(pg, tool, table, &t.name_column, &t.applied_at_column)
                                .await
                                .map(|s| vec![s])
                        }
                        None => Ok(Vec::new()),
                    }
                }),
            };
            fut
        })
        .collect();
    // One connection pipelines these: one round trip for all the tools.
    let mut statuses: Vec<ToolStatus> = try_join_all(reads).await?.into_iter().flatten().collect();
    if let Some(folder) = &folder {
        never_run(&mut statuses, folder, cfg);
    }
    Ok(statuses)
}

/// A folder whose tool has no table here yet: the tool never ran against
/// this database, so every migration in the folder is pending.
fn never_run(statuses: &mut Vec<ToolStatus>, folder: &files::Folder, cfg: &MigrationsConfig) {
    let layouts: [(Tool, &str, Option<Vec<String>>); 3] = [
        (
            Tool::Drizzle,
            &cfg.drizzle_table,
            folder
                .drizzle
                .as_ref()
                .map(|f| f.iter().map(|e| e.tag.clone()).collect()),
        ),
        (
            Tool::Prisma,
            &cfg.prisma_table,
            folder
                .prisma
                .as_ref()
                .map(|f| f.iter().map(|e| e.name.clone()).collect()),
        ),
        (
            Tool::GolangMigrate,
            &cfg.golang_migrate_table,
            folder
                .golang
                .as_ref()
                .map(|f| f.iter().map(|e| e.name.clone()).collect()),
        ),
    ];
    for (tool, table, pending) in layouts {
        let Some(pending) = pending else { continue };
        if cfg.wants(tool) && !statuses.iter().any(|s| s.tool == tool) {
            let mut status = ToolStatus::new(tool, format!("{table} (not created yet)"));
            status.pending = pending;
            statuses.push(status);
        }
    }
}

/// The overview pane's line: the newest migration across tools, its age,
/// and how many tools need attention.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub latest: Option<String>,
    pub latest_tool: Option<Tool>,
    pub latest_at: Option<DateTime<Utc>>,
    pub latest_age_ms: Option<i64>,
    pub stuck: Vec<String>,
}

pub fn summary(statuses: &[ToolStatus], now: DateTime<Utc>) -> Summary {
    let newest = statuses
        .iter()
        .filter(|s| s.latest.is_some())
        .max_by_key(|s| s.latest_at);
    Summary {
        latest: newest.and_then(|s| s.latest.clone()),
        latest_tool: newest.map(|s| s.tool),
        latest_at: newest.and_then(|s| s.latest_at),
        latest_age_ms: newest
            .and_then(|s| s.latest_at)
            .map(|at| (now - at).num_milliseconds()),
        stuck: statuses
            .iter()
            .flat_map(|s| {
                s.problems
                    .iter()
                    .filter(|p| {
                        matches!(
                            p.kind,
                            ProblemKind::Stuck | ProblemKind::Dirty | ProblemKind::InProgress
                        )
                    })
                    .map(move |p| {
                        format!("{} {}: {}", s.tool.as_str(), p.kind.as_str(), p.migration)
                    })
            })
            .collect(),
    }
}

/// Fills the count and the latest from the applied list (in apply order).
fn set_applied(status: &mut ToolStatus, applied: &[Applied]) {
    status.applied_count = applied.len() as u64;
    if let Some(last) = applied.last() {
        status.latest = Some(last.name.clone());
        status.latest_at = last.at;
    }
    status.history = applied.to_vec();
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> Option<DateTime<Utc>> {
        Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).single()
    }

    #[test]
    fn summary_names_the_newest_and_what_is_stuck() {
        let mut drizzle = ToolStatus::new(Tool::Drizzle, "drizzle.__drizzle_migrations".into());
        drizzle.latest = Some("0002_events".into());
        drizzle.latest_at = at(3);
        let mut pgroll = ToolStatus::new(Tool::Pgroll, "pgroll.migrations (public)".into());
        pgroll.latest = Some("01_initial".into());
        pgroll.latest_at = at(1);
        pgroll.problems.push(Problem {
            kind: ProblemKind::InProgress,
            migration: "02_region".into(),
            detail: String::new(),
            since: at(2),
        });
        pgroll.problems.push(Problem {
            kind: ProblemKind::OutOfOrder,
            migration: "00_late".into(),
            detail: String::new(),
            since: None,
        });
        let now = at(4).unwrap();
        let s = summary(&[pgroll, drizzle], now);
        assert_eq!(s.latest.as_deref(), Some("0002_events"));
        assert_eq!(s.latest_tool, Some(Tool::Drizzle));
        assert_eq!(s.latest_age_ms, Some(86_400_000));
        assert_eq!(s.stuck, ["pgroll in_progress: 02_region"]);
    }
}
