//! The mapped API keys table, checked against the catalog: each mapped
//! column with its type, so ids and tenant ids of any type bind as text and
//! cast server-side.

use crate::config::api_keys::ApiKeyColumns;
use crate::config::SchemaMap;
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::{Error, Result};
use crate::tenants::meta::Column;

#[derive(Debug, Clone)]
pub struct KeysMeta {
    pub table: QualName,
    pub id: Column,
    pub tenant: Column,
    pub name: Column,
    pub prefix: Column,
    pub hash: Column,
    pub created_at: Column,
    pub expires_at: Column,
    pub revoked_at: Column,
    pub scopes: Option<Column>,
    pub last_used_at: Option<Column>,
    pub replaced_by: Option<Column>,
    pub created_by: Option<Column>,
}

/// The keys table's meta, or None when the table does not exist (a system
/// without API keys; `tenants show` then leaves its keys out).
pub async fn load_opt(pg: &Pg, map: &SchemaMap) -> Result<Option<KeysMeta>> {
    let table = QualName::parse(&map.api_keys_table, &map.app_schema)?;
    let rows = pg
        .rows(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull
             FROM pg_class c
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'f')",
            &[&table.schema, &table.table],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let cols: Vec<Column> = rows
        .iter()
        .map(|r| Column {
            name: r.get(0),
            ty: r.get(1),
            not_null: r.get(2),
        })
        .collect();
    let c: &ApiKeyColumns = &map.api_key_columns;
    let find = |name: &str, key: &str| -> Result<Column> {
        cols.iter().find(|c| c.name == name).cloned().ok_or_else(|| {
            Error::Config(format!(
                "column '{name}' not found in {}; set schema.{key} in the context to the right column",
                table.display()
            ))
        })
    };
    // An optional column the table lacks is left out, like an unmapped one:
    // systems that never tracked last use or rotation still list and revoke.
    let optional = |name: &Option<String>| -> Option<Column> {
        name.as_deref()
            .and_then(|n| cols.iter().find(|c| c.name == n).cloned())
    };
    Ok(Some(KeysMeta {
        id: find(&c.id, "api_key_columns.id")?,
        tenant: find(&map.tenant_column, "tenant_column")?,
        name: find(&c.name, "api_key_columns.name")?,
        prefix: find(&c.prefix, "api_key_columns.prefix")?,
        hash: find(&c.hash, "api_key_columns.hash")?,
        created_at: find(&c.created_at, "api_key_columns.created_at")?,
        expires_at: find(&c.expires_at, "api_key_columns.expires_at")?,
        revoked_at: find(&c.revoked_at, "api_key_columns.revoked_at")?,
        scopes: optional(&c.scopes),
        last_used_at: optional(&c.last_used_at),
        replaced_by: optional(&c.replaced_by),
        created_by: optional(&c.created_by),
        table,
    }))
}

/// Like [`load_opt`], for commands that need the table.
pub async fn load(pg: &Pg, map: &SchemaMap) -> Result<KeysMeta> {
    load_opt(pg, map).await?.ok_or_else(|| {
        Error::Config(format!(
            "API keys table '{}' does not exist or is not visible to this role; set schema.api_keys_table (and app_schema) in the context",
            map.api_keys_table
        ))
    })
}
