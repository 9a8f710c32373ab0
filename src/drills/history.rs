//! Drill history: in `opsdeck.drills` when `opsdeck init` created it, else
//! a JSONL file in the data dir, one report a line.

use super::DrillReport;
use crate::conn::Pg;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the history is kept.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    Database,
    Local(PathBuf),
}

/// How many drills `list` returns.
pub const LIST_LIMIT: i64 = 200;

pub fn local_file(data_dir: &Path) -> PathBuf {
    data_dir.join("drills.jsonl")
}

/// Whether the database holds the history table with its report column.
pub async fn in_database(pg: &Pg) -> Result<bool> {
    let row = pg
        .row(
            "SELECT EXISTS (SELECT 1 FROM information_schema.columns
                            WHERE table_schema = 'opsdeck' AND table_name = 'drills' AND column_name = 'report')",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

/// Records `report` and gives it its id.
pub async fn save(db: Option<&Pg>, local: &Path, report: &mut DrillReport) -> Result<Stored> {
    if let Some(pg) = db {
        if in_database(pg).await.unwrap_or(false) {
            let json = serde_json::to_string(&report)
                .map_err(|e| Error::Config(format!("cannot encode the drill report: {e}")))?;
            let row = pg
                .row(
                    "INSERT INTO opsdeck.drills (started_at, finished_at, status, source, backup_taken_at, rpo_ms, rto_ms, checks, target, operator, context, report)
                     SELECT (r->>'started_at')::timestamptz, (r->>'finished_at')::timestamptz, r->>'status', r->>'source',
                            (r->>'backup_taken_at')::timestamptz, (r->>'rpo_ms')::int8, (r->>'rto_ms')::int8, r->'checks',
                            r->>'target', r->>'operator', r->>'context', r
                     FROM (SELECT $1::jsonb AS r) AS x RETURNING id",
                    &[&json],
                )
                .await?;
            report.id = Some(row.get(0));
            return Ok(Stored::Database);
        }
    }
    let existing = read_local(local)?;
    report.id = Some(existing.iter().filter_map(|r| r.id).max().unwrap_or(0) + 1);
    if let Some(dir) = local.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
    }
    let line = serde_json::to_string(&report)
        .map_err(|e| Error::Config(format!("cannot encode the drill report: {e}")))?;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(local)
        .map_err(|e| Error::io(format!("cannot open {}", local.display()), e))?;
    writeln!(f, "{line}").map_err(|e| Error::io(format!("cannot write {}", local.display()), e))?;
    Ok(Stored::Local(local.to_path_buf()))
}

fn read_local(path: &Path) -> Result<Vec<DrillReport>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()), e)),
    };
    // A line cut short by a crash is skipped, not fatal to the history.
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect())
}

/// The newest drills first.
pub async fn list(db: Option<&Pg>, local: &Path) -> Result<Vec<DrillReport>> {
    if let Some(pg) = db {
        if in_database(pg).await? {
            let rows = pg
                .rows(
                    "SELECT id, report::text FROM opsdeck.drills WHERE report IS NOT NULL
                     ORDER BY id DESC LIMIT $1::int8",
                    &[&LIST_LIMIT.to_string()],
                )
                .await?;
            return Ok(rows.iter().filter_map(from_row).collect());
        }
    }
    let mut all = read_local(local)?;
    all.reverse();
    all.truncate(LIST_LIMIT as usize);
    Ok(all)
}

fn from_row(row: &tokio_postgres::Row) -> Option<DrillReport> {
    let mut r: DrillReport = serde_json::from_str(&row.get::<_, String>(1)).ok()?;
    r.id = Some(row.get(0));
    Some(r)
}

pub async fn show(db: Option<&Pg>, local: &Path, id: i64) -> Result<DrillReport> {
    let missing = || {
        Error::NotFound(format!(
            "drill {id}; `opsdeck drill list` shows the recorded drills"
        ))
    };
    if let Some(pg) = db {
        if in_database(pg).await? {
            let row = pg
                .row_opt(
                    "SELECT id, report::text FROM opsdeck.drills WHERE id = $1::int8 AND report IS NOT NULL",
                    &[&id.to_string()],
                )
                .await?;
            return row.as_ref().and_then(from_row).ok_or_else(missing);
        }
    }
    read_local(local)?
        .into_iter()
        .find(|r| r.id == Some(id))
        .ok_or_else(missing)
}

/// The newest drill, for the overview.
pub async fn last(db: Option<&Pg>, local: &Path) -> Result<Option<DrillReport>> {
    Ok(list(db, local).await?.into_iter().next())
}
