//! Bloated btree indexes, by estimate: the size a fresh build would take
//! (row count and key widths from statistics) against the size on disk.
//! It is an estimate, and says so; pgstattuple measures exactly.

use super::{Finding, IndexRow, LintKind};
use crate::units;

/// Less wasted space than this is not worth a rebuild.
const MIN_BLOAT_BYTES: i64 = 1024 * 1024;
/// Share of the index that must be waste.
const MIN_SHARE: f64 = 0.5;

pub fn find(indexes: &[IndexRow]) -> Vec<Finding> {
    indexes
        .iter()
        .filter(|i| i.valid && i.method == "btree")
        .filter_map(|i| {
            let waste = i.size_bytes - i.expected_bytes;
            let share = waste as f64 / i.size_bytes.max(1) as f64;
            (waste >= MIN_BLOAT_BYTES && share >= MIN_SHARE).then(|| Finding {
                kind: LintKind::Bloated,
                index: Some(i.qualified()),
                table: i.table_display(),
                columns: i.keys.clone(),
                detail: format!(
                    "estimated {:.0}% bloat: {} on disk where a fresh build would take about {} (an estimate from row count and column widths; pgstattuple measures exactly)",
                    share * 100.0,
                    units::bytes(i.size_bytes.max(0) as u64),
                    units::bytes(i.expected_bytes.max(0) as u64)
                ),
                fix_sql: format!("REINDEX INDEX CONCURRENTLY {};", i.sql_name()),
            })
        })
        .collect()
}
