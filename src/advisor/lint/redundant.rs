//! Redundant indexes: a btree whose keys lead another btree's on the same
//! table (same predicate, same operator classes), so the longer one serves
//! every lookup it does. Unique and primary-key indexes enforce something
//! and are never redundant.

use super::{Finding, IndexRow, LintKind};

fn leads(short: &IndexRow, long: &IndexRow) -> bool {
    short.schema == long.schema
        && short.table == long.table
        && short.method == "btree"
        && long.method == "btree"
        && short.predicate == long.predicate
        && short.keys.len() < long.keys.len()
        && long.keys[..short.keys.len()] == short.keys[..]
        && long.opclasses[..short.keys.len()] == short.opclasses[..]
}

pub fn find(indexes: &[IndexRow]) -> Vec<Finding> {
    indexes
        .iter()
        .filter(|i| i.valid && !i.unique && !i.primary && i.constraint.is_none())
        .filter_map(|i| {
            let by = indexes.iter().find(|l| l.valid && leads(i, l))?;
            Some(Finding {
                kind: LintKind::Redundant,
                index: Some(i.qualified()),
                table: i.table_display(),
                columns: i.keys.clone(),
                detail: format!(
                    "its columns ({}) lead {} ({}), which serves the same lookups",
                    i.keys.join(", "),
                    by.qualified(),
                    by.keys.join(", ")
                ),
                fix_sql: i.drop_sql(),
            })
        })
        .collect()
}
