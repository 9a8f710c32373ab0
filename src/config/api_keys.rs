//! API keys: how this context's keys look (its environment's prefix, the
//! hash stored) and the names of the keys table's columns. The format itself
//! is in `keys::format`.

use serde::Deserialize;

/// The digest stored for a key: hex of the whole key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyHash {
    #[default]
    Sha256,
    Sha512,
}

/// `[contexts.NAME.api_keys]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeySettings {
    /// Prefix of the keys this context creates: its environment (`sk_live`, `sk_test`).
    pub prefix: String,
    /// Prefixes of other environments that `keys verify` also accepts as well-formed.
    pub other_prefixes: Vec<String>,
    /// Random base62 characters in a new key (at least 30).
    pub random_chars: usize,
    /// Random characters kept after `<prefix>_` in the stored display prefix.
    pub display_chars: usize,
    pub hash: KeyHash,
    /// Keys expiring within this many days are "expiring" (highlighted, in the cockpit).
    pub expiring_days: u32,
}

impl Default for ApiKeySettings {
    fn default() -> Self {
        ApiKeySettings {
            prefix: "sk_live".into(),
            other_prefixes: vec!["sk_test".into()],
            random_chars: 32,
            display_chars: 8,
            hash: KeyHash::Sha256,
            expiring_days: 7,
        }
    }
}

/// The most random characters a key may have; more only makes it unwieldy.
const MAX_RANDOM: usize = 128;
/// At most this share of the random part may be kept in clear as the display prefix.
const MAX_DISPLAY: usize = 12;
const MAX_EXPIRING_DAYS: u32 = 3650;

impl ApiKeySettings {
    /// Every prefix `keys verify` accepts, this context's first.
    pub fn known_prefixes(&self) -> Vec<String> {
        let mut all = vec![self.prefix.clone()];
        all.extend(
            self.other_prefixes
                .iter()
                .filter(|p| **p != self.prefix)
                .cloned(),
        );
        all
    }

    pub fn check(&self, context: &str) -> Result<(), crate::error::Error> {
        let bad = |key: &str, why: String| {
            Err(crate::error::Error::Config(format!(
                "contexts.{context}.api_keys.{key}: {why}"
            )))
        };
        for p in self.known_prefixes() {
            let ok = !p.is_empty()
                && !p.starts_with('_')
                && !p.ends_with('_')
                && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !ok {
                return bad(
                    "prefix",
                    format!("'{p}' must be letters, digits and inner underscores, like sk_live (the '_' before the random part is added)"),
                );
            }
        }
        if !(crate::keys::format::MIN_RANDOM..=MAX_RANDOM).contains(&self.random_chars) {
            return bad(
                "random_chars",
                format!(
                    "{} is out of range: use {} to {MAX_RANDOM}",
                    self.random_chars,
                    crate::keys::format::MIN_RANDOM
                ),
            );
        }
        if self.display_chars > MAX_DISPLAY {
            return bad(
                "display_chars",
                format!(
                    "{} is out of range: use 0 to {MAX_DISPLAY}",
                    self.display_chars
                ),
            );
        }
        if self.expiring_days > MAX_EXPIRING_DAYS {
            return bad(
                "expiring_days",
                format!(
                    "{} is out of range: use 0 to {MAX_EXPIRING_DAYS}",
                    self.expiring_days
                ),
            );
        }
        Ok(())
    }
}

/// `[contexts.NAME.schema.api_key_columns]`: the keys table's columns
/// (the table is `schema.api_keys_table`, the tenant column
/// `schema.tenant_column`). `""` unmaps an optional column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiKeyColumns {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub hash: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: String,
    #[serde(deserialize_with = "super::schema_map::empty_is_none")]
    pub scopes: Option<String>,
    #[serde(deserialize_with = "super::schema_map::empty_is_none")]
    pub last_used_at: Option<String>,
    #[serde(deserialize_with = "super::schema_map::empty_is_none")]
    pub replaced_by: Option<String>,
    #[serde(deserialize_with = "super::schema_map::empty_is_none")]
    pub created_by: Option<String>,
}

impl Default for ApiKeyColumns {
    fn default() -> Self {
        ApiKeyColumns {
            id: "id".into(),
            name: "name".into(),
            prefix: "prefix".into(),
            hash: "key_hash".into(),
            created_at: "created_at".into(),
            expires_at: "expires_at".into(),
            revoked_at: "revoked_at".into(),
            scopes: Some("scopes".into()),
            last_used_at: Some("last_used_at".into()),
            replaced_by: Some("replaced_by".into()),
            created_by: Some("created_by".into()),
        }
    }
}

impl ApiKeyColumns {
    /// (config key, name) of every mapped column, for the NUL check.
    pub fn names(&self) -> Vec<(&'static str, Option<&String>)> {
        vec![
            ("api_key_columns.id", Some(&self.id)),
            ("api_key_columns.name", Some(&self.name)),
            ("api_key_columns.prefix", Some(&self.prefix)),
            ("api_key_columns.hash", Some(&self.hash)),
            ("api_key_columns.created_at", Some(&self.created_at)),
            ("api_key_columns.expires_at", Some(&self.expires_at)),
            ("api_key_columns.revoked_at", Some(&self.revoked_at)),
            ("api_key_columns.scopes", self.scopes.as_ref()),
            ("api_key_columns.last_used_at", self.last_used_at.as_ref()),
            ("api_key_columns.replaced_by", self.replaced_by.as_ref()),
            ("api_key_columns.created_by", self.created_by.as_ref()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_bad_values_name_their_key() {
        assert!(ApiKeySettings::default().check("x").is_ok());
        let s: ApiKeySettings = toml::from_str("prefix = \"sk_\"").unwrap();
        let e = s.check("prod").unwrap_err().to_string();
        assert!(e.contains("contexts.prod.api_keys.prefix"), "{e}");
        let s: ApiKeySettings = toml::from_str("random_chars = 10").unwrap();
        assert!(s
            .check("x")
            .unwrap_err()
            .to_string()
            .contains("random_chars"));
        let s: ApiKeySettings = toml::from_str("hash = \"sha512\"\nprefix = \"pk\"").unwrap();
        assert_eq!(s.hash, KeyHash::Sha512);
        assert_eq!(s.known_prefixes(), ["pk", "sk_test"]);
        let c: ApiKeyColumns = toml::from_str("scopes = \"\"\nhash = \"digest\"").unwrap();
        assert_eq!(c.scopes, None);
        assert_eq!(c.hash, "digest");
    }
}
