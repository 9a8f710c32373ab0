//! opsdeck's own audit log: every mutation is recorded before and after, in a
//! local append-only JSONL file always, and in `opsdeck.audit` once
//! `opsdeck init` has created it. A failure to reach the database copy never
//! loses the local one.

mod actor;
mod db;
mod local;
mod record;

pub use actor::Actor;
pub use db::{install_schema, SchemaInstall};
pub use record::{AuditEntry, AuditRecord, Outcome, Phase, Store};

use crate::conn::Pg;
use crate::error::Result;
use crate::safety::Intent;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Audit {
    local: PathBuf,
    db: Option<Arc<Pg>>,
    actor: Actor,
    context: String,
}

impl Audit {
    pub fn new(local: PathBuf, db: Option<Arc<Pg>>, actor: Actor, context: String) -> Audit {
        Audit {
            local,
            db,
            actor,
            context,
        }
    }

    pub fn local_path(&self) -> &std::path::Path {
        &self.local
    }

    fn record(&self, op_id: &str, phase: Phase, intent: &Intent) -> AuditRecord {
        AuditRecord {
            op_id: op_id.to_string(),
            ts: chrono::Utc::now(),
            phase,
            actor: self.actor.os.clone(),
            db_role: self.actor.db_role.clone(),
            context: self.context.clone(),
            action: intent.action.clone(),
            target: intent.target.clone(),
            params: record::redact(&intent.params),
            outcome: None,
            detail: Value::Null,
            duration_ms: None,
        }
    }

    /// The local write must succeed before the operation may start: an
    /// operation that cannot be audited is not run.
    pub(crate) async fn start(&self, intent: &Intent) -> Result<String> {
        let op_id = record::new_op_id();
        let rec = self.record(&op_id, Phase::Start, intent);
        local::append(&self.local, &rec)?;
        self.to_db(&rec).await;
        Ok(op_id)
    }

    pub(crate) async fn finish(
        &self,
        op_id: &str,
        intent: &Intent,
        outcome: Outcome,
        detail: Value,
        took: Duration,
    ) {
        let mut rec = self.record(op_id, Phase::End, intent);
        rec.outcome = Some(outcome);
        rec.detail = record::redact(&detail);
        rec.duration_ms = Some(took.as_millis() as u64);
        if let Err(e) = local::append(&self.local, &rec) {
            tracing::error!("audit: local write failed after the operation ran: {e}");
        }
        self.to_db(&rec).await;
    }

    /// The end record of a run dropped before it ended (its task aborted, a
    /// panic): written to the local file synchronously, since nothing may be
    /// awaited here, and to the database when a runtime is still there to
    /// do it.
    pub(crate) fn finish_on_drop(&self, op_id: &str, intent: &Intent, done: Value, took: Duration) {
        let mut rec = self.record(op_id, Phase::End, intent);
        rec.outcome = Some(Outcome::Aborted);
        rec.detail = record::redact(&done);
        rec.duration_ms = Some(took.as_millis() as u64);
        if let Err(e) = local::append(&self.local, &rec) {
            tracing::error!("audit: local end record of an aborted operation not written: {e}");
        }
        if let (Some(pg), Ok(rt)) = (self.db.clone(), tokio::runtime::Handle::try_current()) {
            rt.spawn(async move {
                if let Err(e) = db::insert(&pg, &rec).await {
                    tracing::warn!("audit: database copy not written ({e}); the local file has it");
                }
            });
        }
    }

    /// Records a refusal; `to_db` is false for a read-only context, whose
    /// sessions cannot write opsdeck.audit (the local file still has it).
    pub(crate) async fn refused(&self, intent: &Intent, reason: &str, to_db: bool) {
        let mut rec = self.record(&record::new_op_id(), Phase::End, intent);
        rec.outcome = Some(Outcome::Refused);
        rec.detail = Value::String(reason.to_string());
        rec.duration_ms = Some(0);
        if let Err(e) = local::append(&self.local, &rec) {
            tracing::warn!("audit: could not record a refusal: {e}");
        }
        if to_db {
            self.to_db(&rec).await;
        }
    }

    async fn to_db(&self, rec: &AuditRecord) {
        if let Some(pg) = &self.db {
            if let Err(e) = db::insert(pg, rec).await {
                tracing::warn!("audit: database copy not written ({e}); the local file has it");
            }
        }
    }

    /// Reads entries newest first from both stores, merged: the local file
    /// holds what the database never got (refusals in read-only contexts,
    /// anything written while it was down), the database what other
    /// machines wrote. Each entry says where its records are kept.
    pub async fn list(
        &self,
        since: Option<chrono::DateTime<chrono::Utc>>,
        actor: Option<&str>,
    ) -> Result<Vec<AuditEntry>> {
        let (local_records, capped) = local::read(&self.local, since)?;
        if capped {
            tracing::warn!(
                "the local audit log {} holds more than {} records in this range; the oldest are left out (narrow it with --since)",
                self.local.display(),
                local::MAX_RECORDS
            );
        }
        let mut records: Vec<(Store, AuditRecord)> = local_records
            .into_iter()
            .map(|r| (Store::Local, r))
            .collect();
        if let Some(pg) = &self.db {
            if db::has_schema(pg).await? {
                records.extend(
                    db::read(pg, since)
                        .await?
                        .into_iter()
                        .map(|r| (Store::Database, r)),
                );
            }
        }
        Ok(record::entries(records, since, actor))
    }
}
