//! Generic-plan costs of workload statements inside the caller's
//! transaction (the one that holds any hypothetical indexes): PREPARE under
//! `plan_cache_mode = force_generic_plan`, EXPLAIN EXECUTE with NULL for
//! every parameter, DEALLOCATE. Each probe prepares afresh: a prepared
//! statement keeps its first generic plan, which would hide an index added
//! after it. A partial candidate's probe may fix parameters to the
//! predicate's constants (`status <> $2` as `status <> 'closed'`); those
//! are declared `text` so the numbering stays whole.

use crate::conn::sql::quote_ident;
use crate::conn::Tx;
use crate::error::Result;
use crate::queries::explain::param_count;
use crate::queries::own::MARK;
use futures_util::future::try_join_all;
use serde_json::Value;

/// One statement to plan: its text and the parameters to fix.
#[derive(Debug, Clone)]
pub struct Probe<'a> {
    pub sql: &'a str,
    pub subst: &'a [(usize, String)],
}

/// Replaces `$n` tokens (not `$12` for `$1`) by their literal.
fn substituted(sql: &str, subst: &[(usize, String)]) -> String {
    let mut out = String::with_capacity(sql.len());
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
            let mut j = i + 1;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            let n: usize = sql[i + 1..j].parse().unwrap_or(0);
            match subst.iter().find(|(k, _)| *k == n) {
                Some((_, lit)) => out.push_str(lit),
                None => out.push_str(&sql[i..j]),
            }
            i = j;
        } else {
            let ch = sql[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

struct Prepared {
    name: String,
    prepare: String,
    execute: String,
}

fn prepared(p: &Probe<'_>, tag: usize) -> Prepared {
    let n = param_count(p.sql);
    let name = format!("opsdeck_advise_{:08x}_{tag}", rand::random::<u32>());
    let types = if p.subst.is_empty() || n == 0 {
        String::new()
    } else {
        let t: Vec<&str> = (1..=n)
            .map(|k| {
                if p.subst.iter().any(|(s, _)| *s == k) {
                    "text"
                } else {
                    "unknown"
                }
            })
            .collect();
        format!("({})", t.join(", "))
    };
    let body = substituted(p.sql, p.subst);
    let args = if n == 0 {
        String::new()
    } else {
        format!("({})", vec!["NULL"; n].join(", "))
    };
    Prepared {
        prepare: format!("PREPARE {MARK} {name}{types} AS {body}"),
        execute: format!("EXPLAIN {MARK} (FORMAT JSON) EXECUTE {name}{args}"),
        name,
    }
}

/// The total cost of a plan.
pub fn cost_of(plan: &Value) -> f64 {
    plan.get(0)
        .and_then(|p| p.get("Plan"))
        .and_then(|p| p.get("Total Cost"))
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// Turns on generic plans for the rest of the transaction.
pub async fn generic_plans(tx: &Tx<'_>) -> Result<()> {
    tx.rows("SET LOCAL plan_cache_mode = force_generic_plan", &[])
        .await?;
    Ok(())
}

/// The plan of one statement, or None when it cannot be planned (it is
/// not a plannable statement, its parameters' types cannot be inferred, a
/// table is gone): a savepoint keeps the transaction usable.
pub async fn plan_one(tx: &Tx<'_>, p: &Probe<'_>) -> Result<Option<Value>> {
    let pr = prepared(p, 0);
    tx.rows("SAVEPOINT opsdeck_advise", &[]).await?;
    if tx.rows(&pr.prepare, &[]).await.is_err() {
        tx.rows("ROLLBACK TO SAVEPOINT opsdeck_advise", &[]).await?;
        return Ok(None);
    }
    let plan = tx.row(&pr.execute, &[]).await.map(|r| r.get::<_, Value>(0));
    if plan.is_err() {
        tx.rows("ROLLBACK TO SAVEPOINT opsdeck_advise", &[]).await?;
    }
    tx.rows(&format!("DEALLOCATE {}", pr.name), &[]).await?;
    tx.rows("RELEASE SAVEPOINT opsdeck_advise", &[]).await?;
    Ok(plan.ok())
}

/// Plans of several statements, pipelined: every PREPARE, then every
/// EXPLAIN, then every DEALLOCATE, three round trips whatever their number.
/// One failure fails them all (and aborts the transaction, or the
/// caller's savepoint).
pub async fn plans(tx: &Tx<'_>, probes: &[Probe<'_>]) -> Result<Vec<Value>> {
    let prepared: Vec<Prepared> = probes
        .iter()
        .enumerate()
        .map(|(i, p)| prepared(p, i))
        .collect();
    try_join_all(prepared.iter().map(|p| tx.rows(&p.prepare, &[]))).await?;
    let plans = try_join_all(prepared.iter().map(|p| tx.row(&p.execute, &[]))).await?;
    let deallocs: Vec<String> = prepared
        .iter()
        .map(|p| format!("DEALLOCATE {}", p.name))
        .collect();
    try_join_all(deallocs.iter().map(|d| tx.rows(d, &[]))).await?;
    Ok(plans.iter().map(|r| r.get::<_, Value>(0)).collect())
}

/// The total costs of [`plans`].
pub async fn costs(tx: &Tx<'_>, probes: &[Probe<'_>]) -> Result<Vec<f64>> {
    Ok(plans(tx, probes).await?.iter().map(cost_of).collect())
}

/// The plan of each statement, None for those that cannot be planned: all
/// at once when every one plans (the usual case, three round trips), else
/// one by one.
pub async fn plan_each(tx: &Tx<'_>, probes: &[Probe<'_>]) -> Result<Vec<Option<Value>>> {
    tx.rows("SAVEPOINT opsdeck_plans", &[]).await?;
    match plans(tx, probes).await {
        Ok(all) => {
            tx.rows("RELEASE SAVEPOINT opsdeck_plans", &[]).await?;
            Ok(all.into_iter().map(Some).collect())
        }
        Err(_) => {
            tx.rows("ROLLBACK TO SAVEPOINT opsdeck_plans", &[]).await?;
            deallocate_leftovers(tx).await?;
            let mut out = Vec::with_capacity(probes.len());
            for p in probes {
                out.push(plan_one(tx, p).await?);
            }
            Ok(out)
        }
    }
}

/// Deallocates the probes' prepared statements a failure left behind
/// (PREPARE is not undone by a rollback).
pub async fn deallocate_leftovers(tx: &Tx<'_>) -> Result<()> {
    let rows = tx
        .rows(
            "SELECT name FROM pg_prepared_statements WHERE name LIKE 'opsdeck\\_advise\\_%'",
            &[],
        )
        .await?;
    for r in rows {
        let name: String = r.get(0);
        tx.rows(&format!("DEALLOCATE {}", quote_ident(&name)), &[])
            .await?;
    }
    Ok(())
}

/// Whether a plan scans `schema.table` sequentially somewhere.
pub fn seq_scans(plan: &Value, schema: &str, table: &str) -> bool {
    fn walk(n: &Value, schema: &str, table: &str) -> bool {
        let here = n.get("Node Type").and_then(Value::as_str) == Some("Seq Scan")
            && n.get("Relation Name").and_then(Value::as_str) == Some(table)
            && n.get("Schema")
                .and_then(Value::as_str)
                .is_none_or(|s| s == schema);
        here || n
            .get("Plans")
            .and_then(Value::as_array)
            .is_some_and(|c| c.iter().any(|c| walk(c, schema, table)))
    }
    plan.get(0)
        .and_then(|p| p.get("Plan"))
        .is_some_and(|p| walk(p, schema, table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitution_keeps_other_parameters() {
        let s = substituted(
            "SELECT * FROM t WHERE a = $1 AND s <> $2 AND b = $12",
            &[(2, "'closed'".into()), (1, "'x'".into())],
        );
        assert_eq!(
            s,
            "SELECT * FROM t WHERE a = 'x' AND s <> 'closed' AND b = $12"
        );
        let p = prepared(
            &Probe {
                sql: "SELECT * FROM t WHERE a = $1 AND s <> $2",
                subst: &[(2, "'closed'".into())],
            },
            3,
        );
        assert!(p.prepare.contains("(unknown, text) AS"), "{}", p.prepare);
        assert!(p.execute.ends_with("(NULL, NULL)"), "{}", p.execute);
    }

    #[test]
    fn finds_sequential_scans_in_a_plan() {
        let plan: Value = serde_json::json!([{"Plan": {"Node Type": "Gather", "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "events", "Schema": "public"}]}}]);
        assert!(seq_scans(&plan, "public", "events"));
        assert!(!seq_scans(&plan, "public", "users"));
        assert_eq!(
            cost_of(&serde_json::json!([{"Plan": {"Total Cost": 12.5}}])),
            12.5
        );
    }
}
