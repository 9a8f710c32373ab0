//! The statements that change keys, each one statement (no transaction to
//! hold open, nothing to interleave behind a pooler), and how a stop reaches
//! the one running.

use super::meta::KeysMeta;
use super::store::select_list;
use crate::conn::Pg;
use crate::error::{Error, Result};
use crate::stop::Stop;
use tokio_postgres::Row;

/// Runs one statement; a stop cancels it on the server. A statement that
/// completed before the cancel arrived has committed, and its row is
/// returned: a key that exists must reach the operator.
pub async fn statement(pg: &Pg, stop: &Stop, sql: &str, params: &[String]) -> Result<Option<Row>> {
    if stop.is_set() {
        return Err(Error::Cancelled);
    }
    let refs: Vec<&str> = params.iter().map(String::as_str).collect();
    let work = pg.row_opt(sql, &refs);
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => r,
        _ = stop.wait() => {
            if let Err(e) = pg.canceller().cancel().await {
                tracing::warn!("keys: server-side cancel failed: {e}");
            }
            work.await.map_err(|_| Error::Cancelled)
        }
    }
}

/// Numbered text parameters, each cast to its column's type.
#[derive(Default)]
struct Params(Vec<String>);

impl Params {
    fn bind(&mut self, v: &str, ty: &str) -> String {
        self.0.push(v.to_string());
        format!("${}::text::{ty}", self.0.len())
    }
}

/// `INSERT … RETURNING` a new key. `values`: tenant id, name, display
/// prefix, hash, scopes (comma-separated), created_by, lifetime in ms ("" for none).
pub fn insert(m: &KeysMeta, expiring_days: u32, values: [&str; 7]) -> (String, Vec<String>) {
    let [tenant, name, prefix, hash, scopes, created_by, expires_ms] = values;
    let mut p = Params::default();
    let mut cols = vec![m.tenant.sql(), m.name.sql(), m.prefix.sql(), m.hash.sql()];
    let mut vals = vec![
        p.bind(tenant, &m.tenant.ty),
        p.bind(name, &m.name.ty),
        p.bind(prefix, &m.prefix.ty),
        p.bind(hash, &m.hash.ty),
    ];
    if let Some(c) = &m.scopes {
        cols.push(c.sql());
        let list = p.bind(scopes, "text");
        vals.push(format!("string_to_array({list}, ',')::{}", c.ty));
    }
    if let Some(c) = &m.created_by {
        cols.push(c.sql());
        vals.push(p.bind(created_by, &c.ty));
    }
    cols.push(m.expires_at.sql());
    let ms = p.bind(expires_ms, "text");
    vals.push(format!(
        "now() + NULLIF({ms}, '')::int8 * interval '1 millisecond'"
    ));
    let sql = format!(
        "INSERT INTO {} AS k ({}) VALUES ({}) RETURNING {}",
        m.table.sql(),
        cols.join(", "),
        vals.join(", "),
        select_list(m, "k", expiring_days)
    );
    (sql, p.0)
}

/// One statement that rotates: locks the old key if it still works and was
/// not rotated, inserts its replacement (same tenant, name and scopes; the
/// old key's lifetime, when it had one), and points the old key at it with
/// `expires_at` cut to the grace deadline (never later than it was).
/// Returns the new key's columns, then the old key's. `values`: old id,
/// display prefix, hash, created_by, grace in ms.
pub fn rotate(
    m: &KeysMeta,
    expiring_days: u32,
    values: [&str; 5],
) -> Result<(String, Vec<String>)> {
    let [id, prefix, hash, created_by, grace_ms] = values;
    let Some(replaced_by) = &m.replaced_by else {
        return Err(Error::Config(
            "rotation needs schema.api_key_columns.replaced_by".into(),
        ));
    };
    let mut p = Params::default();
    let (idc, exp, created) = (m.id.sql(), m.expires_at.sql(), m.created_at.sql());
    let old = format!(
        "SELECT k.* FROM {t} k WHERE k.{idc} = {id} AND k.{rev} IS NULL
           AND (k.{exp} IS NULL OR k.{exp} > now()) AND k.{rb} IS NULL FOR UPDATE",
        t = m.table.sql(),
        id = p.bind(id, &m.id.ty),
        rev = m.revoked_at.sql(),
        rb = replaced_by.sql(),
    );
    let mut cols = vec![m.tenant.sql(), m.name.sql(), m.prefix.sql(), m.hash.sql()];
    let mut vals = vec![
        format!("o.{}", m.tenant.sql()),
        format!("o.{}", m.name.sql()),
        p.bind(prefix, &m.prefix.ty),
        p.bind(hash, &m.hash.ty),
    ];
    if let Some(c) = &m.scopes {
        cols.push(c.sql());
        vals.push(format!("o.{}", c.sql()));
    }
    if let Some(c) = &m.created_by {
        cols.push(c.sql());
        vals.push(p.bind(created_by, &c.ty));
    }
    cols.push(exp.clone());
    vals.push(format!(
        "CASE WHEN o.{exp} IS NULL THEN NULL ELSE now() + (o.{exp} - o.{created}) END"
    ));
    let grace = p.bind(grace_ms, "int8");
    let sql = format!(
        "WITH old AS ({old}),
         n AS (INSERT INTO {t} ({cols}) SELECT {vals} FROM old o RETURNING *),
         r AS (UPDATE {t} k SET {rb} = n.{idc}::text::{rbty},
                      {exp} = LEAST(COALESCE(k.{exp}, 'infinity'), now() + {grace} * interval '1 millisecond')
               FROM n, old o WHERE k.{idc} = o.{idc} RETURNING k.*)
         SELECT {new}, {upd} FROM n, r",
        t = m.table.sql(),
        cols = cols.join(", "),
        vals = vals.join(", "),
        rb = replaced_by.sql(),
        rbty = replaced_by.ty,
        new = select_list(m, "n", expiring_days),
        upd = select_list(m, "r", expiring_days),
    );
    Ok((sql, p.0))
}
