//! `queries reset-stats`: pg_stat_statements_reset for the current database,
//! a destructive change (the history is gone) through the safety layer.

use super::own::MARK;
use super::stat_statements::{explain_error, Pss};
use crate::conn::Pg;
use crate::error::Result;
use crate::safety::{Authorized, Intent, Mutation, Risk};
use serde::Serialize;
use serde_json::json;

pub const ACTION: &str = "queries.reset_stats";

/// The intent before anything is looked up (read-only contexts refuse it).
pub fn intent_for(database: &str) -> Intent {
    Intent::new(
        ACTION,
        database,
        Risk::Destructive,
        format!("Reset pg_stat_statements for database '{database}': every statement's counts start from zero."),
    )
}

#[derive(Debug)]
pub struct ResetPlan {
    intent: Intent,
    pss: Pss,
}

impl Mutation for ResetPlan {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

pub fn plan(pss: Pss) -> ResetPlan {
    ResetPlan {
        intent: intent_for(&pss.database)
            .with_params(json!({"database": pss.database, "schema": pss.schema})),
        pss,
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Reset {
    pub database: String,
    /// Only this database's statements (false: an extension older than 1.7
    /// resets every database).
    pub this_database_only: bool,
}

pub async fn apply(pg: &Pg, approved: Authorized<ResetPlan>) -> Result<Reset> {
    approved
        .run(
            |p, _done| async move {
                let scoped = per_database(&p.pss.version);
                let args = if scoped {
                    "0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0"
                } else {
                    ""
                };
                let sql = format!(
                    "SELECT {MARK} {}({args})::text",
                    p.pss.function("pg_stat_statements_reset")
                );
                pg.row(&sql, &[]).await.map_err(explain_error)?;
                Ok(Reset {
                    database: p.pss.database,
                    this_database_only: scoped,
                })
            },
            |r: &Reset| json!({"database": r.database, "this_database_only": r.this_database_only}),
        )
        .await
}

/// Extension 1.7 (PostgreSQL 12) added the (userid, dbid, queryid) arguments.
fn per_database(version: &str) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major, minor) >= (1, 7)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_with_arguments() {
        assert!(super::per_database("1.10"));
        assert!(super::per_database("1.7"));
        assert!(!super::per_database("1.6"));
        assert!(super::per_database("2.0"));
    }
}
