//! Index lint: problems with the indexes that exist, one file per kind,
//! all from one catalog read of the database's indexes and foreign keys
//! (two statements sent together). Each finding carries the SQL that fixes it.

mod bloated;
mod catalog;
mod duplicate;
mod invalid;
mod missing_fk;
mod redundant;
mod unused;

use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;

pub use catalog::{ForeignKey, IndexRow};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LintKind {
    Duplicate,
    Redundant,
    Unused,
    Invalid,
    MissingFkIndex,
    Bloated,
}

impl LintKind {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            LintKind::Duplicate => "duplicate",
            LintKind::Redundant => "redundant",
            LintKind::Unused => "unused",
            LintKind::Invalid => "invalid",
            LintKind::MissingFkIndex => "missing_fk_index",
            LintKind::Bloated => "bloated",
        }
    }
}

/// One problem (**contract** field names, DESIGN.md section 3).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub kind: LintKind,
    /// `schema.name` of the index; null for a missing one.
    pub index: Option<String>,
    pub table: String,
    pub columns: Vec<String>,
    pub detail: String,
    pub fix_sql: String,
}

/// What `indexes lint` found, with the age of the usage counters.
#[derive(Debug, Clone)]
pub struct LintReport {
    pub findings: Vec<Finding>,
    /// Since when idx_scan has counted, in words.
    pub stats_since: String,
}

/// Every kind of finding on the database's own schemas.
pub async fn lint(pg: &Pg) -> Result<LintReport> {
    let cat = catalog::load(pg).await?;
    let mut findings = Vec::new();
    findings.extend(duplicate::find(&cat.indexes));
    findings.extend(redundant::find(&cat.indexes));
    findings.extend(unused::find(&cat.indexes, &cat.stats_since));
    findings.extend(invalid::find(&cat.indexes));
    findings.extend(missing_fk::find(&cat.indexes, &cat.foreign_keys));
    findings.extend(bloated::find(&cat.indexes));
    Ok(LintReport {
        findings,
        stats_since: cat.stats_since,
    })
}
