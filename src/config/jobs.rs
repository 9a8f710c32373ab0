//! `[contexts.NAME.jobs]`: which job systems to read (detected by default),
//! where each keeps its jobs, where payloads carry the tenant id, and the
//! column names of a home-grown jobs table and transactional outbox.

use crate::jobs::SourceKind;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JobsConfig {
    /// Only these sources are read; unset: every one detected.
    pub sources: Option<Vec<SourceKind>>,
    /// Dot-separated path of the tenant id inside a job's payload
    /// (`tenantId`, `meta.tenant.id`); unset: the schema's tenant column name.
    pub tenant_path: Option<String>,
    /// BullMQ's key prefix (`bull` gives `bull:<queue>:…`).
    pub bullmq_prefix: String,
    pub pgboss_schema: String,
    pub graphile_schema: String,
    /// River's jobs table, optionally schema-qualified.
    pub river_table: String,
    pub table: Option<TableJobs>,
    pub outbox: Option<Outbox>,
}

impl Default for JobsConfig {
    fn default() -> Self {
        JobsConfig {
            sources: None,
            tenant_path: None,
            bullmq_prefix: "bull".into(),
            pgboss_schema: "pgboss".into(),
            graphile_schema: "graphile_worker".into(),
            river_table: "river_job".into(),
            table: None,
            outbox: None,
        }
    }
}

impl JobsConfig {
    /// Whether `kind` is read in this context.
    pub fn wants(&self, kind: SourceKind) -> bool {
        self.sources.as_ref().is_none_or(|s| s.contains(&kind))
    }
}

/// A plain jobs table of the application's own, named column by column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableJobs {
    /// Optionally schema-qualified.
    pub table: String,
    pub id_column: String,
    pub queue_column: Option<String>,
    pub state_column: String,
    pub attempts_column: Option<String>,
    pub max_attempts_column: Option<String>,
    pub error_column: Option<String>,
    pub payload_column: Option<String>,
    pub created_at_column: Option<String>,
    pub failed_at_column: Option<String>,
    pub run_at_column: Option<String>,
    /// The task or job name beside the queue.
    pub name_column: Option<String>,
    /// When a job finished (completed or failed), for the last hour's rates.
    pub finished_at_column: Option<String>,
    /// The application's state values per normalized state; unset states
    /// keep [`TableStates::default`]'s common spellings.
    #[serde(default)]
    pub states: TableStates,
    /// The state a retried job is given; unset: the first `waiting` value.
    pub retry_state: Option<String>,
    /// The state a discarded job is given; unset: the row is deleted.
    pub discard_state: Option<String>,
}

/// Which values of the state column mean which normalized state.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TableStates {
    pub waiting: Vec<String>,
    pub scheduled: Vec<String>,
    pub active: Vec<String>,
    pub completed: Vec<String>,
    pub failed: Vec<String>,
    pub cancelled: Vec<String>,
    pub retrying: Vec<String>,
}

impl Default for TableStates {
    fn default() -> Self {
        let v = |names: &[&str]| names.iter().map(|n| n.to_string()).collect();
        TableStates {
            waiting: v(&["queued", "pending", "waiting", "new", "ready", "available"]),
            scheduled: v(&["scheduled", "delayed"]),
            active: v(&["running", "active", "processing", "in_progress", "locked"]),
            completed: v(&["completed", "done", "succeeded", "success", "finished"]),
            failed: v(&["failed", "dead", "error", "errored", "discarded"]),
            cancelled: v(&["cancelled", "canceled"]),
            retrying: v(&["retrying", "retry", "retryable"]),
        }
    }
}

/// A transactional outbox: rows with a published marker and attempts.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Outbox {
    pub table: String,
    pub id_column: String,
    /// Timestamp set once the row is published; NULL while pending.
    pub published_at_column: String,
    pub created_at_column: String,
    pub attempts_column: Option<String>,
    pub error_column: Option<String>,
    pub topic_column: Option<String>,
    pub payload_column: Option<String>,
}
