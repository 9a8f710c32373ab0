//! Which verified candidates become suggestions. A candidate must halve
//! the cost of at least one statement; candidates that serve more
//! statements are taken first, and a later one is dropped when every
//! statement it helps is already served about as well by one taken before
//! (on the same table). Heuristic candidates, having no costs, are merged
//! instead: one whose keys lead a wider candidate's (same method and
//! predicate) gives its statements to the wider one.

use super::candidates::Candidate;
use super::heuristic::MIN_COST;
use super::VerifiedBy;

/// A cut below this is not worth an index.
pub const MIN_RATIO: f64 = 2.0;
/// "About as well": within this factor of the other's cost.
const AS_WELL: f64 = 1.25;

#[derive(Debug, Clone)]
pub struct Eval {
    pub cand: Candidate,
    /// Per statement (workload position): cost before, cost after.
    pub costs: Vec<(usize, f64, Option<f64>)>,
    pub size_bytes: i64,
    pub measured_size: bool,
    pub verified: VerifiedBy,
}

impl Eval {
    /// The statements this candidate cuts enough (all listed, for heuristics).
    pub fn gains(&self) -> Vec<(usize, f64, Option<f64>)> {
        self.costs
            .iter()
            .filter(|(_, before, after)| match after {
                Some(a) => *before >= MIN_COST && *a * MIN_RATIO <= *before,
                None => true,
            })
            .cloned()
            .collect()
    }

    fn after(&self, stmt: usize) -> Option<f64> {
        self.costs
            .iter()
            .find(|(s, _, _)| *s == stmt)
            .and_then(|(_, _, a)| *a)
    }

    fn saved(&self) -> f64 {
        self.gains()
            .iter()
            .map(|(_, b, a)| b - a.unwrap_or(0.0))
            .sum()
    }
}

fn leads(short: &Candidate, long: &Candidate) -> bool {
    short.table == long.table
        && short.method == long.method
        && short.predicate == long.predicate
        && short.keys.len() < long.keys.len()
        && long.keys[..short.keys.len()] == short.keys[..]
}

/// The candidates to suggest, best first.
pub fn choose(evals: Vec<Eval>) -> Vec<Eval> {
    let (verified, heuristic): (Vec<Eval>, Vec<Eval>) = evals
        .into_iter()
        .filter(|e| !e.gains().is_empty())
        .partition(|e| e.verified == VerifiedBy::Hypopg);
    let mut verified = verified;
    verified.sort_by(|a, b| {
        b.gains()
            .len()
            .cmp(&a.gains().len())
            .then(b.saved().total_cmp(&a.saved()))
    });
    let mut chosen: Vec<Eval> = Vec::new();
    for e in verified {
        let useful = e.gains().iter().any(|(s, _, a)| {
            let mine = a.unwrap_or(f64::MAX);
            !chosen.iter().any(|c| {
                c.cand.table == e.cand.table
                    && c.after(*s).is_some_and(|theirs| theirs <= mine * AS_WELL)
            })
        });
        if useful {
            chosen.push(e);
        }
    }
    let mut merged: Vec<Eval> = Vec::new();
    for e in &heuristic {
        if heuristic.iter().any(|w| leads(&e.cand, &w.cand)) {
            continue;
        }
        let mut e = e.clone();
        for short in heuristic.iter().filter(|s| leads(&s.cand, &e.cand)) {
            for g in short.gains() {
                if !e.costs.iter().any(|(s, _, _)| *s == g.0) {
                    e.costs.push(g);
                }
            }
        }
        merged.push(e);
    }
    chosen.extend(merged);
    chosen
}
