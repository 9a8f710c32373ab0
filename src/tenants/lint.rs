//! Tenancy lint: every tenant-scoped table in app_schema (tables carrying the
//! tenant column, except the tenants table) must have RLS on with policies,
//! an index leading with the tenant column, a NOT NULL tenant column, and
//! foreign keys to other tenant tables that include the tenant column.

use super::meta::{self, TenantTable};
use crate::config::SchemaMap;
use crate::conn::sql::{quote_ident, QualName};
use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    RlsDisabled,
    NoPolicies,
    MissingTenantIndex,
    FkWithoutTenant,
    NullableTenantColumn,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RlsDisabled => "rls_disabled",
            Kind::NoPolicies => "no_policies",
            Kind::MissingTenantIndex => "missing_tenant_index",
            Kind::FkWithoutTenant => "fk_without_tenant",
            Kind::NullableTenantColumn => "nullable_tenant_column",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: Kind,
    /// `schema.table`.
    pub table: String,
    pub detail: String,
    pub fix_sql: String,
}

pub async fn lint(pg: &Pg, map: &SchemaMap) -> Result<Vec<Finding>> {
    let tenants = QualName::parse(&map.tenants_table, &map.app_schema)?;
    let tenants_oid: Option<u32> = pg
        .row("SELECT to_regclass($1)::oid", &[&tenants.sql()])
        .await?
        .get(0);
    let tables = meta::tenant_tables(pg, map, tenants_oid.unwrap_or(0)).await?;
    let col = quote_ident(&map.tenant_column);
    let mut out = Vec::new();
    for t in &tables {
        table_findings(t, &map.tenant_column, &col, &mut out);
    }
    out.extend(fk_findings(pg, &tables, &map.tenant_column).await?);
    Ok(out)
}

fn table_findings(t: &TenantTable, column: &str, col: &str, out: &mut Vec<Finding>) {
    let (name, sql) = (t.name.display(), t.name.sql());
    let policy = format!(
        "CREATE POLICY tenant_isolation ON {sql} USING ({col} = current_setting('app.tenant_id')::{});",
        t.column_type
    );
    if !t.rls_enabled {
        let fix = if t.policies == 0 {
            format!("{policy}\nALTER TABLE {sql} ENABLE ROW LEVEL SECURITY;")
        } else {
            format!("ALTER TABLE {sql} ENABLE ROW LEVEL SECURITY;")
        };
        out.push(Finding {
            kind: Kind::RlsDisabled,
            table: name.clone(),
            detail: format!(
                "row-level security is off, so a query without a filter on {column} sees every tenant's rows"
            ),
            fix_sql: fix,
        });
    } else if t.policies == 0 {
        out.push(Finding {
            kind: Kind::NoPolicies,
            table: name.clone(),
            detail: "row-level security is on but no policy exists, so non-owner roles see no rows at all".into(),
            fix_sql: policy,
        });
    }
    if !t.has_tenant_index {
        out.push(Finding {
            kind: Kind::MissingTenantIndex,
            table: name.clone(),
            detail: format!(
                "no index leads with {column}: per-tenant queries and RLS checks scan the table"
            ),
            fix_sql: format!("CREATE INDEX CONCURRENTLY ON {sql} ({col});"),
        });
    }
    if !t.column_not_null {
        out.push(Finding {
            kind: Kind::NullableTenantColumn,
            table: name,
            detail: format!("{column} is nullable: rows without a tenant escape every policy"),
            fix_sql: format!("ALTER TABLE {sql} ALTER COLUMN {col} SET NOT NULL;"),
        });
    }
}

async fn fk_findings(pg: &Pg, tables: &[TenantTable], column: &str) -> Result<Vec<Finding>> {
    let by_oid: HashMap<u32, &TenantTable> = tables.iter().map(|t| (t.oid, t)).collect();
    let oids: Vec<String> = by_oid.keys().map(u32::to_string).collect();
    let oids = format!("{{{}}}", oids.join(","));
    let rows = pg
        .rows(
            "SELECT c.conname::text, c.conrelid, c.confrelid,
                    ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o),
                    ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o)
                          JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)
             FROM pg_constraint c
             WHERE c.contype = 'f' AND c.conrelid = ANY($1::oid[]) AND c.confrelid = ANY($1::oid[])
             ORDER BY c.conrelid, c.conname",
            &[&oids],
        )
        .await?;
    let col = quote_ident(column);
    let mut out = Vec::new();
    for r in rows {
        let (conname, from, to): (String, u32, u32) = (r.get(0), r.get(1), r.get(2));
        let (cols, ref_cols): (Vec<String>, Vec<String>) = (r.get(3), r.get(4));
        if cols.iter().any(|c| c == column) {
            continue;
        }
        let (Some(src), Some(dst)) = (by_oid.get(&from), by_oid.get(&to)) else {
            continue;
        };
        let list = |v: &[String]| {
            std::iter::once(col.clone())
                .chain(v.iter().map(|c| quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push(Finding {
            kind: Kind::FkWithoutTenant,
            table: src.name.display(),
            detail: format!(
                "foreign key {conname} ({}) references {} without {column}, so a row can point at another tenant's row",
                cols.join(", "),
                dst.name.display()
            ),
            fix_sql: format!(
                "CREATE UNIQUE INDEX CONCURRENTLY ON {dst} ({refs});\nALTER TABLE {src} DROP CONSTRAINT {name}, ADD CONSTRAINT {name} FOREIGN KEY ({mine}) REFERENCES {dst} ({refs});",
                dst = dst.name.sql(),
                src = src.name.sql(),
                name = quote_ident(&conname),
                mine = list(&cols),
                refs = list(&ref_cols),
            ),
        });
    }
    Ok(out)
}
