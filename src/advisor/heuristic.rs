//! Judging a candidate without HypoPG (or one HypoPG cannot build: GIN):
//! keep it when a statement it came from reads the table sequentially in
//! its generic plan at a real cost, and its keys pick out few rows by the
//! column statistics. Without a hypothetical plan nothing says how much
//! cheaper the statement gets, or whether the planner would choose the index
//! over another, so these suggestions carry no `cost_after`.

use super::candidates::{Candidate, Method};
use super::catalog::Table;
use super::cost::seq_scans;
use serde_json::Value;
use std::collections::HashMap;

/// A statement cheaper than this is not worth an index.
pub const MIN_COST: f64 = 100.0;
/// Keys that match more than this share of rows leave a scan cheaper.
const MAX_SELECTIVITY: f64 = 0.05;
/// What the planner assumes for a range with unknown bounds (`a > $1 AND a < $2`).
const RANGE_SELECTIVITY: f64 = 0.005;

/// The share of rows the candidate's keys select, from n_distinct.
fn selectivity(c: &Candidate, t: &Table) -> f64 {
    if c.method != Method::Btree {
        return RANGE_SELECTIVITY;
    }
    c.keys
        .iter()
        .map(
            |k| match t.column(&k.column).and_then(|col| col.n_distinct) {
                Some(n) if n < 0.0 => 1.0 / (-(n as f64) * t.rows).max(1.0),
                Some(n) if n > 0.0 => 1.0 / n as f64,
                _ => RANGE_SELECTIVITY,
            },
        )
        .product()
}

/// The statements (with their cost before) for which `c` looks worth it.
pub fn judge(
    c: &Candidate,
    t: &Table,
    baseline: &HashMap<usize, (f64, Value)>,
) -> Vec<(usize, f64, Option<f64>)> {
    if selectivity(c, t) > MAX_SELECTIVITY {
        return Vec::new();
    }
    c.sources
        .iter()
        .filter_map(|s| {
            let (cost, plan) = baseline.get(s)?;
            (*cost >= MIN_COST && seq_scans(plan, &t.schema, &t.name)).then_some((*s, *cost, None))
        })
        .collect()
}
