//! Index advice (DESIGN.md section 6). `suggest`: the workload from
//! pg_stat_statements ([`workload`]), parsed into per-table predicates
//! ([`parse`]), candidates from them ([`candidates`]) minus what existing
//! indexes already serve ([`covered`]), each verified by generic-plan cost
//! before and after a HypoPG hypothetical index ([`hypo`], [`cost`]), or
//! judged by [`heuristic`] where HypoPG is absent; the survivors chosen so
//! that one index serving several statements beats several ([`select`]).
//! `lint`: problems with the indexes that exist ([`lint`]). `create`: a
//! suggestion built CONCURRENTLY through the safety layer ([`create`]).

pub mod candidates;
pub mod catalog;
pub mod cost;
pub mod covered;
pub mod create;
pub mod heuristic;
pub mod hypo;
pub mod lint;
pub mod overhead;
pub mod parse;
pub mod select;
pub mod suggest;
pub mod workload;

pub use create::{CreatePlan, Created};
pub use lint::{Finding, LintKind};

use serde::Serialize;

/// One statement a suggestion serves (**contract** field names).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueryCost {
    pub queryid: String,
    pub query: String,
    pub calls: i64,
    pub cost_before: f64,
    /// The generic plan's cost with the index; null when not verified
    /// (heuristic suggestions).
    pub cost_after: Option<f64>,
}

/// How a suggestion was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifiedBy {
    Hypopg,
    Heuristic,
}

/// An index worth creating (**contract**: the fields of DESIGN.md section 3,
/// plus `name`, `estimated_size_bytes` and `writes_per_second`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub method: String,
    #[serde(rename = "where")]
    pub predicate: Option<String>,
    pub create_sql: String,
    pub reason: String,
    pub queries: Vec<QueryCost>,
    pub verified_by: VerifiedBy,
    pub write_overhead: String,
    pub estimated_size_bytes: i64,
    pub writes_per_second: f64,
}

impl Suggestion {
    /// The best cost cut among its statements (before / after), when verified.
    pub fn best_ratio(&self) -> Option<f64> {
        self.queries
            .iter()
            .filter_map(|q| q.cost_after.map(|a| q.cost_before / a.max(0.01)))
            .max_by(f64::total_cmp)
    }
}

/// What `indexes suggest` asks for.
#[derive(Debug, Clone)]
pub struct SuggestOptions {
    /// Statements called fewer times are not considered.
    pub min_calls: i64,
    /// Only suggestions for this table (`name` or `schema.name`).
    pub table: Option<String>,
}

/// Suggestions plus what the front ends say about how they were found.
#[derive(Debug, Clone)]
pub struct Advice {
    pub suggestions: Vec<Suggestion>,
    /// HypoPG was there (GIN suggestions are heuristic even then).
    pub hypopg: bool,
    pub statements: usize,
    pub candidates: usize,
    /// Candidates an existing index already serves, as `candidate → index`.
    pub covered: Vec<String>,
}

pub use suggest::suggest;
