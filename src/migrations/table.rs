//! Histories of one row per applied migration, a name and a time: the
//! node-pg-migrate table (`pgmigrations (id, name, run_on)`) and a table of
//! the application's own, read through the column names the context
//! configures (`[contexts.NAME.migrations.table]`).

use super::order::out_of_order;
use super::{set_applied, Applied, Tool, ToolStatus};
use crate::conn::sql::{quote_ident, QualName};
use crate::conn::Pg;
use crate::error::Result;

pub async fn read(
    pg: &Pg,
    tool: Tool,
    table: QualName,
    name_column: &str,
    applied_at_column: &str,
) -> Result<ToolStatus> {
    let (name, at) = (quote_ident(name_column), quote_ident(applied_at_column));
    let sql = format!(
        "SELECT {name}::text, {at}::timestamptz FROM {} ORDER BY {at}, {name}",
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
    let mut status = ToolStatus::new(tool, table.display());
    set_applied(&mut status, &applied);
    status.problems = out_of_order(&applied);
    Ok(status)
}
