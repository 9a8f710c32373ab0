//! Per-tenant figures for a page of tenants, asked for after the page
//! itself so the list never waits for them: rows in the largest tenant
//! tables (each counted up to [`EST_CAP`], so a lower bound), their size
//! (those rows × the table's average row size: an estimate), and the latest
//! activity where the schema has an index on (tenant, timestamp) to read it
//! from cheaply.

use super::list::sized_tables;
use super::meta::{self, TenantsMeta};
use super::EST_CAP;
use crate::config::SchemaMap;
use crate::conn::sql::{quote_ident, text_array, QualName};
use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;

/// What the figures are read from, found once per listing.
#[derive(Debug, Clone)]
pub struct Sources {
    id_type: String,
    tenant_column: String,
    /// The largest tenant tables with their average row size in bytes.
    pub tables: Vec<(QualName, f64)>,
    /// Table and timestamp column of the latest activity, when an index
    /// leads with the tenant column and then that column.
    pub activity: Option<(QualName, String)>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TenantFigures {
    pub id: String,
    /// Rows in `Sources::tables`, each counted up to the cap.
    pub rows: i64,
    /// A table reached the cap: the real count is larger.
    pub rows_capped: bool,
    /// Those rows × each table's average row size: an estimate.
    pub bytes: i64,
    /// RFC 3339 UTC; null without an activity source or any row.
    pub last_activity: Option<String>,
}

const ROW_BYTES_SQL: &str = "
SELECT c.oid::int8, pg_table_size(c.oid)::float8 / GREATEST(c.reltuples, 1)::float8
  FROM pg_class c WHERE c.oid = ANY($1::oid[])";

const ACTIVITY_SQL: &str = "
SELECT n.nspname::text, c.relname::text, a2.attname::text
  FROM pg_index i
  JOIN pg_class c ON c.oid = i.indrelid
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a1 ON a1.attrelid = c.oid AND a1.attnum = i.indkey[0]
  JOIN pg_attribute a2 ON a2.attrelid = c.oid AND a2.attnum = i.indkey[1]
 WHERE n.nspname = $1 AND a1.attname = $2 AND i.indisvalid AND i.indnkeyatts >= 2
   AND a2.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype)
   AND c.oid <> $3::oid AND format_type(a1.atttypid, a1.atttypmod) = $4
 ORDER BY c.reltuples DESC, c.relname LIMIT 1";

pub async fn sources(pg: &Pg, map: &SchemaMap) -> Result<Sources> {
    let m: TenantsMeta = meta::load(pg, map).await?;
    let tables = sized_tables(pg, map, &m).await?;
    let oids = format!(
        "{{{}}}",
        tables
            .iter()
            .map(|t| t.oid.to_string())
            .collect::<Vec<_>>()
            .join(",")
    );
    let oid = m.oid.to_string();
    let size_params = [oids.as_str()];
    let activity_params = [
        map.app_schema.as_str(),
        map.tenant_column.as_str(),
        oid.as_str(),
        m.id.ty.as_str(),
    ];
    let (sizes, activity) = tokio::try_join!(
        pg.rows(ROW_BYTES_SQL, &size_params),
        pg.row_opt(ACTIVITY_SQL, &activity_params)
    )?;
    let per_row = |oid: u32| {
        sizes
            .iter()
            .find(|r| r.get::<_, i64>(0) == i64::from(oid))
            .map_or(0.0, |r| r.get::<_, f64>(1))
    };
    Ok(Sources {
        id_type: m.id.ty.clone(),
        tenant_column: map.tenant_column.clone(),
        tables: tables
            .iter()
            .map(|t| (t.name.clone(), per_row(t.oid)))
            .collect(),
        activity: activity.map(|r| {
            (
                QualName {
                    schema: r.get(0),
                    table: r.get(1),
                },
                r.get(2),
            )
        }),
    })
}

/// The figures of these tenants (ids as text), in one statement.
pub async fn figures(pg: &Pg, src: &Sources, ids: &[String]) -> Result<Vec<TenantFigures>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let tc = quote_ident(&src.tenant_column);
    let mut cols = vec!["u.raw".to_string()];
    for (t, _) in &src.tables {
        cols.push(format!(
            "(SELECT count(*) FROM (SELECT 1 FROM {} x WHERE x.{tc} = i.id LIMIT {}) s)::int8",
            t.sql(),
            EST_CAP + 1
        ));
    }
    cols.push(match &src.activity {
        Some((t, c)) => format!(
            "(SELECT to_char(max(x.{c})::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM {} x WHERE x.{tc} = i.id)",
            t.sql(),
            c = quote_ident(c)
        ),
        None => "NULL::text".into(),
    });
    // The id type comes from the catalog (format_type), not from input.
    let sql = format!(
        "SELECT {} FROM unnest($1::text[]) AS u(raw), LATERAL (SELECT u.raw::{} AS id) i",
        cols.join(", "),
        src.id_type
    );
    let rows = pg.rows(&sql, &[&text_array(ids)]).await?;
    let n = src.tables.len();
    Ok(rows
        .iter()
        .map(|r| {
            let counts: Vec<i64> = (0..n).map(|k| r.get(1 + k)).collect();
            let bytes = counts
                .iter()
                .zip(&src.tables)
                .map(|(c, (_, per_row))| (*c).min(EST_CAP) as f64 * per_row)
                .sum::<f64>();
            TenantFigures {
                id: r.get(0),
                rows: counts.iter().map(|c| (*c).min(EST_CAP)).sum(),
                rows_capped: counts.iter().any(|c| *c > EST_CAP),
                bytes: bytes.round() as i64,
                last_activity: r.get(n + 1),
            }
        })
        .collect())
}
