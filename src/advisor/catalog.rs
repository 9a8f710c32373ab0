//! What the advisor knows about the tables a workload reads, from the
//! catalog and statistics only (never the tables themselves): size,
//! columns, existing indexes, per-column statistics and write counts. The
//! four queries are independent and go out together.

use crate::conn::sql::text_array;
use crate::conn::Pg;
use crate::error::Result;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    /// `format_type` of the column: `jsonb`, `timestamp with time zone`, …
    pub type_name: String,
    pub avg_width: Option<i32>,
    pub n_distinct: Option<f32>,
    pub correlation: Option<f32>,
    /// The most common value and its frequency, as text.
    pub top_value: Option<(String, f32)>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Index {
    pub name: String,
    pub method: String,
    /// Key columns or expressions, as `pg_get_indexdef` prints them.
    pub keys: Vec<String>,
    pub predicate: Option<String>,
    pub unique: bool,
    pub valid: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub oid: u32,
    pub schema: String,
    pub name: String,
    pub rows: f64,
    pub pages: i64,
    pub columns: Vec<Column>,
    pub indexes: Vec<Index>,
    pub inserts: i64,
    pub updates: i64,
    pub deletes: i64,
    /// Seconds the counters above have been counting.
    pub stats_secs: f64,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `schema.table` as operators read it.
    pub fn display(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    /// Rows only ever added: few updates and deletes next to the inserts.
    pub fn append_only(&self) -> bool {
        (self.updates + self.deletes) as f64 <= 0.05 * self.inserts.max(1) as f64
    }
}

/// The tables `written` names (as a query writes them, resolved on the
/// session's search_path), by the name as written. Names that resolve to no
/// ordinary table are left out.
pub async fn tables(pg: &Pg, written: &[String]) -> Result<HashMap<String, Table>> {
    let names = text_array(written);
    let resolve = "WITH n AS (SELECT w, to_regclass(w) AS oid FROM unnest($1::text[]) w)
         SELECT n.w, c.oid::int8, s.nspname::text, c.relname::text, c.reltuples::float8,
                c.relpages::int8,
                coalesce(t.n_tup_ins, 0), coalesce(t.n_tup_upd, 0), coalesce(t.n_tup_del, 0),
                extract(epoch FROM now() - coalesce(
                  (SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                  pg_postmaster_start_time()))::float8
         FROM n JOIN pg_class c ON c.oid = n.oid
         JOIN pg_namespace s ON s.oid = c.relnamespace
         LEFT JOIN pg_stat_user_tables t ON t.relid = c.oid
         WHERE c.relkind IN ('r', 'p', 'm')";
    let oids = "SELECT DISTINCT to_regclass(w)::oid FROM unnest($1::text[]) w";
    let columns = format!(
        "SELECT a.attrelid::int8, a.attname::text, format_type(a.atttypid, a.atttypmod),
                st.avg_width, st.n_distinct, st.correlation,
                (st.most_common_vals::text::text[])[1], st.most_common_freqs[1]
         FROM pg_attribute a
         JOIN pg_class c ON c.oid = a.attrelid
         JOIN pg_namespace s ON s.oid = c.relnamespace
         LEFT JOIN pg_stats st ON st.schemaname = s.nspname AND st.tablename = c.relname
                               AND st.attname = a.attname AND NOT st.inherited
         WHERE a.attrelid IN ({oids}) AND a.attnum > 0 AND NOT a.attisdropped
         ORDER BY a.attrelid, a.attnum"
    );
    let indexes = format!(
        "SELECT i.indrelid::int8, ic.relname::text, am.amname::text,
                ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                      FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
                pg_get_expr(i.indpred, i.indrelid, true), i.indisunique, i.indisvalid
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_am am ON am.oid = ic.relam
         WHERE i.indrelid IN ({oids})
         ORDER BY ic.relname"
    );
    let params: [&str; 1] = [&names];
    let (t, c, i) = tokio::try_join!(
        pg.rows(resolve, &params),
        pg.rows(&columns, &params),
        pg.rows(&indexes, &params),
    )?;
    let mut cols: HashMap<u32, Vec<Column>> = HashMap::new();
    for r in &c {
        let top = match (r.get::<_, Option<String>>(6), r.get::<_, Option<f32>>(7)) {
            (Some(v), Some(f)) => Some((v, f)),
            _ => None,
        };
        cols.entry(r.get::<_, i64>(0) as u32)
            .or_default()
            .push(Column {
                name: r.get(1),
                type_name: r.get(2),
                avg_width: r.get(3),
                n_distinct: r.get(4),
                correlation: r.get(5),
                top_value: top,
            });
    }
    let mut idx: HashMap<u32, Vec<Index>> = HashMap::new();
    for r in &i {
        idx.entry(r.get::<_, i64>(0) as u32)
            .or_default()
            .push(Index {
                name: r.get(1),
                method: r.get(2),
                keys: r.get(3),
                predicate: r.get(4),
                unique: r.get(5),
                valid: r.get(6),
            });
    }
    Ok(t.iter()
        .map(|r| {
            let oid = r.get::<_, i64>(1) as u32;
            (
                r.get::<_, String>(0),
                Table {
                    oid,
                    schema: r.get(2),
                    name: r.get(3),
                    rows: r.get::<_, f64>(4).max(0.0),
                    pages: r.get(5),
                    columns: cols.get(&oid).cloned().unwrap_or_default(),
                    indexes: idx.get(&oid).cloned().unwrap_or_default(),
                    inserts: r.get(6),
                    updates: r.get(7),
                    deletes: r.get(8),
                    stats_secs: r.get::<_, Option<f64>>(9).unwrap_or(0.0),
                },
            )
        })
        .collect())
}
