//! node-pg-migrate: `pgmigrations (id serial, name varchar, run_on
//! timestamp)`, one row per applied migration, names timestamp-prefixed.

use super::order::out_of_order;
use super::{set_applied, Applied, ToolStatus};
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::Result;

pub async fn read(pg: &Pg, table: QualName) -> Result<ToolStatus> {
    let sql = format!(
        "SELECT name::text, run_on::timestamptz FROM {} ORDER BY run_on, id",
        table.sql()
    );
    let applied: Vec<Applied> = pg
        .rows(&sql, &[])
        .await?
        .iter()
        .map(|r| Applied {
            name: r.get(0),
            at: r.get(1),
        })
        .collect();
    let mut status = ToolStatus::new(super::Tool::NodePgMigrate, table.display());
    set_applied(&mut status, &applied);
    status.problems = out_of_order(&applied);
    Ok(status)
}
