//! The audit record as written, and the merged view `audit list` shows.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Start,
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Ok,
    Error,
    Refused,
    Cancelled,
    /// Started but no end record: the process died mid-operation.
    Incomplete,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Refused => "refused",
            Outcome::Cancelled => "cancelled",
            Outcome::Incomplete => "incomplete",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    pub op_id: String,
    pub ts: chrono::DateTime<chrono::Utc>,
    pub phase: Phase,
    pub actor: String,
    pub db_role: Option<String>,
    pub context: String,
    pub action: String,
    pub target: String,
    pub params: Value,
    pub outcome: Option<Outcome>,
    pub detail: Value,
    pub duration_ms: Option<u64>,
}

/// One operation as `audit list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct AuditEntry {
    pub op_id: String,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub actor: String,
    pub db_role: Option<String>,
    pub context: String,
    pub action: String,
    pub target: String,
    pub params: Value,
    pub outcome: Outcome,
    pub detail: Value,
    pub duration_ms: Option<u64>,
}

pub fn new_op_id() -> String {
    use rand::Rng;
    let r: u64 = rand::thread_rng().gen();
    format!("{}-{r:016x}", chrono::Utc::now().format("%Y%m%dT%H%M%S"))
}

const SECRET_WORDS: &[&str] = &[
    "password",
    "secret",
    "token",
    "key_hash",
    "plaintext",
    "api_key",
];

/// Masks values under secret-looking names, however deep.
pub fn redact(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_ascii_lowercase();
                    if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
                        (k.clone(), Value::String("[redacted]".into()))
                    } else {
                        (k.clone(), redact(v))
                    }
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// Merges start/end records into one entry per operation, newest first.
pub fn entries(
    records: Vec<AuditRecord>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    actor: Option<&str>,
) -> Vec<AuditEntry> {
    let mut by_op: std::collections::HashMap<String, AuditEntry> = Default::default();
    for r in records {
        let e = by_op.entry(r.op_id.clone()).or_insert_with(|| AuditEntry {
            op_id: r.op_id.clone(),
            started_at: r.ts,
            actor: r.actor.clone(),
            db_role: r.db_role.clone(),
            context: r.context.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            params: r.params.clone(),
            outcome: Outcome::Incomplete,
            detail: Value::Null,
            duration_ms: None,
        });
        if r.ts < e.started_at {
            e.started_at = r.ts;
        }
        if r.phase == Phase::End {
            e.outcome = r.outcome.unwrap_or(Outcome::Incomplete);
            e.detail = r.detail;
            e.duration_ms = r.duration_ms;
        }
    }
    let mut out: Vec<AuditEntry> = by_op
        .into_values()
        .filter(|e| since.is_none_or(|s| e.started_at >= s))
        .filter(|e| actor.is_none_or(|a| e.actor.contains(a) || e.db_role.as_deref() == Some(a)))
        .collect();
    out.sort_by_key(|e| std::cmp::Reverse(e.started_at));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacts_nested_secrets() {
        let v = json!({"name": "ci", "password": "hunter2", "nested": [{"api_key": "sk_live_x"}]});
        let r = redact(&v);
        assert_eq!(r["name"], "ci");
        assert_eq!(r["password"], "[redacted]");
        assert_eq!(r["nested"][0]["api_key"], "[redacted]");
        assert!(!r.to_string().contains("hunter2"));
    }
}
