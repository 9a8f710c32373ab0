//! Every table of the source is in the restored database.

use crate::conn::Pg;
use crate::drills::Check;
use crate::error::Result;

/// A table as both sides know it: `schema.name` (quoted where needed) and
/// the planner's row estimate (-1 when never analyzed).
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub name: String,
    pub estimate: i64,
}

/// User tables, outside opsdeck's own schema and extensions.
pub async fn list(pg: &Pg) -> Result<Vec<Table>> {
    let rows = pg
        .rows(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                    CASE WHEN c.reltuples < 0 THEN -1 ELSE c.reltuples::int8 END
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'opsdeck')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
               AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                               AND d.objid = c.oid AND d.deptype = 'e')
             ORDER BY 1",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| Table {
            name: r.get(0),
            estimate: r.get(1),
        })
        .collect())
}

pub fn compare(source: &[Table], restored: &[Table]) -> Check {
    let missing: Vec<String> = source
        .iter()
        .filter(|s| !restored.iter().any(|r| r.name == s.name))
        .map(|s| s.name.clone())
        .collect();
    if missing.is_empty() {
        Check::ok(
            "tables",
            format!("all {} tables of the source are restored", source.len()),
        )
    } else {
        Check::fail(
            "tables",
            format!(
                "{} of {} tables missing from the restore: {}",
                missing.len(),
                source.len(),
                super::some_of(&missing, 10)
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str) -> Table {
        Table {
            name: name.into(),
            estimate: 0,
        }
    }

    #[test]
    fn names_the_missing_tables() {
        let c = compare(&[t("public.a"), t("public.events")], &[t("public.a")]);
        assert!(!c.passed());
        assert!(c.detail.contains("public.events"), "{}", c.detail);
        assert!(compare(&[t("public.a")], &[t("public.a"), t("public.b")]).passed());
    }
}
