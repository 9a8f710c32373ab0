//! Reading the keys table: keyset pages (newest first, never OFFSET), one
//! key by id or display prefix, a tenant's keys with their counts, and the
//! keys expiring soon. Values are bind parameters sent as text and cast to
//! the column's type; names come from the schema mapping.

use super::meta::{self, KeysMeta};
use super::{cursor, KeyRow, KeyState};
use crate::config::api_keys::ApiKeySettings;
use crate::config::SchemaMap;
use crate::conn::sql::{contains_pattern, rfc3339};
use crate::conn::Pg;
use crate::error::{Error, Result};
use crate::tenants::meta::Column;
use serde::Serialize;
use tokio_postgres::Row;

/// Columns [`row`] reads, in order.
pub const COLUMNS: usize = 12;
/// Keys named in an "ambiguous prefix" error.
const AMBIGUOUS_SHOWN: usize = 5;

/// `alias.col` as text, or NULL for an unmapped column.
fn text(alias: &str, c: Option<&Column>) -> String {
    c.map_or("NULL::text".into(), |c| {
        format!("{alias}.{}::text", c.sql())
    })
}

fn time(alias: &str, c: Option<&Column>) -> String {
    c.map_or("NULL::text".into(), |c| {
        rfc3339(&format!("{alias}.{}", c.sql()))
    })
}

/// The state as SQL over `alias`, by the server's clock.
pub fn state_sql(m: &KeysMeta, alias: &str, expiring_days: u32) -> String {
    let (revoked, expires) = (m.revoked_at.sql(), m.expires_at.sql());
    format!(
        "CASE WHEN {alias}.{revoked} IS NOT NULL THEN 'revoked'
              WHEN {alias}.{expires} <= now() THEN 'expired'
              WHEN {alias}.{expires} <= now() + interval '{expiring_days} days' THEN 'expiring'
              ELSE 'active' END"
    )
}

/// A condition selecting keys in `state`.
fn state_filter(m: &KeysMeta, state: KeyState, expiring_days: u32) -> String {
    format!(
        "({}) = '{}'",
        state_sql(m, "k", expiring_days),
        state.as_str()
    )
}

/// The output columns, over the row alias `alias`.
pub fn select_list(m: &KeysMeta, alias: &str, expiring_days: u32) -> String {
    let scopes = m.scopes.as_ref().map_or("'{}'::text[]".into(), |c| {
        format!("COALESCE({alias}.{}::text[], '{{}}')", c.sql())
    });
    [
        text(alias, Some(&m.id)),
        text(alias, Some(&m.tenant)),
        text(alias, Some(&m.name)),
        text(alias, Some(&m.prefix)),
        scopes,
        time(alias, Some(&m.created_at)),
        time(alias, Some(&m.expires_at)),
        time(alias, m.last_used_at.as_ref()),
        time(alias, Some(&m.revoked_at)),
        text(alias, m.replaced_by.as_ref()),
        text(alias, m.created_by.as_ref()),
        state_sql(m, alias, expiring_days),
    ]
    .join(", ")
}

/// The key in columns `off..off + COLUMNS` of `r`.
pub fn row(r: &Row, off: usize) -> KeyRow {
    let state: String = r.get(off + 11);
    KeyRow {
        id: r.get::<_, Option<String>>(off).unwrap_or_default(),
        tenant_id: r.get::<_, Option<String>>(off + 1).unwrap_or_default(),
        name: r.get(off + 2),
        prefix: r.get(off + 3),
        scopes: r.get(off + 4),
        created_at: r.get(off + 5),
        expires_at: r.get(off + 6),
        last_used_at: r.get(off + 7),
        revoked_at: r.get(off + 8),
        replaced_by: r.get(off + 9),
        created_by: r.get(off + 10),
        state: state.parse().unwrap_or(KeyState::Active),
    }
}

/// A listing request. `tenant` is a resolved tenant id.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub tenant: Option<String>,
    pub state: Option<KeyState>,
    /// Text contained in the name or display prefix (case-insensitive).
    pub search: Option<String>,
    pub limit: usize,
    pub after: Option<String>,
    /// The rows right before this cursor (paging back in the console).
    pub before: Option<String>,
    /// The last page (oldest keys).
    pub from_end: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub rows: Vec<KeyRow>,
    /// Pass as `--after` for the next page; None on the last page.
    pub next_cursor: Option<String>,
    /// Each row's own cursor, same order as `rows`.
    #[serde(skip)]
    pub cursors: Vec<String>,
}

/// One page, newest first.
pub async fn page(pg: &Pg, map: &SchemaMap, s: &ApiKeySettings, q: &ListQuery) -> Result<Page> {
    let m = meta::load(pg, map).await?;
    page_in(pg, &m, s, q).await
}

pub async fn page_in(pg: &Pg, m: &KeysMeta, s: &ApiKeySettings, q: &ListQuery) -> Result<Page> {
    if q.limit == 0 {
        return Err(Error::Usage("--limit must be at least 1".into()));
    }
    let mut params: Vec<String> = Vec::new();
    let mut bind = |v: String| {
        params.push(v);
        format!("${}", params.len())
    };
    let mut conds = Vec::new();
    if let Some(t) = &q.tenant {
        conds.push(format!(
            "k.{} = {}::text::{}",
            m.tenant.sql(),
            bind(t.clone()),
            m.tenant.ty
        ));
    }
    if let Some(state) = q.state {
        conds.push(state_filter(m, state, s.expiring_days));
    }
    if let Some(text) = q.search.as_deref().filter(|t| !t.trim().is_empty()) {
        let p = bind(contains_pattern(text.trim()));
        conds.push(format!(
            "(k.{}::text ILIKE {p} OR k.{}::text ILIKE {p})",
            m.name.sql(),
            m.prefix.sql()
        ));
    }
    // Newest first; paging back (or from the end) reads ascending, then flips.
    let backwards = q.before.is_some() || q.from_end;
    if let Some(after) = &q.after {
        let id = cursor::decode(after)?;
        conds.push(format!(
            "k.{} < {}::text::{}",
            m.id.sql(),
            bind(id),
            m.id.ty
        ));
    }
    if let Some(before) = &q.before {
        let id = cursor::decode(before)?;
        conds.push(format!(
            "k.{} > {}::text::{}",
            m.id.sql(),
            bind(id),
            m.id.ty
        ));
    }
    let sql = format!(
        "SELECT {} FROM {} k {} ORDER BY k.{} {} LIMIT {}",
        select_list(m, "k", s.expiring_days),
        m.table.sql(),
        if conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", conds.join(" AND "))
        },
        m.id.sql(),
        if backwards { "ASC" } else { "DESC" },
        // One more than asked tells whether a next page exists.
        q.limit.saturating_add(1).min(i64::MAX as usize),
    );
    let refs: Vec<&str> = params.iter().map(String::as_str).collect();
    let found = pg.rows(&sql, &refs).await?;
    let more = found.len() > q.limit;
    let mut rows: Vec<KeyRow> = found.iter().take(q.limit).map(|r| row(r, 0)).collect();
    if backwards {
        rows.reverse();
    }
    let cursors: Vec<String> = rows.iter().map(|r| cursor::encode(&r.id)).collect();
    let next_cursor = match (backwards, more) {
        (false, true) => cursors.last().cloned(),
        _ => None,
    };
    Ok(Page {
        rows,
        next_cursor,
        cursors,
    })
}

/// The key `ident` names: by id (when it casts to the id's type), else by
/// its exact display prefix, which must then be unique.
pub async fn get(
    pg: &Pg,
    map: &SchemaMap,
    s: &ApiKeySettings,
    ident: &str,
) -> Result<(KeysMeta, KeyRow)> {
    let m = meta::load(pg, map).await?;
    let key = ident.trim();
    if key.is_empty() {
        return Err(Error::Usage(
            "no key given; pass its id or display prefix (see `opsdeck keys list`)".into(),
        ));
    }
    let sel = select_list(&m, "k", s.expiring_days);
    let by_prefix = format!(
        "SELECT {sel}, 1 AS rank FROM {} k WHERE k.{}::text = $1::text",
        m.table.sql(),
        m.prefix.sql()
    );
    let sql = if m.id.accepts(key) {
        format!(
            "SELECT {sel}, 0 AS rank FROM {} k WHERE k.{} = {} UNION ALL {by_prefix} ORDER BY rank LIMIT {}",
            m.table.sql(),
            m.id.sql(),
            m.id.param(1),
            AMBIGUOUS_SHOWN + 1
        )
    } else {
        format!("{by_prefix} LIMIT {}", AMBIGUOUS_SHOWN + 1)
    };
    let rows = pg.rows(&sql, &[key]).await?;
    if let Some(first) = rows.first().filter(|r| r.get::<_, i32>(COLUMNS) == 0) {
        let k = row(first, 0);
        return Ok((m, k));
    }
    match rows.as_slice() {
        [one] => {
            let k = row(one, 0);
            Ok((m, k))
        }
        [] => Err(Error::NotFound(format!(
            "no API key with id or prefix '{key}' in {}; find it with `opsdeck keys list`",
            m.table.display()
        ))),
        many => {
            let ids: Vec<String> = many
                .iter()
                .take(AMBIGUOUS_SHOWN)
                .map(|r| row(r, 0).id)
                .collect();
            let more = if many.len() > AMBIGUOUS_SHOWN {
                ", …"
            } else {
                ""
            };
            Err(Error::Usage(format!(
                "'{key}' is the prefix of several keys (ids {}{more}); pass the id instead",
                ids.join(", ")
            )))
        }
    }
}

/// A tenant's keys (newest first, at most `limit`) and its counts over all of them.
#[derive(Debug, Clone, Serialize)]
pub struct TenantKeys {
    pub total: i64,
    /// Neither revoked nor expired.
    pub active: i64,
    pub keys: Vec<KeyRow>,
}

/// None when the keys table does not exist.
pub async fn for_tenant(
    pg: &Pg,
    map: &SchemaMap,
    s: &ApiKeySettings,
    tenant_id: &str,
    limit: usize,
) -> Result<Option<TenantKeys>> {
    let Some(m) = meta::load_opt(pg, map).await? else {
        return Ok(None);
    };
    let q = ListQuery {
        tenant: Some(tenant_id.to_string()),
        limit,
        ..ListQuery::default()
    };
    let counts = format!(
        "SELECT count(*), count(*) FILTER (WHERE k.{r} IS NULL AND (k.{x} IS NULL OR k.{x} > now()))
         FROM {} k WHERE k.{} = {}",
        m.table.sql(),
        m.tenant.sql(),
        m.tenant.param(1),
        r = m.revoked_at.sql(),
        x = m.expires_at.sql(),
    );
    let params = [tenant_id];
    let (page, counts) = tokio::try_join!(page_in(pg, &m, s, &q), pg.row(&counts, &params))?;
    Ok(Some(TenantKeys {
        total: counts.get(0),
        active: counts.get(1),
        keys: page.rows,
    }))
}

/// Keys that stop working within the window and were not replaced: the
/// ones somebody has to act on.
#[derive(Debug, Clone, Serialize)]
pub struct Expiring {
    pub window_days: u32,
    pub count: i64,
    /// The soonest first.
    pub first: Vec<KeyRow>,
}

/// The cockpit's figure: how many keys expire within the configured
/// window (not revoked, not already expired, not replaced by a rotation),
/// and the first `first` of them, in one round trip. None without a keys table.
pub async fn expiring(
    pg: &Pg,
    map: &SchemaMap,
    s: &ApiKeySettings,
    first: usize,
) -> Result<Option<Expiring>> {
    let Some(m) = meta::load_opt(pg, map).await? else {
        return Ok(None);
    };
    let not_replaced = m
        .replaced_by
        .as_ref()
        .map(|c| format!(" AND k.{} IS NULL", c.sql()))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {}, count(*) OVER () FROM {} k WHERE ({}) = 'expiring'{not_replaced} ORDER BY k.{} LIMIT {}",
        select_list(&m, "k", s.expiring_days),
        m.table.sql(),
        state_sql(&m, "k", s.expiring_days),
        m.expires_at.sql(),
        first.max(1),
    );
    let rows = pg.rows(&sql, &[]).await?;
    Ok(Some(Expiring {
        window_days: s.expiring_days,
        count: rows.first().map_or(0, |r| r.get(COLUMNS)),
        first: rows.iter().take(first).map(|r| row(r, 0)).collect(),
    }))
}
