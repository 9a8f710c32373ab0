//! SQL text for listing tenants, shared by keyset pages and whole-table
//! streams. Values are bind parameters (sent as text, cast to the column's
//! type); only COPY, which takes no parameters, gets escaped literals.

use super::cursor::Cursor;
use super::meta::{Column, TenantsMeta};
use super::{ListQuery, SortField};
use crate::conn::sql::{contains_pattern, literal};
use crate::error::{Error, Result};

/// Statement text plus its text parameters (`$1..$n`).
#[derive(Debug, Clone, PartialEq)]
pub struct Sql {
    pub text: String,
    pub params: Vec<String>,
}

/// How values reach the statement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Values {
    Bind,
    Inline,
}

struct Builder {
    values: Values,
    params: Vec<String>,
}

impl Builder {
    /// A value typed as `col`'s type, or as text when `col` is None.
    fn value(&mut self, v: &str, col: Option<&Column>) -> Result<String> {
        let base = match self.values {
            Values::Inline => literal(v)?,
            Values::Bind => {
                self.params.push(v.to_string());
                format!("${}", self.params.len())
            }
        };
        Ok(match col {
            Some(c) => format!("{base}::text::{}", c.ty),
            None => format!("{base}::text"),
        })
    }
}

/// The output columns every listing shares, in contract order.
pub fn select_list(m: &TenantsMeta) -> String {
    let plan = m
        .plan
        .as_ref()
        .map(|c| format!("t.{}::text", c.sql()))
        .unwrap_or_else(|| "NULL::text".into());
    let created = m
        .created_at
        .as_ref()
        .map(|c| {
            format!(
                "to_char(t.{}::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
                c.sql()
            )
        })
        .unwrap_or_else(|| "NULL::text".into());
    format!(
        "t.{}::text AS id, t.{}::text AS slug, t.{}::text AS name, {plan} AS plan, t.{}::text AS status, {created} AS created_at",
        m.id.sql(),
        m.slug.sql(),
        m.name.sql(),
        m.status.sql()
    )
}

pub fn sort_column(m: &TenantsMeta, f: SortField) -> Result<&Column> {
    match f {
        SortField::Id => Ok(&m.id),
        SortField::Slug => Ok(&m.slug),
        SortField::Name => Ok(&m.name),
        SortField::CreatedAt => m.created_at.as_ref().ok_or_else(|| {
            Error::Usage(
                "cannot sort by created_at: schema.tenant_created_at is not mapped in this context"
                    .into(),
            )
        }),
    }
}

/// `WHERE …` (or empty) and `ORDER BY …` for a listing.
fn filter_and_order(m: &TenantsMeta, q: &ListQuery, b: &mut Builder) -> Result<(String, String)> {
    let mut conds = Vec::new();
    if let Some(s) = &q.status {
        let v = b.value(s, None)?;
        conds.push(format!("t.{}::text = {v}", m.status.sql()));
    }
    if let Some(s) = q.search.as_deref().filter(|s| !s.is_empty()) {
        let mut alts = Vec::new();
        if m.id.accepts(s) {
            let v = b.value(s.trim(), Some(&m.id))?;
            alts.push(format!("t.{} = {v}", m.id.sql()));
        }
        let p = b.value(&contains_pattern(s), None)?;
        alts.push(format!("t.{}::text ILIKE {p} ESCAPE E'\\\\'", m.slug.sql()));
        alts.push(format!("t.{}::text ILIKE {p} ESCAPE E'\\\\'", m.name.sql()));
        conds.push(format!("({})", alts.join(" OR ")));
    }
    let col = sort_column(m, q.sort)?;
    // Pages before a cursor (or from the end) scan the order backwards; the
    // caller flips them back to display order.
    let reverse = q.reversed();
    let scan_desc = q.desc != reverse;
    let dir = if scan_desc { "DESC" } else { "ASC" };
    let op = if scan_desc { "<" } else { ">" };
    if q.after.is_some() && q.before.is_some() {
        return Err(Error::Usage(
            "pass either an after or a before cursor, not both".into(),
        ));
    }
    if let Some(text) = q.after.as_ref().or(q.before.as_ref()) {
        let c = Cursor::decode(text)?;
        c.check(q.sort, q.desc)?;
        // A cursor edited by hand would otherwise fail as a cast on the server.
        if m.id.refuses(&c.id) || c.key.as_deref().is_some_and(|k| col.refuses(k)) {
            return Err(Cursor::invalid(text));
        }
        let id = b.value(&c.id, Some(&m.id))?;
        let (tc, tid) = (format!("t.{}", col.sql()), format!("t.{}", m.id.sql()));
        conds.push(match (q.sort, &c.key) {
            (SortField::Id, _) => format!("{tid} {op} {id}"),
            (_, Some(k)) if col.not_null => {
                let k = b.value(k, Some(col))?;
                format!("({tc}, {tid}) {op} ({k}, {id})")
            }
            // Nullable sort column: NULLs come last in display order.
            (_, Some(k)) if !reverse => {
                let k = b.value(k, Some(col))?;
                format!("({tc} {op} {k} OR ({tc} = {k} AND {tid} {op} {id}) OR {tc} IS NULL)")
            }
            (_, Some(k)) => {
                let k = b.value(k, Some(col))?;
                format!("({tc} {op} {k} OR ({tc} = {k} AND {tid} {op} {id}))")
            }
            (_, None) if !reverse => format!("({tc} IS NULL AND {tid} {op} {id})"),
            (_, None) => format!("({tc} IS NOT NULL OR {tid} {op} {id})"),
        });
    }
    let order = if q.sort == SortField::Id {
        format!("ORDER BY t.{} {dir}", m.id.sql())
    } else {
        let nulls = match (col.not_null, reverse) {
            (true, _) => "",
            (false, false) => " NULLS LAST",
            (false, true) => " NULLS FIRST",
        };
        format!(
            "ORDER BY t.{} {dir}{nulls}, t.{} {dir}",
            col.sql(),
            m.id.sql()
        )
    };
    let filter = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    Ok((filter, order))
}

/// A page: the shared columns, the sort key for the next cursor, one
/// bounded count per sized table, limit + 1 rows (the extra row tells
/// whether another page exists).
pub fn page(m: &TenantsMeta, q: &ListQuery, sized: &[(String, String)]) -> Result<Sql> {
    let mut b = Builder {
        values: Values::Bind,
        params: Vec::new(),
    };
    let (filter, order) = filter_and_order(m, q, &mut b)?;
    let key = sort_column(m, q.sort)?.sql();
    let mut cols = format!("{}, t.{key}::text AS sort_key", select_list(m));
    for (i, (table, column)) in sized.iter().enumerate() {
        cols.push_str(&format!(
            ", (SELECT count(*) FROM (SELECT 1 FROM {table} x WHERE x.{column} = t.{} LIMIT {}) s) AS est_{i}",
            m.id.sql(),
            super::EST_CAP + 1
        ));
    }
    Ok(Sql {
        text: format!(
            "SELECT {cols} FROM {} t {filter} {order} LIMIT {}",
            m.table.sql(),
            sql_limit(q.limit.saturating_add(1))
        ),
        params: b.params,
    })
}

/// Postgres takes LIMIT as a bigint; a larger `--limit` means every row.
fn sql_limit(n: usize) -> u64 {
    (n as u64).min(i64::MAX as u64)
}

/// The (filtered) table in order from `q.after` on, at most `limit` rows,
/// with the size columns present but null so headers match the paged output.
pub fn stream(m: &TenantsMeta, q: &ListQuery, values: Values, limit: Option<usize>) -> Result<Sql> {
    let mut b = Builder {
        values,
        params: Vec::new(),
    };
    let (filter, order) = filter_and_order(m, q, &mut b)?;
    let limit = limit
        .map(|n| format!(" LIMIT {}", sql_limit(n)))
        .unwrap_or_default();
    Ok(Sql {
        text: format!(
            "SELECT {}, NULL::bigint AS est_rows, NULL::boolean AS est_rows_capped FROM {} t {filter} {order}{limit}",
            select_list(m),
            m.table.sql()
        ),
        params: b.params,
    })
}

/// The sort key (as text, the way cursors carry it) of the tenant with
/// this id, for a cursor after a streamed row.
pub fn sort_key(m: &TenantsMeta, sort: SortField, id: &str) -> Result<Sql> {
    Ok(Sql {
        text: format!(
            "SELECT t.{}::text FROM {} t WHERE t.{} = $1::text::{}",
            sort_column(m, sort)?.sql(),
            m.table.sql(),
            m.id.sql(),
            m.id.ty
        ),
        params: vec![id.to_string()],
    })
}

/// One tenant by id (the caller checked that the text casts to the id type)
/// or by slug.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::sql::QualName;

    fn meta() -> TenantsMeta {
        let c = |n: &str, ty: &str, nn: bool| Column {
            name: n.into(),
            ty: ty.into(),
            not_null: nn,
        };
        TenantsMeta {
            table: QualName {
                schema: "crm".into(),
                table: "accounts".into(),
            },
            oid: 1,
            id: c("acct_id", "uuid", true),
            slug: c("handle", "text", true),
            name: c("display \"name\"", "text", false),
            plan: None,
            status: c("state", "text", true),
            created_at: Some(c("opened", "timestamp with time zone", true)),
            status_active: "live".into(),
            status_suspended: "frozen".into(),
        }
    }

    #[test]
    fn search_binds_values_and_quotes_names() {
        let q = ListQuery {
            search: Some("50%".into()),
            status: Some("live".into()),
            limit: 10,
            ..Default::default()
        };
        let s = page(&meta(), &q, &[]).unwrap();
        assert_eq!(s.params, vec!["live".to_string(), "%50\\%%".to_string()]);
        assert!(s.text.contains("FROM \"crm\".\"accounts\" t"), "{}", s.text);
        assert!(
            s.text
                .contains("t.\"display \"\"name\"\"\"::text ILIKE $2::text"),
            "{}",
            s.text
        );
        assert!(
            !s.text.contains("acct_id\" = $"),
            "a non-uuid search must not compare ids: {}",
            s.text
        );
        assert!(s.text.ends_with("LIMIT 11"), "{}", s.text);
        assert!(!s.text.contains("OFFSET"));
    }

    #[test]
    fn keyset_on_nullable_column_keeps_nulls_last() {
        let m = meta();
        let c = Cursor {
            field: SortField::Name,
            desc: false,
            key: Some("b".into()),
            id: "0b5b8c9e-2f7a-4c1e-9d2b-7f0a1b2c3d4e".into(),
        };
        let q = ListQuery {
            sort: SortField::Name,
            after: Some(c.encode()),
            limit: 5,
            ..Default::default()
        };
        let s = page(&m, &q, &[]).unwrap();
        assert!(s.text.contains("IS NULL)"), "{}", s.text);
        assert!(s.text.contains("NULLS LAST"), "{}", s.text);
        let q2 = ListQuery {
            sort: SortField::Slug,
            ..q
        };
        assert!(page(&m, &q2, &[]).is_err(), "cursor from another sort");
    }

    #[test]
    fn cursor_with_an_id_of_the_wrong_type_is_a_usage_error() {
        let junk = Cursor {
            field: SortField::Name,
            desc: false,
            key: Some("b".into()),
            id: "1; DROP TABLE x".into(),
        };
        let q = ListQuery {
            sort: SortField::Name,
            after: Some(junk.encode()),
            limit: 5,
            ..Default::default()
        };
        let err = page(&meta(), &q, &[]).unwrap_err();
        assert!(
            matches!(&err, Error::Usage(m) if m.starts_with("invalid cursor")),
            "{err:?}"
        );
    }

    #[test]
    fn inline_values_for_copy() {
        let q = ListQuery {
            search: Some("O'Brien".into()),
            ..Default::default()
        };
        let s = stream(&meta(), &q, Values::Inline, Some(7)).unwrap();
        assert!(s.params.is_empty());
        assert!(s.text.ends_with(" LIMIT 7"), "{}", s.text);
        let all = stream(&meta(), &q, Values::Inline, Some(usize::MAX)).unwrap();
        assert!(
            all.text.ends_with(" LIMIT 9223372036854775807"),
            "{}",
            all.text
        );
        assert!(s.text.contains("E'%O''Brien%'::text"), "{}", s.text);
        assert!(s.text.contains("NULL::bigint AS est_rows"), "{}", s.text);
    }
}
