//! API keys (DESIGN.md section 1): the key format, listing and lookup in
//! the mapped keys table, and create/revoke/rotate through the safety
//! layer. What opsdeck writes is what the backend checks: the hex digest of
//! the whole key, looked up by hash, with `revoked_at` and `expires_at`
//! deciding whether it still works. The secret exists only in the
//! [`Created`] value handed to the front end, which shows it once.

pub mod cursor;
pub mod format;
pub mod meta;
pub mod plan;
pub mod store;
pub mod verify;
mod write;

pub use plan::{
    apply_create, apply_revoke, apply_rotate, create_intent, plan_create, plan_revoke, plan_rotate,
    revoke_intent, rotate_intent, CreatePlan, CreateRequest, Created, Revocation, RevokePlan,
    Revoked, RotatePlan, Rotated,
};
pub use store::{expiring, get, page, Expiring, ListQuery, Page, TenantKeys};
pub use verify::{verify, Verdict};

use crate::error::{Error, Result};
use serde::Serialize;

/// One API key as operators see it; never the hash, never the secret.
/// Text from the server, so ids of any type round-trip unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyRow {
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    /// The display prefix: `<prefix>_` and the first few random characters.
    pub prefix: Option<String>,
    pub scopes: Vec<String>,
    /// RFC 3339 UTC.
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Id of the key that replaced this one (rotation).
    pub replaced_by: Option<String>,
    pub created_by: Option<String>,
    pub state: KeyState,
}

impl KeyRow {
    /// How operators name the key in messages: its prefix and id.
    pub fn label(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p} (id {})", self.id),
            None => format!("id {}", self.id),
        }
    }
}

/// Where a key stands by the server's clock: revoked once `revoked_at` is
/// set, expired once `expires_at` has passed, expiring within the
/// context's `api_keys.expiring_days`, else active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    Active,
    Expiring,
    Expired,
    Revoked,
}

impl KeyState {
    pub const ALL: [KeyState; 4] = [
        KeyState::Active,
        KeyState::Expiring,
        KeyState::Expired,
        KeyState::Revoked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Expiring => "expiring",
            KeyState::Expired => "expired",
            KeyState::Revoked => "revoked",
        }
    }

    /// Whether the key still authenticates (neither revoked nor expired).
    pub fn usable(self) -> bool {
        matches!(self, KeyState::Active | KeyState::Expiring)
    }
}

impl std::str::FromStr for KeyState {
    type Err = Error;
    fn from_str(s: &str) -> Result<KeyState> {
        KeyState::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "unknown key state '{s}': use active, expiring, expired or revoked"
                ))
            })
    }
}
