//! pgroll: `pgroll.migrations (schema, name, migration jsonb, parent, done,
//! migration_type, created_at, updated_at)`, one history per managed
//! schema. A migration not `done` is in its expand phase: old and new
//! versions are served through version schemas `<schema>_<version>`, and
//! writes go through pgroll's triggers until it is completed or rolled back.

use super::{Problem, ProblemKind, Tool, ToolStatus};
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::Result;
use chrono::{DateTime, Utc};

pub async fn read(pg: &Pg, table: QualName) -> Result<Vec<ToolStatus>> {
    let sql = format!(
        "SELECT m.schema::text, m.name::text, m.done, m.created_at::timestamptz,
                m.updated_at::timestamptz,
                CASE WHEN NOT m.done THEN extract(epoch FROM now() - m.created_at)::float8 * 1000 END,
                CASE WHEN NOT m.done THEN ARRAY(
                  SELECT n.nspname::text FROM pg_namespace n
                   WHERE starts_with(n.nspname::text, m.schema::text || '_') ORDER BY 1) END,
                CASE WHEN NOT m.done THEN (
                  SELECT count(*) FROM pg_trigger t
                    JOIN pg_class c ON c.oid = t.tgrelid
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = m.schema AND starts_with(t.tgname::text, '_pgroll_trigger_')) END
           FROM {} m ORDER BY m.schema, m.created_at, m.name",
        table.sql()
    );
    let rows = pg.rows(&sql, &[]).await?;
    let mut out: Vec<ToolStatus> = Vec::new();
    for r in &rows {
        let schema: String = r.get(0);
        let name: String = r.get(1);
        let done: bool = r.get(2);
        let created_at: DateTime<Utc> = r.get(3);
        let updated_at: DateTime<Utc> = r.get(4);
        let label = format!("{} ({schema})", table.display());
        if out.last().is_none_or(|s| s.table != label) {
            out.push(ToolStatus::new(Tool::Pgroll, label));
        }
        let Some(status) = out.last_mut() else {
            continue;
        };
        if done {
            status.applied_count += 1;
            status.history.push(super::Applied {
                name: name.clone(),
                at: Some(updated_at),
            });
            status.latest = Some(name);
            status.latest_at = Some(updated_at);
            continue;
        }
        let age_ms: f64 = r.get::<_, Option<f64>>(5).unwrap_or(0.0);
        let versions: Vec<String> = r.get::<_, Option<Vec<String>>>(6).unwrap_or_default();
        let triggers: i64 = r.get::<_, Option<i64>>(7).unwrap_or(0);
        status.problems.push(Problem {
            kind: ProblemKind::InProgress,
            detail: format!(
                "in its expand phase for {}; version schemas: {}; writes go through {triggers} pgroll trigger(s) until pgroll complete or pgroll rollback",
                crate::units::millis(age_ms),
                if versions.is_empty() { "none".to_string() } else { versions.join(", ") },
            ),
            migration: name,
            since: Some(created_at),
        });
    }
    Ok(out)
}
