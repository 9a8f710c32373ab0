//! The application's own checks from the config: a query on the restored
//! database whose first value, as text, must equal the expected text.

use crate::config::drills::CustomCheck;
use crate::conn::Pg;
use crate::drills::Check;

pub async fn run(restored: &Pg, checks: &[CustomCheck]) -> Vec<Check> {
    let mut out = Vec::new();
    for c in checks {
        let name = format!("check {}", c.name);
        let sql = format!(
            "SELECT {} FROM ({}) AS q LIMIT 1",
            first_column(),
            c.sql.trim().trim_end_matches(';')
        );
        let got = match restored.rows_nullable(&sql, &[]).await {
            Ok(rows) => rows.first().map(|r| {
                r.get::<_, Option<String>>(0)
                    .unwrap_or_else(|| "NULL".into())
            }),
            Err(e) => {
                out.push(Check::fail(name, format!("the query failed: {e}")));
                continue;
            }
        };
        let got = got.unwrap_or_else(|| "no rows".into());
        let text = format!("got {got}, expected {}", c.expect);
        out.push(if got == c.expect {
            Check::ok(name, text)
        } else {
            Check::fail(name, text)
        });
    }
    out
}

/// The first column of any query, whatever it is named: the row as a
/// record as json (which keeps the column order), its first field.
fn first_column() -> &'static str {
    "(SELECT j.value #>> '{}' FROM json_each(row_to_json(q)) WITH ORDINALITY AS j(key, value, n) ORDER BY n LIMIT 1)"
}
