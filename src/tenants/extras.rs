//! The application's audit trail in a tenant's detail (its API keys come
//! from `keys::store`). Optional: a missing table leaves its field null.

use crate::conn::sql::{quote_ident, QualName};
use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;

/// Columns of a table (name, type), None when the table does not exist.
async fn columns(pg: &Pg, t: &QualName) -> Result<Option<Vec<(String, String)>>> {
    let rows = pg
        .rows(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
             FROM pg_attribute a
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&t.sql()],
        )
        .await?;
    Ok((!rows.is_empty()).then(|| rows.iter().map(|r| (r.get(0), r.get(1))).collect()))
}

fn ts(col: &str) -> String {
    crate::conn::sql::rfc3339(col)
}

/// `a."col"` rendered for output when the column exists, else NULL.
fn pick(cols: &[(String, String)], name: &str, timestamp: bool) -> String {
    if !cols.iter().any(|(n, _)| n == name) {
        return "NULL::text".into();
    }
    let c = format!("a.{}", quote_ident(name));
    if timestamp {
        ts(&c)
    } else {
        format!("{c}::text")
    }
}

/// One row of the application's own audit trail.
#[derive(Debug, Clone, Serialize)]
pub struct AppAuditEntry {
    pub id: Option<String>,
    pub table_name: Option<String>,
    pub record_id: Option<String>,
    pub action: Option<String>,
    pub changed_by: Option<String>,
    pub changed_at: Option<String>,
}

/// Recent entries about the tenant: rows carrying the tenant column, or
/// (without one) rows whose old/new data name the tenant, or changes to the
/// tenant's own row.
pub async fn app_audit(
    pg: &Pg,
    table: &QualName,
    tenants: &QualName,
    tenant_column: &str,
    id: &str,
) -> Result<Option<Vec<AppAuditEntry>>> {
    let Some(cols) = columns(pg, table).await? else {
        return Ok(None);
    };
    let has = |n: &str| cols.iter().any(|(c, _)| c == n);
    // $1 is always the tenant id; further values are numbered as they are used.
    let mut values: Vec<String> = vec![id.to_string()];
    let mut bind = |v: String| {
        values.push(v);
        format!("${}::text", values.len())
    };
    let mut alts = Vec::new();
    if let Some((_, ty)) = cols.iter().find(|(n, _)| n == tenant_column) {
        alts.push(format!("a.{} = $1::text::{ty}", quote_ident(tenant_column)));
    } else {
        let key = bind(tenant_column.to_string());
        for data in ["new_data", "old_data"] {
            if has(data) {
                alts.push(format!("a.{}->>{key} = $1::text", quote_ident(data)));
            }
        }
    }
    if has("table_name") && has("record_id") {
        let (short, long) = (bind(tenants.table.clone()), bind(tenants.display()));
        alts.push(format!(
            "(a.\"table_name\" IN ({short}, {long}) AND a.\"record_id\"::text = $1::text)"
        ));
    }
    if alts.is_empty() {
        return Ok(None);
    }
    let order = if has("changed_at") {
        "a.\"changed_at\" DESC"
    } else if has("id") {
        "a.\"id\" DESC"
    } else {
        "1"
    };
    let sql = format!(
        "SELECT {}, {}, {}, {}, {}, {} FROM {} a WHERE {} ORDER BY {order} LIMIT 20",
        pick(&cols, "id", false),
        pick(&cols, "table_name", false),
        pick(&cols, "record_id", false),
        pick(&cols, "action", false),
        pick(&cols, "changed_by", false),
        pick(&cols, "changed_at", true),
        table.sql(),
        alts.join(" OR "),
    );
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    let rows = pg.rows(&sql, &values).await?;
    Ok(Some(
        rows.iter()
            .map(|r| AppAuditEntry {
                id: r.get(0),
                table_name: r.get(1),
                record_id: r.get(2),
                action: r.get(3),
                changed_by: r.get(4),
                changed_at: r.get(5),
            })
            .collect(),
    ))
}
