//! Keyset pages of tenants (never OFFSET), with bounded per-tenant size
//! figures.

use super::cursor::Cursor;
use super::meta::{self, TenantsMeta};
use super::{query, ListQuery, SortField, TenantRow, EST_CAP};
use crate::config::SchemaMap;
use crate::conn::Pg;
use crate::error::{Error, Result};
use serde::Serialize;
use tokio_postgres::Row;

/// Tables counted for `est_rows`: the largest tenant tables by the planner's
/// estimate that have an index leading with the tenant column.
const SIZED_TABLES: usize = 3;

/// A status column with more distinct values than this is not an enum of
/// states; the error names the first ones.
const STATUS_LIST_CAP: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub rows: Vec<TenantRow>,
    /// Pass as `--after` for the next page; None on the last page.
    pub next_cursor: Option<String>,
    /// Tables whose bounded counts make up `est_rows` (`schema.table`).
    pub est_tables: Vec<String>,
    /// Each row's own cursor (same order as `rows`), for paging backwards
    /// from the first row or forwards from any row.
    #[serde(skip)]
    pub cursors: Vec<String>,
}

pub(crate) fn params(p: &[String]) -> Vec<&str> {
    p.iter().map(String::as_str).collect()
}

pub(crate) fn row(r: &Row) -> TenantRow {
    TenantRow {
        id: r.get::<_, Option<String>>(0).unwrap_or_default(),
        slug: r.get(1),
        name: r.get(2),
        plan: r.get(3),
        status: r.get(4),
        created_at: r.get(5),
        est_rows: None,
        est_rows_capped: None,
    }
}

pub async fn page(pg: &Pg, map: &SchemaMap, q: &ListQuery) -> Result<Page> {
    if q.limit == 0 {
        return Err(Error::Usage("--limit must be at least 1".into()));
    }
    let m = meta::load(pg, map).await?;
    check_status(pg, &m, q).await?;
    let sized = if q.sizes {
        sized_tables(pg, map, &m).await?
    } else {
        Vec::new()
    };
    let cols: Vec<(String, String)> = sized
        .iter()
        .map(|t| {
            (
                t.name.sql(),
                crate::conn::sql::quote_ident(&map.tenant_column),
            )
        })
        .collect();
    let sql = query::page(&m, q, &cols)?;
    let rows = pg.rows(&sql.text, &params(&sql.params)).await?;
    let more = rows.len() > q.limit;
    let mut out = Vec::with_capacity(q.limit);
    let mut cursors = Vec::with_capacity(q.limit);
    for r in rows.iter().take(q.limit) {
        let mut t = row(r);
        if q.sizes {
            let counts: Vec<i64> = (0..cols.len()).map(|i| r.get(7 + i)).collect();
            t.est_rows = Some(counts.iter().map(|c| (*c).min(EST_CAP)).sum());
            t.est_rows_capped = Some(counts.iter().any(|c| *c > EST_CAP));
        }
        let key = if q.sort == SortField::Id {
            None
        } else {
            r.get::<_, Option<String>>(6)
        };
        cursors.push(
            Cursor {
                field: q.sort,
                desc: q.desc,
                key,
                id: t.id.clone(),
            }
            .encode(),
        );
        out.push(t);
    }
    if q.reversed() {
        out.reverse();
        cursors.reverse();
    }
    // Rows follow the last one when the scan ran forward and found more, or
    // when the page was read backwards from a cursor (the anchor follows).
    let follows = if q.reversed() {
        q.before.is_some()
    } else {
        more
    };
    let next_cursor = if follows {
        cursors.last().cloned()
    } else {
        None
    };
    Ok(Page {
        rows: out,
        next_cursor,
        est_tables: sized.iter().map(|t| t.name.display()).collect(),
        cursors,
    })
}

async fn sized_tables(pg: &Pg, map: &SchemaMap, m: &TenantsMeta) -> Result<Vec<meta::TenantTable>> {
    let mut tables: Vec<_> = meta::tenant_tables(pg, map, m.oid)
        .await?
        .into_iter()
        .filter(|t| t.has_tenant_index && t.column_type == m.id.ty)
        .collect();
    tables.sort_by(|a, b| b.estimated_rows.total_cmp(&a.estimated_rows));
    tables.truncate(SIZED_TABLES);
    Ok(tables)
}

/// Refuses a status filter that cannot match: a label the status enum does
/// not have, or (for a text column) a value neither mapped nor present in
/// the data. The presence check costs what the filtered listing costs, and
/// only runs for values the mapping does not name.
pub(crate) async fn check_status(pg: &Pg, m: &TenantsMeta, q: &ListQuery) -> Result<()> {
    let Some(wanted) = q.status.as_deref() else {
        return Ok(());
    };
    let oid = m.oid.to_string();
    let labels: Vec<String> = pg
        .rows(
            "SELECT e.enumlabel::text FROM pg_attribute a JOIN pg_enum e ON e.enumtypid = a.atttypid
             WHERE a.attrelid = $1::oid AND a.attname = $2 ORDER BY e.enumsortorder",
            &[&oid, &m.status.name],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let valid = if !labels.is_empty() {
        if labels.iter().any(|l| l == wanted) {
            return Ok(());
        }
        labels
    } else {
        if wanted == m.status_active || wanted == m.status_suspended {
            return Ok(());
        }
        let (table, col) = (m.table.sql(), m.status.sql());
        let present: bool = pg
            .row(
                &format!("SELECT EXISTS (SELECT 1 FROM {table} t WHERE t.{col}::text = $1)"),
                &[wanted],
            )
            .await?
            .get(0);
        if present {
            return Ok(());
        }
        let mut valid = vec![m.status_active.clone(), m.status_suspended.clone()];
        let seen = pg
            .rows(
                &format!(
                    "SELECT DISTINCT t.{col}::text FROM {table} t WHERE t.{col} IS NOT NULL ORDER BY 1 LIMIT {STATUS_LIST_CAP}"
                ),
                &[],
            )
            .await?;
        for r in seen {
            let v: String = r.get(0);
            if !valid.contains(&v) {
                valid.push(v);
            }
        }
        valid
    };
    Err(Error::Usage(format!(
        "unknown status '{wanted}' for {}.{}: use one of {}",
        m.table.display(),
        m.status.name,
        valid.join(", ")
    )))
}

/// How many tenants match `q`'s filters, as the planner estimates it: no
/// scan, so it may be off; None when the plan has no estimate.
pub async fn estimated_count(pg: &Pg, map: &SchemaMap, q: &ListQuery) -> Result<Option<u64>> {
    let m = meta::load(pg, map).await?;
    let whole = ListQuery {
        after: None,
        before: None,
        from_end: false,
        ..q.clone()
    };
    let sql = query::stream(&m, &whole, query::Values::Bind, None)?;
    let plan: serde_json::Value = pg
        .row(
            &format!("EXPLAIN (FORMAT JSON) {}", sql.text),
            &params(&sql.params),
        )
        .await?
        .get(0);
    Ok(plan[0]["Plan"]["Plan Rows"]
        .as_f64()
        .map(|n| n.max(0.0).round() as u64))
}
