//! Prisma: `_prisma_migrations (migration_name, checksum, started_at,
//! finished_at, rolled_back_at, logs, applied_steps_count)`. A row started
//! but neither finished nor rolled back is the state that makes
//! `prisma migrate deploy` refuse to run (P3009) until someone resolves it.

use super::files::PrismaEntry;
use super::order::out_of_order;
use super::{set_applied, Applied, Problem, ProblemKind, ToolStatus};
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::Result;
use chrono::{DateTime, Utc};

struct Row {
    name: String,
    checksum: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    rolled_back_at: Option<DateTime<Utc>>,
    logs: Option<String>,
    steps: i64,
}

pub async fn read(
    pg: &Pg,
    table: QualName,
    folder: Option<&Vec<PrismaEntry>>,
) -> Result<ToolStatus> {
    let sql = format!(
        "SELECT migration_name::text, checksum::text, started_at::timestamptz,
                finished_at::timestamptz, rolled_back_at::timestamptz,
                left(logs, 300), applied_steps_count::int8
           FROM {} ORDER BY started_at, migration_name",
        table.sql()
    );
    let rows: Vec<Row> = pg
        .rows(&sql, &[])
        .await?
        .iter()
        .map(|r| Row {
            name: r.get(0),
            checksum: r.get(1),
            started_at: r.get(2),
            finished_at: r.get(3),
            rolled_back_at: r.get(4),
            logs: r.get(5),
            steps: r.get(6),
        })
        .collect();
    let mut status = ToolStatus::new(super::Tool::Prisma, table.display());
    let finished: Vec<&Row> = rows
        .iter()
        .filter(|r| r.finished_at.is_some() && r.rolled_back_at.is_none())
        .collect();
    let applied: Vec<Applied> = finished
        .iter()
        .map(|r| Applied {
            name: r.name.clone(),
            at: r.finished_at,
        })
        .collect();
    set_applied(&mut status, &applied);
    status.problems.extend(
        rows.iter()
            .filter(|r| r.finished_at.is_none() && r.rolled_back_at.is_none())
            .map(stuck),
    );
    status.problems.extend(out_of_order(&applied));
    if let Some(folder) = folder {
        for entry in folder {
            match finished.iter().find(|r| r.name == entry.name) {
                Some(r) if r.checksum != entry.checksum => status.problems.push(Problem {
                    kind: ProblemKind::Mismatched,
                    migration: entry.name.clone(),
                    detail: "applied, but migration.sql changed since (checksum differs)".into(),
                    since: r.finished_at,
                }),
                Some(_) => {}
                None if rows.iter().any(|r| {
                    r.name == entry.name && r.finished_at.is_none() && r.rolled_back_at.is_none()
                }) => {}
                None => status.pending.push(entry.name.clone()),
            }
        }
    }
    Ok(status)
}

fn stuck(r: &Row) -> Problem {
    let logs = r
        .logs
        .as_deref()
        .and_then(|l| l.lines().map(str::trim).find(|l| !l.is_empty()))
        .map(|l| format!(": {l}"))
        .unwrap_or_default();
    Problem {
        kind: ProblemKind::Stuck,
        migration: r.name.clone(),
        detail: format!(
            "started, neither finished nor rolled back ({} steps applied); the next deploy refuses until it is resolved (prisma migrate resolve){logs}",
            r.steps
        ),
        since: Some(r.started_at),
    }
}
