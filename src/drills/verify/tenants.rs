//! Per-tenant row counts for the largest tenant tables: a restore that
//! lost one tenant's rows in a big table can hide inside the table's total.

use super::tables::Table;
use super::Verify;
use crate::conn::sql::quote_ident;
use crate::conn::Pg;
use crate::drills::Check;
use crate::error::Result;
use std::collections::BTreeMap;

/// The largest tables (by estimate) that have the tenant column.
async fn tenant_tables(v: &Verify<'_>, source: &[Table]) -> Result<Vec<String>> {
    let rows = v
        .source
        .rows(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE a.attname = $1::text AND a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p')",
            &[&v.schema.tenant_column],
        )
        .await?;
    let with_column: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    let mut candidates: Vec<&Table> = source
        .iter()
        .filter(|t| with_column.contains(&t.name))
        .collect();
    candidates.sort_by_key(|t| std::cmp::Reverse(t.estimate));
    Ok(candidates
        .into_iter()
        .take(v.settings.tenant_tables)
        .map(|t| t.name.clone())
        .collect())
}

async fn per_tenant(pg: &Pg, table: &str, column: &str) -> Result<BTreeMap<String, i64>> {
    let col = quote_ident(column);
    let rows = pg
        .rows(
            &format!("SELECT coalesce({col}::text, 'NULL'), count(*) FROM {table} GROUP BY 1"),
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

pub async fn compare(v: &Verify<'_>, source: &[Table], restored: &[Table]) -> Result<Vec<Check>> {
    let column = &v.schema.tenant_column;
    let mut checks = Vec::new();
    for table in tenant_tables(v, source).await? {
        if !restored.iter().any(|r| r.name == table) {
            continue;
        }
        let name = format!("tenant rows {table}");
        let (src, dst) = tokio::join!(
            per_tenant(v.source, &table, column),
            per_tenant(v.restored, &table, column)
        );
        let (src, dst) = match (src, dst) {
            (Ok(s), Ok(d)) => (s, d),
            // The source is production: a scan it refuses (statement_timeout)
            // is not the backup's fault, and is said so rather than failed.
            (Err(e), Ok(_)) => {
                checks.push(Check::ok(
                    name,
                    format!("skipped: the source could not count per tenant ({e}); raise statement_timeout_ms or lower drills.tenant_tables"),
                ));
                continue;
            }
            (_, Err(e)) => {
                checks.push(Check::fail(
                    name,
                    format!("the restored table could not be counted per tenant: {e}"),
                ));
                continue;
            }
        };
        checks.push(judge(name, &src, &dst, v.settings.tolerance_pct));
    }
    Ok(checks)
}

pub fn judge(
    name: String,
    src: &BTreeMap<String, i64>,
    dst: &BTreeMap<String, i64>,
    pct: f64,
) -> Check {
    let mut off = Vec::new();
    for tenant in src
        .keys()
        .chain(dst.keys().filter(|k| !src.contains_key(*k)))
    {
        let (s, d) = (
            src.get(tenant).copied().unwrap_or(0),
            dst.get(tenant).copied().unwrap_or(0),
        );
        if (d - s).abs() > super::rows::allowed(s, pct) {
            off.push(format!("tenant {tenant}: source {s}, restored {d}"));
        }
    }
    if off.is_empty() {
        Check::ok(
            name,
            format!(
                "{} tenants, each within ±{pct}% of the source (exact counts now)",
                src.len()
            ),
        )
    } else {
        Check::fail(
            name,
            format!(
                "{} of {} tenants differ: {}",
                off.len(),
                src.len().max(dst.len()),
                super::some_of(&off, 5)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_tenants_that_lost_rows() {
        let src: BTreeMap<String, i64> = [("1".into(), 100), ("2".into(), 10)].into();
        let same = judge("t".into(), &src, &src.clone(), 0.5);
        assert!(same.passed(), "{}", same.detail);
        let dst: BTreeMap<String, i64> = [("1".into(), 100)].into();
        let c = judge("t".into(), &src, &dst, 0.5);
        assert!(!c.passed());
        assert!(
            c.detail.contains("tenant 2: source 10, restored 0"),
            "{}",
            c.detail
        );
    }
}
