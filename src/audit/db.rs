//! The database copy in `opsdeck.audit`, created by `opsdeck init`.

use super::{AuditRecord, Outcome, Phase};
use crate::conn::Pg;
use crate::error::Result;
use crate::safety::{Authorized, Intent, Mutation, Risk};

// Each statement carries the mark (conn::mark), which `Pg::batch` puts
// only after the first keyword of a script.
const DB_SCHEMA_SQL: &str = r#"
CREATE /* opsdeck */ SCHEMA IF NOT EXISTS opsdeck;
CREATE /* opsdeck */ TABLE IF NOT EXISTS opsdeck.audit (
    id          bigserial PRIMARY KEY,
    op_id       text NOT NULL,
    ts          timestamptz NOT NULL,
    phase       text NOT NULL CHECK (phase IN ('start', 'end')),
    actor       text NOT NULL,
    db_role     text,
    context     text NOT NULL,
    action      text NOT NULL,
    target      text NOT NULL,
    params      jsonb,
    outcome     text,
    detail      jsonb,
    duration_ms bigint
);
CREATE /* opsdeck */ INDEX IF NOT EXISTS audit_ts_idx ON opsdeck.audit (ts DESC);
CREATE /* opsdeck */ INDEX IF NOT EXISTS audit_op_idx ON opsdeck.audit (op_id);
CREATE /* opsdeck */ TABLE IF NOT EXISTS opsdeck.drills (
    id              bigserial PRIMARY KEY,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    status          text NOT NULL,
    source          text NOT NULL,
    backup_taken_at timestamptz,
    rpo_ms          bigint,
    rto_ms          bigint,
    checks          jsonb NOT NULL DEFAULT '[]'
);
ALTER /* opsdeck */ TABLE opsdeck.drills ADD COLUMN IF NOT EXISTS target text;
ALTER /* opsdeck */ TABLE opsdeck.drills ADD COLUMN IF NOT EXISTS operator text;
ALTER /* opsdeck */ TABLE opsdeck.drills ADD COLUMN IF NOT EXISTS context text;
ALTER /* opsdeck */ TABLE opsdeck.drills ADD COLUMN IF NOT EXISTS report jsonb;
"#;

/// `opsdeck init` as a planned change: the only way to create the schema.
pub struct SchemaInstall {
    intent: Intent,
}

impl SchemaInstall {
    /// Creating the schema in the database `target` names.
    pub fn new(target: &str) -> SchemaInstall {
        SchemaInstall {
            intent: Intent::new(
                "opsdeck.init",
                target,
                Risk::Mutating,
                format!("Create schema 'opsdeck' (audit log, drill history) in {target}."),
            ),
        }
    }
}

impl Mutation for SchemaInstall {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

pub async fn install_schema(pg: &Pg, approved: Authorized<SchemaInstall>) -> Result<()> {
    approved
        .run(
            |_, _| async { pg.batch(DB_SCHEMA_SQL).await },
            |_| serde_json::json!({"schema": "opsdeck"}),
        )
        .await
}

pub async fn has_schema(pg: &Pg) -> Result<bool> {
    let row = pg
        .row("SELECT to_regclass('opsdeck.audit') IS NOT NULL", &[])
        .await?;
    Ok(row.get(0))
}

pub async fn insert(pg: &Pg, r: &AuditRecord) -> Result<()> {
    if !has_schema(pg).await? {
        return Ok(());
    }
    let phase = match r.phase {
        Phase::Start => "start",
        Phase::End => "end",
    };
    let ts = r.ts.to_rfc3339();
    let params = r.params.to_string();
    let detail = r.detail.to_string();
    let duration = r.duration_ms.map(|d| d.to_string());
    pg.rows_nullable(
        "INSERT INTO opsdeck.audit (op_id, ts, phase, actor, db_role, context, action, target, params, outcome, detail, duration_ms)
         VALUES ($1, $2::timestamptz, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11::jsonb, $12::int8)",
        &[
            Some(&r.op_id),
            Some(&ts),
            Some(phase),
            Some(&r.actor),
            r.db_role.as_deref(),
            Some(&r.context),
            Some(&r.action),
            Some(&r.target),
            Some(&params),
            r.outcome.map(Outcome::as_str),
            Some(&detail),
            duration.as_deref(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn read(
    pg: &Pg,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Vec<AuditRecord>> {
    let since = since.map(|s| s.to_rfc3339());
    let rows = pg
        .rows_nullable(
            "SELECT op_id, ts, phase, actor, db_role, context, action, target,
                    coalesce(params, 'null'::jsonb), outcome, coalesce(detail, 'null'::jsonb), duration_ms
             FROM opsdeck.audit
             WHERE $1::timestamptz IS NULL OR ts >= $1::timestamptz
             ORDER BY ts DESC LIMIT 10000",
            &[since.as_deref()],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| AuditRecord {
            op_id: row.get(0),
            ts: row.get(1),
            phase: if row.get::<_, String>(2) == "start" {
                Phase::Start
            } else {
                Phase::End
            },
            actor: row.get(3),
            db_role: row.get(4),
            context: row.get(5),
            action: row.get(6),
            target: row.get(7),
            params: row.get(8),
            outcome: row.get::<_, Option<String>>(9).map(|s| Outcome::parse(&s)),
            detail: row.get(10),
            duration_ms: row.get::<_, Option<i64>>(11).map(|d| d as u64),
        })
        .collect())
}
