//! `keys verify`: what the backend would say about a key, for support
//! cases: format and checksum first (no lookup for a mistyped key), then the
//! stored hash, then revocation and expiry. The key itself is never shown;
//! the verdict names the key by id and display prefix.

use super::format::{self, Malformed};
use super::meta;
use super::store::{row, select_list};
use super::KeyRow;
use crate::config::api_keys::ApiKeySettings;
use crate::config::SchemaMap;
use crate::conn::{Pg, Secret};
use crate::error::Result;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Format and checksum hold.
    pub well_formed: bool,
    /// Why not, or why the key does not authenticate.
    pub reason: Option<String>,
    /// A stored key has this hash.
    pub matched: bool,
    /// The backend would accept it: matched, not revoked, not expired.
    pub valid: bool,
    pub key: Option<KeyRow>,
}

impl Verdict {
    /// A well-formed key the backend would refuse.
    fn rejected(reason: String, matched: bool, key: Option<KeyRow>) -> Verdict {
        Verdict {
            well_formed: true,
            reason: Some(reason),
            matched,
            valid: false,
            key,
        }
    }
}

/// Checks `key` the way the backend does: SHA-256 (or the configured hash)
/// of the whole key, looked up by hash.
pub async fn verify(pg: &Pg, map: &SchemaMap, s: &ApiKeySettings, key: &Secret) -> Result<Verdict> {
    let k = key.expose().trim();
    if let Err(why) = format::parse(k, &s.known_prefixes()) {
        return Ok(malformed(why));
    }
    let m = meta::load(pg, map).await?;
    let sql = format!(
        "SELECT {} FROM {} k WHERE k.{} = $1::text LIMIT 1",
        select_list(&m, "k", s.expiring_days),
        m.table.sql(),
        m.hash.sql()
    );
    let found = pg.row_opt(&sql, &[&s.hash.hex(k)]).await?;
    let Some(r) = found else {
        return Ok(Verdict::rejected(
            "no stored key has this hash".into(),
            false,
            None,
        ));
    };
    let found = row(&r, 0);
    if found.state.usable() {
        return Ok(Verdict {
            well_formed: true,
            reason: None,
            matched: true,
            valid: true,
            key: Some(found),
        });
    }
    let why = match (&found.revoked_at, &found.expires_at) {
        (Some(at), _) => format!("revoked at {at}"),
        (None, Some(at)) => format!("expired at {at}"),
        _ => format!("{} key", found.state.as_str()),
    };
    Ok(Verdict::rejected(why, true, Some(found)))
}

fn malformed(why: Malformed) -> Verdict {
    Verdict {
        well_formed: false,
        reason: Some(why.to_string()),
        matched: false,
        valid: false,
        key: None,
    }
}
