//! Drizzle: `__drizzle_migrations (id serial, hash text, created_at bigint)`
//! where created_at is the journal's `when` in epoch milliseconds. Its
//! migrator applies only entries newer than the newest row, so an older
//! entry missing from the table is never applied: that is reported as out
//! of order, not pending.

use super::files::DrizzleEntry;
use super::{set_applied, Applied, Problem, ProblemKind, ToolStatus};
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::Result;
use chrono::{DateTime, Utc};

struct Row {
    id: i64,
    hash: String,
    created_at: Option<i64>,
}

fn at(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

pub async fn read(
    pg: &Pg,
    table: QualName,
    journal: Option<&Vec<DrizzleEntry>>,
) -> Result<ToolStatus> {
    let sql = format!(
        "SELECT id::int8, hash, created_at::int8 FROM {} ORDER BY id",
        table.sql()
    );
    let rows: Vec<Row> = pg
        .rows(&sql, &[])
        .await?
        .iter()
        .map(|r| Row {
            id: r.get(0),
            hash: r.get(1),
            created_at: r.get(2),
        })
        .collect();
    let mut status = ToolStatus::new(super::Tool::Drizzle, table.display());
    let tag_of = |r: &Row| {
        journal
            .and_then(|j| j.iter().find(|e| Some(e.when) == r.created_at))
            .map(|e| e.tag.clone())
            .unwrap_or_else(|| format!("#{} ({})", r.id, r.hash.get(..12).unwrap_or(&r.hash)))
    };
    let applied: Vec<Applied> = rows
        .iter()
        .map(|r| Applied {
            name: tag_of(r),
            at: at(r.created_at),
        })
        .collect();
    set_applied(&mut status, &applied);
    if let Some(journal) = journal {
        compare(&mut status, &rows, journal);
    }
    Ok(status)
}

fn compare(status: &mut ToolStatus, rows: &[Row], journal: &[DrizzleEntry]) {
    let newest = rows.iter().filter_map(|r| r.created_at).max();
    for entry in journal {
        match rows.iter().find(|r| r.created_at == Some(entry.when)) {
            Some(row) if entry.hash.as_deref() != Some(row.hash.as_str()) => {
                status.problems.push(Problem {
                    kind: ProblemKind::Mismatched,
                    migration: entry.tag.clone(),
                    detail: match &entry.hash {
                        Some(_) => "applied, but its SQL file changed since (sha256 differs)".into(),
                        None => format!("applied, but {}.sql is missing from the folder", entry.tag),
                    },
                    since: at(row.created_at),
                })
            }
            Some(_) => {}
            None if newest.is_none_or(|n| entry.when > n) => status.pending.push(entry.tag.clone()),
            None => status.problems.push(Problem {
                kind: ProblemKind::OutOfOrder,
                migration: entry.tag.clone(),
                detail: "not applied and older than the newest applied migration: drizzle's migrator will skip it; regenerate it with a newer timestamp".into(),
                since: at(Some(entry.when)),
            }),
        }
    }
}
