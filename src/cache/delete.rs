//! `cache del KEY…`: destructive, through the safety layer, with UNLINK.

use super::keyname::escape;
use super::unlink::unlink_routed;
use crate::conn::redis::Redis;
use crate::error::Result;
use crate::safety::{Authorized, Intent, Mutation, Risk};
use serde::Serialize;
use serde_json::json;

/// Keys listed by name in the audit parameters; the count is always there.
const AUDIT_KEYS: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct Deleted {
    pub requested: u64,
    /// Keys that existed and were removed.
    pub deleted: u64,
}

/// Keys to delete, described for approval.
pub struct Deletion {
    keys: Vec<Vec<u8>>,
    intent: Intent,
}

impl Mutation for Deletion {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

impl Deletion {
    /// Deleting `keys`: the target to type is the key itself, or "N keys".
    pub fn new(keys: Vec<Vec<u8>>, redis_target: &str) -> Deletion {
        let intent = intent(&keys, redis_target);
        Deletion { keys, intent }
    }
}

fn intent(keys: &[Vec<u8>], redis_target: &str) -> Intent {
    let target = match keys {
        [one] => escape(one),
        many => format!("{} keys", many.len()),
    };
    let shown: Vec<String> = keys.iter().take(AUDIT_KEYS).map(|k| escape(k)).collect();
    let summary = match keys {
        [one] => format!("Delete key '{}' on redis {redis_target}.", escape(one)),
        many => format!("Delete {} keys on redis {redis_target}.", many.len()),
    };
    Intent::new("cache.del", target, Risk::Destructive, summary)
        .with_params(json!({"keys": shown, "count": keys.len(), "redis": redis_target}))
}

pub async fn del(redis: &Redis, approved: Authorized<Deletion>) -> Result<Deleted> {
    approved
        .run(
            |d, _| async move {
                let deleted = unlink_routed(redis, &d.keys).await?;
                Ok(Deleted {
                    requested: d.keys.len() as u64,
                    deleted,
                })
            },
            |d| json!({"requested": d.requested, "deleted": d.deleted}),
        )
        .await
}
