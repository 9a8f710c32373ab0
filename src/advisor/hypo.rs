//! HypoPG: hypothetical indexes the planner sees in EXPLAIN and nobody else
//! does. They live in the backend's memory, not in a transaction, so every
//! use here runs inside the advisor's one transaction and ends with
//! `hypopg_reset()` before it rolls back: behind a transaction pooler the
//! server connection goes to another client afterwards, and nothing of
//! ours may be left on it. HypoPG does not support GIN; those candidates
//! are judged by the heuristics.

use super::candidates::Method;
use crate::conn::sql::quote_ident;
use crate::conn::{Pg, Tx};
use crate::error::Result;

/// The schema HypoPG's functions are in, when the extension is created here.
pub async fn locate(pg: &Pg) -> Result<Option<String>> {
    let row = pg
        .row_opt(
            "SELECT n.nspname::text FROM pg_extension e
             JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'hypopg'",
            &[],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Whether HypoPG can build this kind of index.
pub fn supports(m: Method) -> bool {
    matches!(m, Method::Btree | Method::Brin)
}

/// How to install HypoPG, for the note when it is absent.
pub fn install_hint(major: u32) -> String {
    format!(
        "index suggestions are heuristic: HypoPG is not installed in this database; for verified before/after costs install the package postgresql-{major}-hypopg (Debian/Ubuntu; hypopg_{major} on RHEL) on the server, then run CREATE EXTENSION hypopg; in this database"
    )
}

/// A hypothetical index made for one candidate.
pub struct Hypothetical {
    pub oid: String,
    pub size_bytes: i64,
}

pub async fn create(tx: &Tx<'_>, schema: &str, create_sql: &str) -> Result<Hypothetical> {
    let s = quote_ident(schema);
    let row = tx
        .row(
            &format!(
                "SELECT h.indexrelid::text, {s}.hypopg_relation_size(h.indexrelid)::int8
                 FROM {s}.hypopg_create_index($1::text) h"
            ),
            &[create_sql],
        )
        .await?;
    Ok(Hypothetical {
        oid: row.get(0),
        size_bytes: row.get(1),
    })
}

pub async fn drop(tx: &Tx<'_>, schema: &str, h: &Hypothetical) -> Result<()> {
    tx.rows(
        &format!("SELECT {}.hypopg_drop_index($1::oid)", quote_ident(schema)),
        &[&h.oid],
    )
    .await?;
    Ok(())
}

pub async fn reset(tx: &Tx<'_>, schema: &str) -> Result<()> {
    tx.rows(
        &format!("SELECT {}.hypopg_reset()", quote_ident(schema)),
        &[],
    )
    .await?;
    Ok(())
}
