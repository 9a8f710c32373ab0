//! River's SQL, built once per located table, and its rows mapped onto the
//! normalized model.

use crate::conn::sql::{quote_ident, QualName};
use crate::error::Result;
use crate::jobs::model::{HistoryEntry, Job, QueueSummary, SourceKind, State};
use chrono::{DateTime, Utc};
use tokio_postgres::Row;

pub struct Sql {
    pub version_probe: String,
    pub version: String,
    pub queues: String,
    pub list: String,
    pub show: String,
    pub retry: String,
    pub delete: String,
}

/// River's states read as ours. `pending` (a job held back until something
/// else lets it go) waits like `available`.
pub fn state(river: &str) -> State {
    match river {
        "scheduled" => State::Scheduled,
        "retryable" => State::Retrying,
        "running" => State::Active,
        "completed" => State::Completed,
        "discarded" => State::Failed,
        "cancelled" => State::Cancelled,
        _ => State::Waiting,
    }
}

/// Ours as River's, comma-separated for `string_to_array`.
pub fn river_states(state: State) -> String {
    match state {
        State::Waiting => "available,pending",
        State::Scheduled => "scheduled",
        State::Retrying => "retryable",
        State::Active => "running",
        State::Completed => "completed",
        State::Failed => "discarded",
        State::Cancelled => "cancelled",
    }
    .to_string()
}

/// The contract columns, in the order [`job`] reads them.
const COLUMNS: &str = "j.id::text, j.queue, j.state::text, j.attempt::int8, j.max_attempts::int8,
    j.errors[array_upper(j.errors, 1)]->>'error',
    j.created_at,
    CASE j.state::text
        WHEN 'discarded' THEN j.finalized_at
        WHEN 'retryable' THEN (j.errors[array_upper(j.errors, 1)]->>'at')::timestamptz
    END";

impl Sql {
    pub fn new(table: &QualName) -> Sql {
        let t = table.sql();
        let schema = quote_ident(&table.schema);
        let enum_type = format!("{schema}.river_job_state");
        let enum_literal = crate::conn::sql::literal(&enum_type).unwrap_or_default();
        let migration = format!("{schema}.river_migration");
        let migration_name = crate::conn::sql::literal(&migration).unwrap_or_default();
        // Selected through to_jsonb so one statement reads both layouts:
        // before migration 005 the table had no `line` column.
        let version = format!(
            "SELECT max((to_jsonb(m)->>'version')::int8) FROM {migration} m
             WHERE coalesce(to_jsonb(m)->>'line', 'main') = 'main'"
        );
        let ids =
            "ids AS (SELECT DISTINCT x::int8 AS id FROM jsonb_array_elements_text($1::jsonb) x)";
        let locked = format!(
            "locked AS (SELECT j.id, j.state::text AS state, j.scheduled_at FROM {t} j JOIN ids USING (id) FOR UPDATE OF j)"
        );
        let report = "SELECT ids.id::text, locked.state, changed.id IS NOT NULL
             FROM ids LEFT JOIN locked USING (id) LEFT JOIN changed USING (id) ORDER BY ids.id";
        Sql {
            version_probe: format!("SELECT to_regclass({migration_name}) IS NOT NULL"),
            version,
            queues: format!(
                "SELECT j.queue,
                    count(*) FILTER (WHERE j.state::text IN ('available', 'pending')),
                    count(*) FILTER (WHERE j.state::text = 'scheduled'),
                    count(*) FILTER (WHERE j.state::text = 'running'),
                    count(*) FILTER (WHERE j.state::text = 'completed'),
                    count(*) FILTER (WHERE j.state::text = 'discarded'),
                    count(*) FILTER (WHERE j.state::text = 'cancelled'),
                    count(*) FILTER (WHERE j.state::text = 'retryable'),
                    (extract(epoch FROM now() - min(j.scheduled_at) FILTER (
                        WHERE j.state::text = 'available' AND j.scheduled_at <= now())) * 1000)::int8,
                    count(*) FILTER (WHERE j.state::text = 'discarded' AND j.finalized_at > now() - interval '1 hour'),
                    count(*) FILTER (WHERE j.state::text = 'completed' AND j.finalized_at > now() - interval '1 hour')
                 FROM {t} j GROUP BY j.queue ORDER BY j.queue"
            ),
            list: format!(
                "SELECT {COLUMNS} FROM {t} j
                 WHERE ($1::text IS NULL OR j.queue = $1::text)
                   AND ($2::text IS NULL OR j.state = ANY (ARRAY(
                        SELECT e.enumlabel::text::{enum_type} FROM pg_enum e
                        WHERE e.enumtypid = {enum_literal}::regtype
                          AND e.enumlabel = ANY (string_to_array($2::text, ',')))))
                   AND ($3::text IS NULL OR j.errors[array_upper(j.errors, 1)]->>'error' ILIKE $3::text)
                   AND ($4::text IS NULL OR j.id < $4::int8)
                 ORDER BY j.id DESC LIMIT $5::int8"
            ),
            show: format!(
                "SELECT {COLUMNS}, j.errors[array_upper(j.errors, 1)]->>'trace', j.args,
                    j.attempted_at, j.finalized_at, j.scheduled_at, j.kind,
                    coalesce(to_jsonb(j.errors), '[]'::jsonb), j.metadata
                 FROM {t} j WHERE j.id = $1::int8"
            ),
            // River's JobRetry, for a batch: running jobs and jobs already
            // available and due are left alone.
            retry: format!(
                "WITH {ids}, {locked},
                 changed AS (
                    UPDATE {t} j SET state = 'available', scheduled_at = now(), finalized_at = NULL,
                        max_attempts = CASE WHEN j.attempt = j.max_attempts THEN j.max_attempts + 1 ELSE j.max_attempts END
                    FROM locked l
                    WHERE j.id = l.id AND l.state <> 'running'
                      AND NOT (l.state = 'available' AND l.scheduled_at < now())
                    RETURNING j.id)
                 {report}"
            ),
            // River's JobDelete, for a batch: running jobs are left alone.
            delete: format!(
                "WITH {ids}, {locked},
                 changed AS (
                    DELETE FROM {t} j USING locked l
                    WHERE j.id = l.id AND l.state <> 'running'
                    RETURNING j.id)
                 {report}"
            ),
        }
    }
}

/// A row of [`COLUMNS`].
pub fn job(r: &Row) -> Result<Job> {
    let river_state: String = r.try_get(2)?;
    let mut job = Job::new(
        SourceKind::River,
        r.try_get(1)?,
        r.try_get(0)?,
        state(&river_state),
    );
    job.attempts = r.try_get(3)?;
    job.max_attempts = r.try_get(4)?;
    job.error = r.try_get(5)?;
    job.created_at = r.try_get(6)?;
    job.failed_at = r.try_get(7)?;
    Ok(job)
}

/// A row of the `show` statement: [`COLUMNS`] and the detail.
pub fn detail(r: &Row) -> Result<Job> {
    let mut job = job(r)?;
    job.stack = r.try_get(8)?;
    job.payload = r.try_get(9)?;
    job.started_at = r.try_get(10)?;
    job.finished_at = r.try_get(11)?;
    job.run_at = r.try_get(12)?;
    job.name = r.try_get(13)?;
    let errors: serde_json::Value = r.try_get(14)?;
    job.history = history(&errors);
    Ok(job)
}

/// River's `errors` (one `{at, attempt, error, trace}` per failed attempt).
pub fn history(errors: &serde_json::Value) -> Vec<HistoryEntry> {
    let Some(list) = errors.as_array() else {
        return Vec::new();
    };
    list.iter()
        .map(|e| HistoryEntry {
            at: e["at"]
                .as_str()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc)),
            event: "error".into(),
            attempt: e["attempt"].as_i64(),
            error: e["error"].as_str().map(str::to_string),
        })
        .collect()
}

pub fn summary(r: &Row) -> QueueSummary {
    let mut s = QueueSummary::new(SourceKind::River, r.get(0));
    s.counts.waiting = r.get(1);
    s.counts.scheduled = r.get(2);
    s.counts.active = r.get(3);
    s.counts.completed = r.get(4);
    s.counts.failed = r.get(5);
    s.counts.cancelled = r.get(6);
    s.counts.retrying = r.get(7);
    s.oldest_waiting_ms = r.get(8);
    s.failed_last_hour = r.get(9);
    s.completed_last_hour = r.get(10);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_round_trips() {
        for s in State::ALL {
            for river in river_states(s).split(',') {
                assert_eq!(state(river), s, "{river}");
            }
        }
    }

    #[test]
    fn history_reads_rivers_error_records() {
        let errors = serde_json::json!([
            {"at": "2024-03-01T10:00:00.123456789Z", "attempt": 1, "error": "boom", "trace": "main.go:1"},
            {"at": "not a time", "attempt": 2, "error": "again"}
        ]);
        let h = history(&errors);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].attempt, Some(1));
        assert_eq!(h[0].error.as_deref(), Some("boom"));
        assert!(h[0].at.is_some());
        assert!(h[1].at.is_none());
        assert!(history(&serde_json::Value::Null).is_empty());
    }
}
