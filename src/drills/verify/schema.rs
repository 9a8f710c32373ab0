//! Schema diff between the source and the restore: tables, columns,
//! indexes, constraints, sequences, functions, views and row-level
//! security, each object one line of text compared as sets. Objects of
//! extensions and opsdeck's own schema are left out.

use crate::conn::Pg;
use crate::drills::Check;
use crate::error::Result;
use std::collections::BTreeSet;

const OBJECTS_SQL: &str = r#"
WITH ns AS (
    SELECT oid, quote_ident(nspname) AS s FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'opsdeck')
      AND nspname NOT LIKE 'pg\_toast%' AND nspname NOT LIKE 'pg\_temp%'
),
ext AS (SELECT classid, objid FROM pg_depend WHERE deptype = 'e'),
rel AS (
    SELECT c.oid, c.relkind, c.relrowsecurity, ns.s || '.' || quote_ident(c.relname) AS q
    FROM pg_class c JOIN ns ON ns.oid = c.relnamespace
    WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_class'::regclass AND ext.objid = c.oid)
)
SELECT 'table ' || q FROM rel WHERE relkind IN ('r', 'p')
UNION ALL SELECT 'view ' || q FROM rel WHERE relkind IN ('v', 'm')
UNION ALL SELECT 'sequence ' || q FROM rel WHERE relkind = 'S'
UNION ALL SELECT 'column ' || rel.q || '.' || quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
                 || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
          FROM pg_attribute a JOIN rel ON rel.oid = a.attrelid
          WHERE rel.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL SELECT 'index ' || pg_get_indexdef(i.indexrelid)
          FROM pg_index i JOIN rel ON rel.oid = i.indrelid
UNION ALL SELECT 'constraint ' || rel.q || '.' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid)
          FROM pg_constraint con JOIN rel ON rel.oid = con.conrelid
UNION ALL SELECT 'function ' || ns.s || '.' || quote_ident(p.proname) || '(' || pg_get_function_identity_arguments(p.oid) || ')'
          FROM pg_proc p JOIN ns ON ns.oid = p.pronamespace
          WHERE NOT EXISTS (SELECT 1 FROM ext WHERE ext.classid = 'pg_proc'::regclass AND ext.objid = p.oid)
UNION ALL SELECT 'row level security on ' || q FROM rel WHERE relrowsecurity
UNION ALL SELECT 'policy ' || rel.q || '.' || quote_ident(pol.polname) || ' ' || pol.polcmd::text
                 || ' using ' || coalesce(pg_get_expr(pol.polqual, pol.polrelid), '-')
                 || ' check ' || coalesce(pg_get_expr(pol.polwithcheck, pol.polrelid), '-')
          FROM pg_policy pol JOIN rel ON rel.oid = pol.polrelid
"#;

async fn objects(pg: &Pg) -> Result<BTreeSet<String>> {
    Ok(pg
        .rows(OBJECTS_SQL, &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

pub async fn compare(source: &Pg, restored: &Pg) -> Result<Check> {
    let (src, dst) = tokio::try_join!(objects(source), objects(restored))?;
    Ok(judge(&src, &dst))
}

pub fn judge(src: &BTreeSet<String>, dst: &BTreeSet<String>) -> Check {
    let missing: Vec<String> = src.difference(dst).cloned().collect();
    let extra: Vec<String> = dst.difference(src).cloned().collect();
    if missing.is_empty() && extra.is_empty() {
        return Check::ok(
            "schema",
            format!(
                "{} objects (tables, columns, indexes, constraints, sequences, functions, policies) match",
                src.len()
            ),
        );
    }
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!(
            "{} missing from the restore: {}",
            missing.len(),
            super::some_of(&missing, 5)
        ));
    }
    if !extra.is_empty() {
        parts.push(format!(
            "{} only in the restore: {}",
            extra.len(),
            super::some_of(&extra, 5)
        ));
    }
    Check::fail("schema", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_both_directions() {
        let src: BTreeSet<String> = ["table public.a".to_string(), "index x".into()].into();
        let dst: BTreeSet<String> = ["table public.a".to_string(), "policy p".into()].into();
        let c = judge(&src, &dst);
        assert!(!c.passed());
        assert!(
            c.detail.contains("missing from the restore: index x"),
            "{}",
            c.detail
        );
        assert!(
            c.detail.contains("only in the restore: policy p"),
            "{}",
            c.detail
        );
        assert!(judge(&src, &src).passed());
    }
}
