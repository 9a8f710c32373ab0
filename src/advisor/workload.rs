//! The workload: this database's statements from pg_stat_statements, most
//! total time first, without opsdeck's own (the view's filter drops every
//! statement carrying the mark, the advisor's PREPAREs, EXPLAINs and HypoPG
//! calls included), and with the tables each one reads.

use super::parse::{self, TableUse};
use crate::conn::Pg;
use crate::error::Result;
use crate::queries::stat_statements::{self, SlowQuery, SortKey, Statement};

/// How many statements are looked at: the ones that matter are near the top.
const TOP: u32 = 500;

/// A workload statement with the tables it reads.
#[derive(Debug, Clone)]
pub struct Item {
    pub statement: Statement,
    pub uses: Vec<TableUse>,
}

/// The statements called at least `min_calls` times that read a table in
/// a way an index could serve.
pub async fn load(pg: &Pg, min_calls: i64) -> Result<Vec<Item>> {
    let pss = stat_statements::locate(pg).await?;
    let rows = stat_statements::slow(
        pg,
        &pss,
        SlowQuery {
            sort: SortKey::Total,
            limit: TOP,
        },
    )
    .await?;
    Ok(merge(rows)
        .into_iter()
        .filter(|s| s.calls >= min_calls)
        .filter_map(|statement| {
            let uses = parse::table_uses(&statement.query);
            (!uses.is_empty()).then_some(Item { statement, uses })
        })
        .collect())
}

/// One row per queryid: pg_stat_statements keeps one per role, and the
/// index serves them all.
fn merge(rows: Vec<Statement>) -> Vec<Statement> {
    let mut out: Vec<Statement> = Vec::new();
    for r in rows {
        match out.iter_mut().find(|o| o.queryid == r.queryid) {
            Some(o) => {
                o.calls += r.calls;
                o.total_time_ms += r.total_time_ms;
            }
            None => out.push(r),
        }
    }
    out
}
