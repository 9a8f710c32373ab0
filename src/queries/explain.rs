//! Plans for a normalized statement (`$1` parameters, as pg_stat_statements
//! keeps them): a generic plan through PREPARE, `plan_cache_mode =
//! force_generic_plan` and EXPLAIN EXECUTE with NULL for every parameter,
//! in a read-only transaction (`Pg::begin`) that is always rolled back. The prepared
//! statement is deallocated inside that transaction (ROLLBACK does not undo
//! PREPARE), so nothing outlives it behind a transaction pooler. ANALYZE
//! runs only for statements [`sql_text::read_only`] accepts and that call
//! no volatile function, under the context's statement_timeout.

mod sql_text;

pub use sql_text::{param_count, read_only};

use super::own::MARK;
use super::plan::{self, PlanNode};
use super::stat_statements;
use crate::conn::{Pg, Tx};
use crate::error::{Error, Result};
use serde::Serialize;
use serde_json::Value;

/// What to explain: a pg_stat_statements queryid or SQL text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExplainTarget {
    QueryId(String),
    Sql(String),
}

impl ExplainTarget {
    /// A (possibly negative) 64-bit integer is a queryid; anything else is SQL.
    pub fn parse(text: &str) -> ExplainTarget {
        let t = text.trim();
        match t.parse::<i64>() {
            Ok(_) => ExplainTarget::QueryId(t.to_string()),
            Err(_) => ExplainTarget::Sql(t.to_string()),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Explained {
    pub query: String,
    pub params: usize,
    pub analyzed: bool,
    pub nodes: Vec<PlanNode>,
    /// EXPLAIN's own JSON document.
    pub plan: Value,
}

/// Explains `target` on `pg`, a session of the caller's own (the statements
/// form one transaction).
pub async fn explain(pg: &Pg, target: &ExplainTarget, analyze: bool) -> Result<Explained> {
    let query = match target {
        ExplainTarget::Sql(s) => s.clone(),
        ExplainTarget::QueryId(id) => {
            let pss = stat_statements::locate(pg).await?;
            stat_statements::text_of(pg, &pss, id).await?
        }
    };
    let query = query.trim().trim_end_matches(';').trim_end().to_string();
    if query.is_empty() {
        return Err(Error::Usage(
            "nothing to explain: the statement is empty".into(),
        ));
    }
    if analyze {
        read_only(&query).map_err(|why| refuse_analyze(&why))?;
        no_volatile_calls(pg, &query).await?;
    }
    let params = param_count(&query);
    let tx = pg.begin().await?;
    let result = in_transaction(&tx, &query, params, analyze).await;
    // Unconfirmed only when the connection is gone, which rolls back too.
    tx.rollback().await;
    let plan = result?;
    Ok(Explained {
        nodes: plan::flatten(&plan),
        query,
        params,
        analyzed: analyze,
        plan,
    })
}

async fn in_transaction(tx: &Tx<'_>, query: &str, params: usize, analyze: bool) -> Result<Value> {
    tx.rows("SET TRANSACTION READ ONLY", &[]).await?;
    tx.rows("SET LOCAL plan_cache_mode = force_generic_plan", &[])
        .await?;
    let name = format!("opsdeck_explain_{:016x}", rand::random::<u64>());
    tx.rows(&format!("PREPARE {MARK} {name} AS {query}"), &[])
        .await?;
    // A failing EXPLAIN aborts only what follows the savepoint, so the
    // DEALLOCATE still runs inside this transaction.
    tx.rows("SAVEPOINT opsdeck_explain", &[]).await?;
    let args = vec!["NULL"; params].join(", ");
    let options = if analyze {
        "FORMAT JSON, ANALYZE, BUFFERS"
    } else {
        "FORMAT JSON"
    };
    let execute = if params == 0 {
        name.clone()
    } else {
        format!("{name}({args})")
    };
    let explained = tx
        .row(
            &format!("EXPLAIN {MARK} ({options}) EXECUTE {execute}"),
            &[],
        )
        .await
        .map(|r| r.get::<_, Value>(0));
    if explained.is_err() {
        tx.rows("ROLLBACK TO SAVEPOINT opsdeck_explain", &[])
            .await?;
    }
    tx.rows(&format!("DEALLOCATE {name}"), &[]).await?;
    explained
}

fn refuse_analyze(why: &str) -> Error {
    Error::refused(format!(
        "--analyze runs the statement, and opsdeck runs only statements it can prove read-only: {why}; drop --analyze for the plan without running it"
    ))
}

/// Refuses ANALYZE when a function the statement calls by name is volatile
/// in any schema (pg_sleep, nextval, dblink, pg_terminate_backend, …).
async fn no_volatile_calls(pg: &Pg, query: &str) -> Result<()> {
    let names = sql_text::called_functions(query);
    if names.is_empty() {
        return Ok(());
    }
    let list = crate::conn::sql::text_array(&names);
    let sql = format!(
        "SELECT {MARK} string_agg(DISTINCT p.proname::text, ', ' ORDER BY p.proname::text)
         FROM pg_proc p WHERE p.proname = ANY($1::text[]) AND p.provolatile = 'v'"
    );
    let volatile: Option<String> = pg.row(&sql, &[&list]).await?.get(0);
    match volatile {
        Some(v) => Err(refuse_analyze(&format!(
            "it calls volatile function(s) {v}"
        ))),
        None => Ok(()),
    }
}
