//! The catalog read behind lint: every index of the database's own schemas
//! with its keys, predicate, flags, usage and a size estimate from
//! statistics, and every foreign key with its columns.

use crate::conn::sql::quote_ident;
use crate::conn::Pg;
use crate::error::Result;

#[derive(Debug, Clone, PartialEq)]
pub struct IndexRow {
    pub schema: String,
    pub table: String,
    pub name: String,
    pub method: String,
    /// Key columns or expressions as `pg_get_indexdef` prints them.
    pub keys: Vec<String>,
    /// Operator class, collation and options per key, to tell
    /// `text_pattern_ops` or DESC keys apart.
    pub opclasses: Vec<String>,
    pub predicate: Option<String>,
    pub unique: bool,
    pub primary: bool,
    /// Backs a constraint (unique, primary key, exclusion): dropping it needs ALTER TABLE.
    pub constraint: Option<String>,
    pub valid: bool,
    pub scans: i64,
    pub size_bytes: i64,
    /// What the index would take freshly built, from row count and key widths.
    pub expected_bytes: i64,
    pub definition: String,
}

impl IndexRow {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.schema, self.name)
    }

    pub fn table_display(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    pub fn sql_name(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }

    pub fn drop_sql(&self) -> String {
        match &self.constraint {
            Some(c) => format!(
                "ALTER TABLE {}.{} DROP CONSTRAINT {};",
                quote_ident(&self.schema),
                quote_ident(&self.table),
                quote_ident(c)
            ),
            None => format!("DROP INDEX CONCURRENTLY IF EXISTS {};", self.sql_name()),
        }
    }

    /// Same keys, operator classes, predicate and method.
    pub fn same_shape(&self, o: &IndexRow) -> bool {
        self.schema == o.schema
            && self.table == o.table
            && self.method == o.method
            && self.keys == o.keys
            && self.opclasses == o.opclasses
            && self.predicate == o.predicate
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForeignKey {
    pub schema: String,
    pub table: String,
    pub name: String,
    pub columns: Vec<String>,
    pub references: String,
}

pub struct Catalog {
    pub indexes: Vec<IndexRow>,
    pub foreign_keys: Vec<ForeignKey>,
    pub stats_since: String,
}

const OWN_SCHEMAS: &str =
    "n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'opsdeck') AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'";

pub async fn load(pg: &Pg) -> Result<Catalog> {
    let indexes = format!(
        "SELECT n.nspname::text, t.relname::text, ic.relname::text, am.amname::text,
                ARRAY(SELECT pg_get_indexdef(i.indexrelid, k, true)
                      FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
                ARRAY(SELECT i.indclass[k - 1]::text || '/' || i.indcollation[k - 1]::text
                             || '/' || i.indoption[k - 1]::text
                      FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
                pg_get_expr(i.indpred, i.indrelid, true), i.indisunique, i.indisprimary,
                (SELECT c.conname::text FROM pg_constraint c WHERE c.conindid = i.indexrelid
                   AND c.contype IN ('p', 'u', 'x') LIMIT 1),
                i.indisvalid AND i.indisready, coalesce(s.idx_scan, 0),
                pg_relation_size(i.indexrelid),
                -- Leaf tuples (8-byte header plus keys, aligned) at 90% fill,
                -- plus a tenth for inner pages: what a fresh build takes.
                (ceil(greatest(ic.reltuples, 0) * (12 + coalesce((
                   SELECT sum(st.avg_width) FROM pg_attribute a
                   JOIN pg_stats st ON st.schemaname = n.nspname AND st.tablename = t.relname
                                   AND st.attname = a.attname
                   WHERE a.attrelid = t.oid AND a.attnum = ANY(i.indkey)), 8 * i.indnatts))
                   / (8192 * 0.9)) * 1.1 + 2)::int8 * 8192,
                pg_get_indexdef(i.indexrelid)
         FROM pg_index i
         JOIN pg_class ic ON ic.oid = i.indexrelid
         JOIN pg_class t ON t.oid = i.indrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         JOIN pg_am am ON am.oid = ic.relam
         LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = i.indexrelid
         WHERE {OWN_SCHEMAS} AND t.relkind IN ('r', 'm', 'p')
         ORDER BY 1, 2, 3"
    );
    let fks = format!(
        "SELECT n.nspname::text, t.relname::text, c.conname::text,
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
                c.confrelid::regclass::text
         FROM pg_constraint c
         JOIN pg_class t ON t.oid = c.conrelid
         JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE c.contype = 'f' AND {OWN_SCHEMAS}
         ORDER BY 1, 2, 3"
    );
    let since = "SELECT coalesce(
           'the statistics reset at ' || to_char(stats_reset AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             || ' (' || floor(extract(epoch FROM now() - stats_reset) / 86400)::int || ' days ago)',
           'the server started at ' || to_char(pg_postmaster_start_time() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
             || ' (' || floor(extract(epoch FROM now() - pg_postmaster_start_time()) / 86400)::int
             || ' days ago; the statistics were never reset)')
         FROM pg_stat_database WHERE datname = current_database()";
    let (i, f, s) = tokio::try_join!(
        pg.rows(&indexes, &[]),
        pg.rows(&fks, &[]),
        pg.row(since, &[])
    )?;
    Ok(Catalog {
        indexes: i
            .iter()
            .map(|r| IndexRow {
                schema: r.get(0),
                table: r.get(1),
                name: r.get(2),
                method: r.get(3),
                keys: r.get(4),
                opclasses: r.get(5),
                predicate: r.get(6),
                unique: r.get(7),
                primary: r.get(8),
                constraint: r.get(9),
                valid: r.get(10),
                scans: r.get(11),
                size_bytes: r.get(12),
                expected_bytes: r.get(13),
                definition: r.get(14),
            })
            .collect(),
        foreign_keys: f
            .iter()
            .map(|r| ForeignKey {
                schema: r.get(0),
                table: r.get(1),
                name: r.get(2),
                columns: r.get(3),
                references: r.get(4),
            })
            .collect(),
        stats_since: s
            .get::<_, Option<String>>(0)
            .unwrap_or_else(|| "the server started".into()),
    })
}
