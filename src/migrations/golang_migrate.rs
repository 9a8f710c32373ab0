//! golang-migrate: `schema_migrations (version bigint, dirty boolean)`, one
//! row, the current version. Dirty means a migration failed half-way and
//! the tool refuses to run until someone forces a version.

use super::files::GolangEntry;
use super::{Problem, ProblemKind, ToolStatus};
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::Result;

pub async fn read(
    pg: &Pg,
    table: QualName,
    folder: Option<&Vec<GolangEntry>>,
) -> Result<ToolStatus> {
    let sql = format!(
        "SELECT version::int8, dirty::bool FROM {} ORDER BY version DESC LIMIT 1",
        table.sql()
    );
    let row = pg.row_opt(&sql, &[]).await?;
    let mut status = ToolStatus::new(super::Tool::GolangMigrate, table.display());
    let Some(row) = row else {
        status.pending = folder
            .map(|f| f.iter().map(|e| e.name.clone()).collect())
            .unwrap_or_default();
        return Ok(status);
    };
    let (version, dirty): (i64, bool) = (row.get(0), row.get(1));
    let name_of = |v: i64| {
        folder
            .and_then(|f| f.iter().find(|e| e.version == v))
            .map(|e| e.name.clone())
            .unwrap_or_else(|| v.to_string())
    };
    // The table holds only the current version; every file up to it ran.
    status.applied_count = match folder {
        Some(f) => f.iter().filter(|e| e.version <= version).count() as u64,
        None => 1,
    };
    status.latest = Some(name_of(version));
    status.history = vec![super::Applied {
        name: name_of(version),
        at: None,
    }];
    if dirty {
        status.problems.push(Problem {
            kind: ProblemKind::Dirty,
            migration: name_of(version),
            detail: format!("version {version} is dirty: it failed part-way; fix the schema by hand, then migrate force the right version"),
            since: None,
        });
    }
    if let Some(folder) = folder {
        status.pending = folder
            .iter()
            .filter(|e| e.version > version)
            .map(|e| e.name.clone())
            .collect();
    }
    Ok(status)
}
