//! Invalid indexes: left by a CREATE INDEX CONCURRENTLY or REINDEX
//! CONCURRENTLY that failed or was cancelled. The planner ignores them but
//! writes still maintain them; the fix drops the leftover and builds it again.

use super::{Finding, IndexRow, LintKind};

fn concurrently(definition: &str) -> String {
    for head in ["CREATE UNIQUE INDEX ", "CREATE INDEX "] {
        if let Some(rest) = definition.strip_prefix(head) {
            return format!("{head}CONCURRENTLY {rest}");
        }
    }
    definition.to_string()
}

pub fn find(indexes: &[IndexRow]) -> Vec<Finding> {
    indexes
        .iter()
        .filter(|i| !i.valid)
        .map(|i| Finding {
            kind: LintKind::Invalid,
            index: Some(i.qualified()),
            table: i.table_display(),
            columns: i.keys.clone(),
            detail: "invalid: a concurrent build failed or was cancelled; the planner ignores it but every write still maintains it".into(),
            fix_sql: format!(
                "DROP INDEX CONCURRENTLY IF EXISTS {}; {};",
                i.sql_name(),
                concurrently(&i.definition)
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn rebuild_is_concurrent() {
        assert_eq!(
            super::concurrently("CREATE UNIQUE INDEX u ON public.t USING btree (a)"),
            "CREATE UNIQUE INDEX CONCURRENTLY u ON public.t USING btree (a)"
        );
        assert_eq!(
            super::concurrently("CREATE INDEX i ON public.t USING btree (a)"),
            "CREATE INDEX CONCURRENTLY i ON public.t USING btree (a)"
        );
    }
}
