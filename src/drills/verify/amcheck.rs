//! `bt_index_check` on every btree index of the restore, where the target
//! server has the amcheck extension (it is created in the scratch database;
//! the source is never touched).

use crate::conn::Pg;
use crate::drills::Check;
use crate::error::Result;

pub async fn check(restored: &Pg) -> Result<Check> {
    let available = restored
        .row_opt(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'",
            &[],
        )
        .await?
        .is_some();
    if !available {
        return Ok(Check::ok(
            "amcheck",
            "skipped: the target server has no amcheck extension (Debian: part of postgresql-contrib)",
        ));
    }
    restored
        .batch("CREATE EXTENSION IF NOT EXISTS amcheck")
        .await?;
    let indexes: Vec<String> = restored
        .rows(
            "SELECT c.oid::text FROM pg_index i
             JOIN pg_class c ON c.oid = i.indexrelid
             JOIN pg_am am ON am.oid = c.relam AND am.amname = 'btree'
             JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'opsdeck')
               AND n.nspname NOT LIKE 'pg\\_toast%' AND i.indisvalid",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut broken = Vec::new();
    for oid in &indexes {
        if let Err(e) = restored
            .rows("SELECT bt_index_check($1::oid::regclass)", &[oid])
            .await
        {
            let name = restored
                .row("SELECT $1::oid::regclass::text", &[oid])
                .await
                .map(|r| r.get::<_, String>(0))
                .unwrap_or_else(|_| oid.clone());
            broken.push(format!("{name}: {e}"));
        }
    }
    Ok(if broken.is_empty() {
        Check::ok(
            "amcheck",
            format!("bt_index_check passed on {} btree indexes", indexes.len()),
        )
    } else {
        Check::fail(
            "amcheck",
            format!(
                "{} indexes failed: {}",
                broken.len(),
                super::some_of(&broken, 3)
            ),
        )
    })
}
