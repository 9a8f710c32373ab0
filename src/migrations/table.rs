//! A history table of the application's own, read through the column
//! names the context configures (`[contexts.NAME.migrations.table]`).

use super::order::out_of_order;
use super::{set_applied, Applied, ToolStatus};
use crate::config::migrations::TableAdapter;
use crate::conn::sql::{quote_ident, QualName};
use crate::conn::Pg;
use crate::error::Result;

pub async fn read(pg: &Pg, table: QualName, cfg: &TableAdapter) -> Result<ToolStatus> {
    let (name, at) = (
        quote_ident(&cfg.name_column),
        quote_ident(&cfg.applied_at_column),
    );
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
    let mut status = ToolStatus::new(super::Tool::Table, table.display());
    set_applied(&mut status, &applied);
    status.problems = out_of_order(&applied);
    Ok(status)
}
