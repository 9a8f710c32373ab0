//! What an index costs to keep: the table's write rate since the statistics
//! were reset, and the index's size (HypoPG's estimate when it made one,
//! else one from row counts and column widths).

use super::candidates::{Candidate, Method};
use super::catalog::Table;
use crate::units;

const PAGE: f64 = 8192.0;

/// Estimated size in bytes from statistics: btree leaf tuples at 90% fill,
/// BRIN one small summary per 128 pages, GIN a fraction of the jsonb.
pub fn estimate_size(t: &Table, c: &Candidate) -> i64 {
    let width: f64 = c
        .keys
        .iter()
        .map(|k| {
            t.column(&k.column)
                .and_then(|col| col.avg_width)
                .unwrap_or(8) as f64
        })
        .sum();
    let rows = t.rows.max(1.0);
    let bytes = match c.method {
        Method::Btree => (rows * (width + 16.0) / (PAGE * 0.9)).ceil() * PAGE,
        Method::Brin => ((t.pages as f64 / 128.0 / 500.0).ceil() + 2.0) * PAGE,
        Method::Gin => (rows * width * 0.3 / PAGE).ceil() * PAGE,
    };
    bytes as i64
}

/// Writes per second on the table (inserts, updates, deletes).
pub fn rates(t: &Table) -> (f64, f64, f64) {
    let secs = t.stats_secs.max(1.0);
    (
        t.inserts as f64 / secs,
        t.updates as f64 / secs,
        t.deletes as f64 / secs,
    )
}

/// The `write_overhead` sentence.
pub fn describe(t: &Table, c: &Candidate, size_bytes: i64, measured: bool) -> String {
    let (ins, upd, del) = rates(t);
    let cost = match c.method {
        Method::Brin => "a BRIN summary is updated only when a new page range fills, so inserts barely notice it",
        Method::Gin => "GIN defers insertions to its pending list; expect slower writes of the jsonb column and periodic cleanup",
        Method::Btree => "every insert, and every update of an indexed column, also writes this index",
    };
    format!(
        "{}: {ins:.1} inserts/s, {upd:.1} updates/s, {del:.1} deletes/s since the statistics reset; index size {} {} ({}); {cost}",
        t.display(),
        if measured { "about" } else { "estimated at" },
        units::bytes(size_bytes.max(0) as u64),
        if measured { "HypoPG" } else { "from row count and column widths" },
    )
}
