//! The one tenant resolver: what an operator typed (an id, a slug, or a name
//! that only one tenant has) becomes one tenant row. Every domain that takes
//! a tenant (`cache invalidate --tenant`, suspend, show, and later keys, jobs
//! and drills) calls [`resolve`], so the same words find the same tenant
//! everywhere.

use super::list::row;
use super::meta::{self, TenantsMeta};
use super::query::select_list;
use super::TenantRow;
use crate::config::SchemaMap;
use crate::conn::Pg;
use crate::error::{Error, Result};

/// Tenants named in an "ambiguous name" error.
const AMBIGUOUS_SHOWN: usize = 5;

/// The tenant `input` names: by id (when it casts to the id's type), else
/// by slug, else by a case-insensitive name that exactly one tenant has.
pub async fn resolve(pg: &Pg, map: &SchemaMap, input: &str) -> Result<TenantRow> {
    let m = meta::load(pg, map).await?;
    resolve_in(pg, &m, input).await
}

pub(crate) async fn resolve_in(pg: &Pg, m: &TenantsMeta, input: &str) -> Result<TenantRow> {
    let key = input.trim();
    if key.is_empty() {
        return Err(Error::Usage(
            "no tenant given; pass an id, a slug or a name".into(),
        ));
    }
    // Id and slug in one round trip; an id wins over a slug that looks like one.
    let by_key = id_or_slug(m, key);
    if let Some(r) = pg.row_opt(&by_key, &[key]).await? {
        return Ok(row(&r));
    }
    let by_name = format!(
        "SELECT {} FROM {} t WHERE lower(t.{}::text) = lower($1::text) ORDER BY t.{} LIMIT {}",
        select_list(m),
        m.table.sql(),
        m.name.sql(),
        m.id.sql(),
        AMBIGUOUS_SHOWN + 1
    );
    let rows = pg.rows(&by_name, &[key]).await?;
    match rows.as_slice() {
        [one] => Ok(row(one)),
        [] => Err(Error::NotFound(format!(
            "no tenant with id, slug or name '{key}' in {}; find it with `opsdeck tenants list --search`",
            m.table.display()
        ))),
        many => {
            let shown: Vec<String> = many
                .iter()
                .take(AMBIGUOUS_SHOWN)
                .map(|r| {
                    let t = row(r);
                    match t.slug {
                        Some(s) => format!("{s} (id {})", t.id),
                        None => format!("id {}", t.id),
                    }
                })
                .collect();
            let more = if many.len() > AMBIGUOUS_SHOWN { ", …" } else { "" };
            Err(Error::Usage(format!(
                "'{key}' is the name of several tenants ({}{more}); pass the id or slug instead",
                shown.join(", ")
            )))
        }
    }
}

/// Rows whose id or slug is `$1`, the id match first.
fn id_or_slug(m: &TenantsMeta, key: &str) -> String {
    let slug = format!(
        "SELECT {}, 1 AS rank FROM {} t WHERE t.{}::text = $1::text",
        select_list(m),
        m.table.sql(),
        m.slug.sql()
    );
    if !m.id.accepts(key) {
        return format!("{slug} LIMIT 1");
    }
    format!(
        "SELECT {}, 0 AS rank FROM {} t WHERE t.{} = {} UNION ALL {slug} ORDER BY rank LIMIT 1",
        select_list(m),
        m.table.sql(),
        m.id.sql(),
        m.id.param(1)
    )
}
