//! Duplicate indexes: the same keys, operator classes, predicate and method
//! on the same table. One is kept (the primary key, then one backing a
//! constraint, then a unique one, then the most used); the others are findings.

use super::{Finding, IndexRow, LintKind};

fn rank(i: &IndexRow) -> (bool, bool, bool, i64) {
    (i.primary, i.constraint.is_some(), i.unique, i.scans)
}

pub fn find(indexes: &[IndexRow]) -> Vec<Finding> {
    let valid: Vec<&IndexRow> = indexes.iter().filter(|i| i.valid).collect();
    let mut out = Vec::new();
    for i in &valid {
        let twins: Vec<&&IndexRow> = valid.iter().filter(|o| o.same_shape(i)).collect();
        if twins.len() < 2 {
            continue;
        }
        let keep = twins
            .iter()
            .max_by(|a, b| rank(a).cmp(&rank(b)).then(b.name.cmp(&a.name)))
            .map(|k| **k);
        let Some(keep) = keep else { continue };
        if keep.name == i.name {
            continue;
        }
        out.push(Finding {
            kind: LintKind::Duplicate,
            index: Some(i.qualified()),
            table: i.table_display(),
            columns: i.keys.clone(),
            detail: format!(
                "same columns, predicate and method as {} (kept); every write maintains both, and {} has had {} scan(s)",
                keep.qualified(),
                i.name,
                i.scans
            ),
            fix_sql: i.drop_sql(),
        });
    }
    out
}
