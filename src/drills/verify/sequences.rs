//! Sequences owned by a column (serial, identity) are not behind the
//! column's max: a restore that left one behind makes the next insert fail
//! with a duplicate key.

use crate::conn::Pg;
use crate::drills::Check;
use crate::error::Result;
use futures_util::future::try_join_all;

pub async fn check(restored: &Pg) -> Result<Check> {
    let owned = restored
        .rows(
            "SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname),
                    quote_ident(tn.nspname) || '.' || quote_ident(t.relname),
                    quote_ident(a.attname),
                    coalesce(ps.last_value::text, '')
             FROM pg_depend d
             JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
             JOIN pg_namespace sn ON sn.oid = s.relnamespace
             JOIN pg_class t ON t.oid = d.refobjid
             JOIN pg_namespace tn ON tn.oid = t.relnamespace
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
             LEFT JOIN pg_sequences ps ON ps.schemaname = sn.nspname AND ps.sequencename = s.relname
             WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.deptype IN ('a', 'i') AND sn.nspname <> 'opsdeck'
               AND format_type(a.atttypid, NULL) IN ('smallint', 'integer', 'bigint')
             ORDER BY 1",
            &[],
        )
        .await?;
    let maxes = try_join_all(owned.iter().map(|r| async move {
        let (table, column): (String, String) = (r.get(1), r.get(2));
        let row = restored
            .row(&format!("SELECT max({column})::int8 FROM {table}"), &[])
            .await?;
        Ok::<Option<i64>, crate::Error>(row.get(0))
    }))
    .await?;
    let mut behind = Vec::new();
    for (r, max) in owned.iter().zip(maxes) {
        let seq: String = r.get(0);
        let last: String = r.get(3);
        let last = last.parse::<i64>().ok();
        if let Some(max) = max {
            if last.is_none_or(|l| l < max) {
                behind.push(format!(
                    "{seq} at {} < max {max} of {}.{}",
                    last.map_or("unused".into(), |l| l.to_string()),
                    r.get::<_, String>(1),
                    r.get::<_, String>(2)
                ));
            }
        }
    }
    Ok(if behind.is_empty() {
        Check::ok(
            "sequences",
            format!(
                "{} owned sequences at or past their columns' max",
                owned.len()
            ),
        )
    } else {
        Check::fail(
            "sequences",
            format!("{} behind: {}", behind.len(), super::some_of(&behind, 5)),
        )
    })
}
