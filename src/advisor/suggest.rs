//! `indexes suggest`: workload → candidates → verification → choice →
//! suggestions. The catalog reads go out together; the plans run in one
//! transaction of the caller's session (which must not be shared with other
//! work while it runs: the statements form one transaction).

use super::candidates::{self, Candidate, Kind, Method};
use super::catalog::{self, Table};
use super::cost::{self, Probe};
use super::select::{self, Eval};
use super::workload::{self, Item};
use super::{covered, heuristic, hypo, overhead};
use super::{Advice, QueryCost, SuggestOptions, Suggestion, VerifiedBy};
use crate::conn::{Pg, Tx};
use crate::error::Result;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

pub async fn suggest(pg: &Pg, opts: &SuggestOptions) -> Result<Advice> {
    let (items, hypopg) = tokio::try_join!(workload::load(pg, opts.min_calls), hypo::locate(pg))?;
    let written: BTreeSet<String> = items
        .iter()
        .flat_map(|i| i.uses.iter().map(|u| u.table.clone()))
        .collect();
    let written: Vec<String> = written.into_iter().collect();
    let tables = if written.is_empty() {
        HashMap::new()
    } else {
        catalog::tables(pg, &written).await?
    };
    let uses: Vec<(usize, parse_use::Use)> = items
        .iter()
        .enumerate()
        .flat_map(|(i, it)| it.uses.iter().map(move |u| (i, u.clone())))
        .collect();
    let by_name: HashMap<String, Table> =
        tables.values().map(|t| (t.display(), t.clone())).collect();
    let mut cands = candidates::generate(&uses, &tables);
    if let Some(want) = &opts.table {
        cands.retain(|c| {
            by_name
                .get(&c.table)
                .is_some_and(|t| &t.display() == want || &t.name == want)
        });
    }
    let mut covered_by = Vec::new();
    cands.retain(|c| {
        let Some(t) = by_name.get(&c.table) else {
            return false;
        };
        match covered::covering(t, c) {
            Some(i) => {
                covered_by.push(format!("{} → {}", c.name(t), i.name));
                false
            }
            None => true,
        }
    });
    // Statements per table: a candidate is measured on each of them.
    let mut on_table: HashMap<String, BTreeSet<usize>> = HashMap::new();
    for (i, u) in &uses {
        if let Some(t) = tables.get(&u.table) {
            on_table.entry(t.display()).or_default().insert(*i);
        }
    }
    let n_cands = cands.len();
    let tx = pg.begin().await?;
    let evals = verify(&tx, hypopg.as_deref(), &items, &cands, &by_name, &on_table).await;
    if let (Ok(_), Some(schema)) = (&evals, hypopg.as_deref()) {
        hypo::reset(&tx, schema).await?;
    }
    tx.rollback().await;
    let chosen = select::choose(evals?);
    Ok(Advice {
        suggestions: chosen
            .iter()
            .filter_map(|e| Some(suggestion(e, by_name.get(&e.cand.table)?, &items)))
            .collect(),
        hypopg: hypopg.is_some(),
        statements: items.len(),
        candidates: n_cands,
        covered: covered_by,
    })
}

/// Keeps the module path short in signatures above.
mod parse_use {
    pub use crate::advisor::parse::TableUse as Use;
}

fn probe<'a>(items: &'a [Item], c: &'a Candidate, stmt: usize) -> Probe<'a> {
    Probe {
        sql: &items[stmt].statement.query,
        subst: c.subst.get(&stmt).map(Vec::as_slice).unwrap_or(&[]),
    }
}

async fn verify(
    tx: &Tx<'_>,
    hypopg: Option<&str>,
    items: &[Item],
    cands: &[Candidate],
    tables: &HashMap<String, Table>,
    on_table: &HashMap<String, BTreeSet<usize>>,
) -> Result<Vec<Eval>> {
    cost::generic_plans(tx).await?;
    // Baselines: plain, and with each partial candidate's constants fixed.
    let mut baseline: HashMap<usize, (f64, Value)> = HashMap::new();
    let wanted: BTreeSet<usize> = cands
        .iter()
        .flat_map(|c| on_table.get(&c.table).into_iter().flatten().copied())
        .collect();
    let wanted: Vec<usize> = wanted.into_iter().collect();
    let plain: Vec<Probe> = wanted
        .iter()
        .map(|&s| Probe {
            sql: &items[s].statement.query,
            subst: &[],
        })
        .collect();
    for (&s, plan) in wanted.iter().zip(cost::plan_each(tx, &plain).await?) {
        if let Some(plan) = plan {
            baseline.insert(s, (cost::cost_of(&plan), plan));
        }
    }
    let fixed_keys: Vec<(usize, usize)> = cands
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| c.subst.keys().map(move |&s| (ci, s)))
        .collect();
    let fixed_probes: Vec<Probe> = fixed_keys
        .iter()
        .map(|&(ci, s)| probe(items, &cands[ci], s))
        .collect();
    let mut fixed: HashMap<(usize, usize), f64> = HashMap::new();
    for (k, plan) in fixed_keys
        .iter()
        .zip(cost::plan_each(tx, &fixed_probes).await?)
    {
        if let Some(plan) = plan {
            fixed.insert(*k, cost::cost_of(&plan));
        }
    }
    let before = |ci: usize, s: usize| -> Option<f64> {
        fixed
            .get(&(ci, s))
            .copied()
            .or_else(|| baseline.get(&s).map(|b| b.0))
    };
    let mut evals = Vec::new();
    for (ci, c) in cands.iter().enumerate() {
        let Some(t) = tables.get(&c.table) else {
            continue;
        };
        let targets: Vec<usize> = on_table
            .get(&c.table)
            .into_iter()
            .flatten()
            .copied()
            .filter(|s| before(ci, *s).is_some())
            .collect();
        let eval = match hypopg {
            Some(schema) if hypo::supports(c.method) && !targets.is_empty() => {
                let probes: Vec<Probe> = targets.iter().map(|s| probe(items, c, *s)).collect();
                let sql = c.create_sql(t, false, None);
                let Some((h, after)) = hypothetical(tx, schema, &sql, &probes).await? else {
                    continue;
                };
                Eval {
                    cand: c.clone(),
                    costs: targets
                        .iter()
                        .zip(after)
                        .filter_map(|(s, a)| Some((*s, before(ci, *s)?, Some(a))))
                        .collect(),
                    size_bytes: h.size_bytes,
                    measured_size: true,
                    verified: VerifiedBy::Hypopg,
                }
            }
            _ => Eval {
                cand: c.clone(),
                costs: heuristic::judge(c, t, &baseline),
                size_bytes: overhead::estimate_size(t, c),
                measured_size: false,
                verified: VerifiedBy::Heuristic,
            },
        };
        evals.push(eval);
    }
    Ok(evals)
}

/// Costs of `probes` with the hypothetical index `sql`, or None when
/// HypoPG or the planner rejects it (an odd type, an expression without an
/// operator class): a savepoint keeps the transaction, and what the failed
/// attempt left (the hypothetical index, prepared statements, which no
/// rollback removes) is cleared before going on.
async fn hypothetical(
    tx: &Tx<'_>,
    schema: &str,
    sql: &str,
    probes: &[Probe<'_>],
) -> Result<Option<(hypo::Hypothetical, Vec<f64>)>> {
    tx.rows("SAVEPOINT opsdeck_candidate", &[]).await?;
    let attempt = async {
        let h = hypo::create(tx, schema, sql).await?;
        let after = cost::costs(tx, probes).await?;
        hypo::drop(tx, schema, &h).await?;
        Ok::<_, crate::Error>((h, after))
    }
    .await;
    match attempt {
        Ok(v) => {
            tx.rows("RELEASE SAVEPOINT opsdeck_candidate", &[]).await?;
            Ok(Some(v))
        }
        Err(e) => {
            tracing::warn!("index advice: skipped candidate {sql}: {e}");
            tx.rows("ROLLBACK TO SAVEPOINT opsdeck_candidate", &[])
                .await?;
            hypo::reset(tx, schema).await?;
            cost::deallocate_leftovers(tx).await?;
            Ok(None)
        }
    }
}

fn reason(e: &Eval, t: &Table) -> String {
    let c = &e.cand;
    let cols = c.column_names().join(", ");
    let what = match c.kind {
        Kind::Gin => format!("jsonb containment (@>) on {cols}: a GIN index with jsonb_path_ops answers it without reading the table"),
        Kind::Brin => {
            let corr = t
                .column(&c.keys[0].column)
                .and_then(|col| col.correlation)
                .unwrap_or(0.0);
            format!(
                "range on {cols} of a large append-only table whose rows lie in {cols} order (correlation {corr:.2}): a BRIN index of a few pages skips the rest of the table"
            )
        }
        Kind::Expression => format!(
            "the statements compare an expression ({cols}); only an index on that expression can serve it"
        ),
        Kind::Partial => format!(
            "the statements only read rows where {}; a partial index on ({cols}) holds just those",
            c.predicate.as_deref().unwrap_or_default().replace('"', "")
        ),
        Kind::Composite if c.method == Method::Btree && c.keys.len() > 1 => format!(
            "equality columns first, then the range or sort column: ({cols}) finds the rows and returns them in order in one index scan"
        ),
        Kind::Composite => format!("the statements filter or join on {cols} and read the table sequentially"),
    };
    let n = e.gains().len();
    let how = match e.verified {
        VerifiedBy::Hypopg => {
            let best = e
                .gains()
                .iter()
                .filter_map(|(_, b, a)| a.map(|a| b / a.max(0.01)))
                .fold(0.0, f64::max);
            format!("; HypoPG: cuts the generic-plan cost of {n} statement(s), up to {best:.0}x")
        }
        VerifiedBy::Heuristic => format!(
            "; heuristic: {n} statement(s) read the table ({:.0} rows) sequentially and the key is selective (not verified by a plan)",
            t.rows
        ),
    };
    format!("{what}{how}")
}

fn suggestion(e: &Eval, t: &Table, items: &[Item]) -> Suggestion {
    let c = &e.cand;
    let name = c.name(t);
    let mut queries: Vec<QueryCost> = e
        .gains()
        .iter()
        .map(|(s, before, after)| {
            let st = &items[*s].statement;
            QueryCost {
                queryid: st.queryid.clone(),
                query: st.query.clone(),
                calls: st.calls,
                cost_before: *before,
                cost_after: *after,
            }
        })
        .collect();
    queries.sort_by(|a, b| b.cost_before.total_cmp(&a.cost_before));
    let (ins, upd, del) = overhead::rates(t);
    Suggestion {
        table: t.display(),
        columns: c.column_names(),
        method: c.method.as_str().to_string(),
        predicate: c.predicate.as_ref().map(|p| p.replace('"', "")),
        create_sql: c.create_sql(t, true, Some(&name)),
        reason: reason(e, t),
        queries,
        verified_by: e.verified,
        write_overhead: overhead::describe(t, c, e.size_bytes, e.measured_size),
        estimated_size_bytes: e.size_bytes,
        writes_per_second: ins + upd + del,
        name,
    }
}
