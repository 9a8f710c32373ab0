//! Foreign keys whose columns lead no index: deleting or updating a
//! referenced row scans the whole referencing table (under a lock), and
//! joins along the key have nothing to use. Any order of the key's columns
//! at the front of a valid, non-partial index counts.

use super::{Finding, ForeignKey, IndexRow, LintKind};
use crate::conn::sql::quote_ident;

fn is_column(key: &str, column: &str) -> bool {
    key == column || key == quote_ident(column)
}

fn served(fk: &ForeignKey, indexes: &[IndexRow]) -> bool {
    let n = fk.columns.len();
    indexes.iter().any(|i| {
        i.valid
            && i.predicate.is_none()
            && i.schema == fk.schema
            && i.table == fk.table
            && i.keys.len() >= n
            && fk
                .columns
                .iter()
                .all(|c| i.keys[..n].iter().any(|k| is_column(k, c)))
    })
}

fn index_name(table: &str, columns: &[String]) -> String {
    let mut name: String = format!("{table}_{}_idx", columns.join("_"))
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '_' })
        .collect();
    while name.len() > 63 {
        name.pop();
    }
    name
}

pub fn find(indexes: &[IndexRow], fks: &[ForeignKey]) -> Vec<Finding> {
    fks.iter()
        .filter(|fk| !served(fk, indexes))
        .map(|fk| {
            let cols: Vec<String> = fk.columns.iter().map(|c| quote_ident(c)).collect();
            Finding {
                kind: LintKind::MissingFkIndex,
                index: None,
                table: format!("{}.{}", fk.schema, fk.table),
                columns: fk.columns.clone(),
                detail: format!(
                    "foreign key {} references {}, and no index starts with ({}): deletes and key updates there scan this table",
                    fk.name,
                    fk.references,
                    fk.columns.join(", ")
                ),
                fix_sql: format!(
                    "CREATE INDEX CONCURRENTLY {} ON {}.{} ({});",
                    quote_ident(&index_name(&fk.table, &fk.columns)),
                    quote_ident(&fk.schema),
                    quote_ident(&fk.table),
                    cols.join(", ")
                ),
            }
        })
        .collect()
}
