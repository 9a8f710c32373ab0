//! What the catalog says about the mapped tenants table and the
//! tenant-scoped tables: column types (so ids of any type bind as text and
//! cast server-side), nullability, indexes, RLS.

use crate::config::SchemaMap;
use crate::conn::sql::{quote_ident, QualName};
use crate::conn::Pg;
use crate::error::{Error, Result};

/// One column of the tenants table with its SQL type as `format_type` spells it.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: String,
    pub not_null: bool,
}

impl Column {
    pub fn sql(&self) -> String {
        quote_ident(&self.name)
    }

    /// Bind parameter `$n` sent as text and cast to the column's type, so
    /// comparisons stay on the native type (and its indexes).
    pub fn param(&self, n: usize) -> String {
        format!("${n}::text::{}", self.ty)
    }

    /// Whether `text` casts to this column's type without an error; used to
    /// decide if a search term can be an id at all.
    pub fn accepts(&self, text: &str) -> bool {
        let t = text.trim();
        match self.ty.as_str() {
            "bigint" => t.parse::<i64>().is_ok(),
            "integer" => t.parse::<i32>().is_ok(),
            "smallint" => t.parse::<i16>().is_ok(),
            "uuid" => is_uuid(t),
            ty => ty == "text" || ty.starts_with("character varying") || ty == "citext",
        }
    }
}

impl Column {
    /// Text this column's type certainly cannot hold, for the types opsdeck
    /// can judge without the server (text types and the rest pass).
    pub fn refuses(&self, text: &str) -> bool {
        matches!(self.ty.as_str(), "bigint" | "integer" | "smallint" | "uuid")
            && !self.accepts(text)
    }
}

fn is_uuid(t: &str) -> bool {
    t.len() == 36
        && t.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The mapped tenants table, checked against the catalog.
#[derive(Debug, Clone)]
pub struct TenantsMeta {
    pub table: QualName,
    pub oid: u32,
    pub id: Column,
    pub slug: Column,
    pub name: Column,
    pub plan: Option<Column>,
    pub status: Column,
    pub created_at: Option<Column>,
    pub status_active: String,
    pub status_suspended: String,
}

pub async fn load(pg: &Pg, map: &SchemaMap) -> Result<TenantsMeta> {
    let table = QualName::parse(&map.tenants_table, &map.app_schema)?;
    let rows = pg
        .rows(
            "SELECT c.oid, a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'm', 'f')",
            &[&table.schema, &table.table],
        )
        .await?;
    let Some(first) = rows.first() else {
        return Err(Error::Config(format!(
            "tenants table {} does not exist or is not visible to this role; set schema.tenants_table (and app_schema) in the context",
            table.display()
        )));
    };
    let oid: u32 = first.get(0);
    let cols: Vec<Column> = rows
        .iter()
        .map(|r| Column {
            name: r.get(1),
            ty: r.get(2),
            not_null: r.get(3),
        })
        .collect();
    let find = |name: &str, key: &str| -> Result<Column> {
        cols.iter().find(|c| c.name == name).cloned().ok_or_else(|| {
            Error::Config(format!(
                "column '{name}' not found in {}; set schema.{key} in the context to the right column",
                table.display()
            ))
        })
    };
    let optional = |name: &Option<String>, key: &str| -> Result<Option<Column>> {
        name.as_deref().map(|n| find(n, key)).transpose()
    };
    Ok(TenantsMeta {
        oid,
        id: find(&map.tenant_id, "tenant_id")?,
        slug: find(&map.tenant_slug, "tenant_slug")?,
        name: find(&map.tenant_name, "tenant_name")?,
        plan: optional(&map.tenant_plan, "tenant_plan")?,
        status: find(&map.tenant_status, "tenant_status")?,
        created_at: optional(&map.tenant_created_at, "tenant_created_at")?,
        status_active: map.status_active.clone(),
        status_suspended: map.status_suspended.clone(),
        table,
    })
}

/// A table in app_schema that carries the tenant column.
#[derive(Debug, Clone)]
pub struct TenantTable {
    pub oid: u32,
    pub name: QualName,
    /// Type of its tenant column, as `format_type` spells it.
    pub column_type: String,
    pub column_not_null: bool,
    pub column_attnum: i16,
    pub rls_enabled: bool,
    pub policies: i64,
    /// An index whose leading column is the tenant column.
    pub has_tenant_index: bool,
    /// Planner's row estimate (reltuples), 0 when never analyzed.
    pub estimated_rows: f64,
}

/// Every tenant-scoped table in app_schema except the tenants table itself
/// (partitions are represented by their parent).
pub async fn tenant_tables(pg: &Pg, map: &SchemaMap, tenants_oid: u32) -> Result<Vec<TenantTable>> {
    let oid = tenants_oid.to_string();
    let rows = pg
        .rows(
            "SELECT c.oid, n.nspname::text, c.relname::text,
                    format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attnum,
                    c.relrowsecurity,
                    (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid),
                    EXISTS (SELECT 1 FROM pg_index i
                            WHERE i.indrelid = c.oid AND i.indkey[0] = a.attnum AND i.indisvalid),
                    GREATEST(c.reltuples, 0)::float8
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $2
                                 AND a.attnum > 0 AND NOT a.attisdropped
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND c.oid <> $3::oid
             ORDER BY c.relname",
            &[&map.app_schema, &map.tenant_column, &oid],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| TenantTable {
            oid: r.get(0),
            name: QualName {
                schema: r.get(1),
                table: r.get(2),
            },
            column_type: r.get(3),
            column_not_null: r.get(4),
            column_attnum: r.get(5),
            rls_enabled: r.get(6),
            policies: r.get(7),
            has_tenant_index: r.get(8),
            estimated_rows: r.get(9),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(ty: &str) -> Column {
        Column {
            name: "id".into(),
            ty: ty.into(),
            not_null: true,
        }
    }

    #[test]
    fn id_acceptance_by_type() {
        assert!(col("bigint").accepts("42"));
        assert!(!col("bigint").accepts("acme"));
        assert!(!col("integer").accepts("99999999999"));
        assert!(col("uuid").accepts("0b5b8c9e-2f7a-4c1e-9d2b-7f0a1b2c3d4e"));
        assert!(!col("uuid").accepts("0b5b8c9e"));
        assert!(col("text").accepts("anything"));
        assert!(col("character varying(20)").accepts("x"));
        assert!(!col("\"crm\".\"acct_id\"").accepts("x"));
    }

    #[test]
    fn params_cast_through_text() {
        assert_eq!(col("uuid").param(3), "$3::text::uuid");
    }
}
