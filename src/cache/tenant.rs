//! `--tenant T`: a tenant id as given, or a slug resolved to the id through
//! the context's schema map when Postgres is configured.

use crate::config::SchemaMap;
use crate::conn::Pg;
use crate::error::{Error, Result};

/// Whether `t` needs a lookup: ids are all digits (or UUIDs, which are ids too).
pub fn looks_like_id(t: &str) -> bool {
    (!t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())) || is_uuid(t)
}

fn is_uuid(t: &str) -> bool {
    t.len() == 36
        && t.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// `"name"` with embedded quotes doubled; `schema.table` quotes each part.
pub fn quote_path(name: &str) -> String {
    name.split('.')
        .map(|p| format!("\"{}\"", p.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// The tenant id for a slug, as text.
pub async fn id_for_slug(pg: &Pg, schema: &SchemaMap, slug: &str) -> Result<String> {
    let sql = format!(
        "SELECT {id}::text FROM {table} WHERE {slug_col} = $1",
        id = quote_path(&schema.tenant_id),
        table = quote_path(&schema.tenants_table),
        slug_col = quote_path(&schema.tenant_slug),
    );
    let row = pg.client().query_opt(&sql, &[&slug]).await?;
    match row {
        Some(r) => Ok(r.get(0)),
        None => Err(Error::NotFound(format!(
            "no tenant with {} '{slug}' in {}; pass the tenant id instead",
            schema.tenant_slug, schema.tenants_table
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slugs() {
        assert!(looks_like_id("42"));
        assert!(looks_like_id("3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f6a7b8"));
        assert!(!looks_like_id("acme"));
        assert!(!looks_like_id(""));
        assert!(!looks_like_id("12a"));
    }

    #[test]
    fn quotes_identifiers() {
        assert_eq!(quote_path("tenants"), "\"tenants\"");
        assert_eq!(quote_path("app.tenants"), "\"app\".\"tenants\"");
        assert_eq!(quote_path("we\"ird"), "\"we\"\"ird\"");
    }
}
