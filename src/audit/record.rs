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
    /// Stopped from outside before it could report (task aborted, panic,
    /// process ending); the detail says what had been done.
    Aborted,
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
            Outcome::Aborted => "aborted",
            Outcome::Incomplete => "incomplete",
        }
    }

    /// Reads back what [`Outcome::as_str`] wrote; unknown text is incomplete.
    pub fn parse(s: &str) -> Outcome {
        [
            Outcome::Ok,
            Outcome::Error,
            Outcome::Refused,
            Outcome::Cancelled,
            Outcome::Aborted,
        ]
        .into_iter()
        .find(|o| o.as_str() == s)
        .unwrap_or(Outcome::Incomplete)
    }
}

/// Where a record is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    Local,
    Database,
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
    /// The stores holding this operation's records.
    pub stored_in: Vec<Store>,
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

/// Merges start/end records from both stores into one entry per operation,
/// newest first; the same record in both stores counts once.
pub fn entries(
    records: Vec<(Store, AuditRecord)>,
    since: Option<chrono::DateTime<chrono::Utc>>,
    actor: Option<&str>,
) -> Vec<AuditEntry> {
    let mut by_op: std::collections::HashMap<String, AuditEntry> = Default::default();
    for (store, r) in records {
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
            stored_in: Vec::new(),
        });
        if !e.stored_in.contains(&store) {
            e.stored_in.push(store);
            e.stored_in.sort();
        }
        if r.ts < e.started_at {
            e.started_at = r.ts;
        }
        // An end record from either store closes the entry; a second copy of
        // the same end record changes nothing.
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

    fn rec(op: &str, phase: Phase, outcome: Option<Outcome>) -> AuditRecord {
        AuditRecord {
            op_id: op.into(),
            ts: chrono::Utc::now(),
            phase,
            actor: "u@h".into(),
            db_role: None,
            context: "c".into(),
            action: "tenants.suspend".into(),
            target: "acme".into(),
            params: Value::Null,
            outcome,
            detail: Value::Null,
            duration_ms: None,
        }
    }

    #[test]
    fn merges_both_stores_and_says_where_records_are() {
        let both = [
            (Store::Local, rec("a", Phase::Start, None)),
            (Store::Database, rec("a", Phase::Start, None)),
            (Store::Local, rec("a", Phase::End, Some(Outcome::Ok))),
            (Store::Database, rec("a", Phase::End, Some(Outcome::Ok))),
            (Store::Local, rec("b", Phase::End, Some(Outcome::Refused))),
            (Store::Database, rec("c", Phase::Start, None)),
            (Store::Local, rec("c", Phase::End, Some(Outcome::Aborted))),
        ];
        let e = entries(both.to_vec(), None, None);
        assert_eq!(e.len(), 3);
        let by = |op: &str| e.iter().find(|x| x.op_id == op).unwrap();
        assert_eq!(by("a").stored_in, vec![Store::Local, Store::Database]);
        assert_eq!(by("a").outcome, Outcome::Ok);
        assert_eq!(by("b").stored_in, vec![Store::Local]);
        assert_eq!(by("c").outcome, Outcome::Aborted);
        assert_eq!(by("c").stored_in, vec![Store::Local, Store::Database]);
    }

    #[test]
    fn outcomes_read_back() {
        for o in [
            Outcome::Ok,
            Outcome::Error,
            Outcome::Refused,
            Outcome::Cancelled,
            Outcome::Aborted,
        ] {
            assert_eq!(Outcome::parse(o.as_str()), o);
        }
        assert_eq!(Outcome::parse("???"), Outcome::Incomplete);
    }
}
