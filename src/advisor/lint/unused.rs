//! Unused indexes: never scanned since the usage counters started (the
//! statistics reset, or the server start), not unique, not a primary key,
//! backing no constraint. The counters' age is part of the finding: an
//! index unused for a day may serve a monthly report.

use super::{Finding, IndexRow, LintKind};
use crate::units;

pub fn find(indexes: &[IndexRow], since: &str) -> Vec<Finding> {
    indexes
        .iter()
        .filter(|i| i.valid && i.scans == 0 && !i.unique && !i.primary && i.constraint.is_none())
        .map(|i| Finding {
            kind: LintKind::Unused,
            index: Some(i.qualified()),
            table: i.table_display(),
            columns: i.keys.clone(),
            detail: format!(
                "idx_scan = 0 since {since}; {} that every write maintains (check replicas' usage before dropping)",
                units::bytes(i.size_bytes.max(0) as u64)
            ),
            fix_sql: i.drop_sql(),
        })
        .collect()
}
