//! pg-boss (v10+ layout: `pgboss.job` partitioned by queue name, the
//! `pgboss.queue` table, the `pgboss.job_state` enum). Retry and discard are
//! pg-boss's own statements (`retryJobs` and `deleteJobsById` in its
//! plans.js), written only on the schema versions tested here.

use super::model::{Filter, HistoryEntry, Job, QueueSummary, SourceKind, State, WriteReport};
use super::registry::{Backends, Found};
use super::source::JobSource;
use crate::config::jobs::JobsConfig;
use crate::conn::sql::{contains_pattern, quote_ident};
use crate::conn::Pg;
use crate::error::{Error, Result};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_postgres::Row;

/// `pgboss.version` values whose layout the writes below were checked
/// against (pg-boss 12.38 is 46).
pub const WRITABLE_VERSIONS: &[i32] = &[46];

pub struct PgBoss {
    pg: Arc<Pg>,
    /// Quoted schema name.
    schema: String,
    /// The queues, once a write has checked the version.
    queues_seen: tokio::sync::OnceCell<Vec<String>>,
}

pub fn detect<'a>(b: &'a Backends, cfg: &'a JobsConfig) -> BoxFuture<'a, Result<Found>> {
    Box::pin(async move {
        let Some(pg) = &b.pg else { return Ok(None) };
        if !cfg.wants(SourceKind::Pgboss) {
            return Ok(None);
        }
        let schema = quote_ident(&cfg.pgboss_schema);
        let here: bool = pg
            .row(
                "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL",
                &[&format!("{schema}.job"), &format!("{schema}.queue")],
            )
            .await?
            .get(0);
        Ok(here
            .then(|| Box::new(PgBoss::new(pg.clone(), &cfg.pgboss_schema)) as Box<dyn JobSource>))
    })
}

impl PgBoss {
    pub fn new(pg: Arc<Pg>, schema: &str) -> PgBoss {
        PgBoss {
            pg,
            schema: quote_ident(schema),
            queues_seen: tokio::sync::OnceCell::new(),
        }
    }

    fn columns(&self) -> String {
        format!(
            "j.name, j.id::text AS id, j.state::text AS state, j.retry_count, j.retry_limit,
             j.output->>'message' AS message, j.created_on, j.started_on, j.completed_on, j.start_after,
             j.start_after > {s}.job_now() AS later",
            s = self.schema
        )
    }

    async fn page(&self, f: &Filter, after: Option<String>, n: u64) -> Result<Vec<Job>> {
        let s = &self.schema;
        let mut w = super::page::Where::default();
        if let Some(q) = &f.queue {
            let p = w.param(q.as_str());
            w.and(format!("j.name = {p}::text"));
        }
        if let Some(state) = f.state {
            let p = w.param(native_states(state));
            w.and(format!("j.state = {p}::text::{s}.job_state"));
            // created rows split into waiting and scheduled by start_after.
            match state {
                State::Waiting => w.and(format!("j.start_after <= {s}.job_now()")),
                State::Scheduled => w.and(format!("j.start_after > {s}.job_now()")),
                _ => {}
            }
        }
        if let Some(e) = &f.error_like {
            let p = w.param(contains_pattern(e));
            w.and(format!("j.output->>'message' ILIKE {p}::text"));
        }
        if let Some(a) = after {
            let (name, id) = self.position(&a).await?;
            let (pn, pi) = (w.param(name), w.param(id));
            w.and(format!("(j.name, j.id) > ({pn}::text, {pi}::uuid)"));
        }
        let sql = format!(
            "SELECT {cols} FROM {s}.job j WHERE {cond} ORDER BY j.name, j.id LIMIT {n}",
            cols = self.columns(),
            cond = w.sql()
        );
        let rows = self.pg.rows(&sql, &w.refs()).await?;
        Ok(rows.iter().map(job).collect())
    }

    /// Where a listing resumes: `queue/id` as [`cursor`] writes it, or a
    /// bare job id whose queue is looked up.
    async fn position(&self, after: &str) -> Result<(String, String)> {
        let bad = || {
            Error::Usage(format!(
                "--after {after} is not a pg-boss job id (a UUID) or a cursor opsdeck printed"
            ))
        };
        if let Some((queue, id)) = after.rsplit_once('/') {
            return is_uuid(id)
                .then(|| (queue.to_string(), id.to_string()))
                .ok_or_else(bad);
        }
        if !is_uuid(after) {
            return Err(bad());
        }
        let sql = format!(
            "SELECT name FROM {s}.job WHERE id = $1::uuid AND name = ANY(ARRAY(SELECT name FROM {s}.queue))",
            s = self.schema
        );
        match self.pg.row_opt(&sql, &[after]).await? {
            Some(r) => Ok((r.get(0), after.to_string())),
            None => Err(Error::NotFound(format!("pg-boss job {after}"))),
        }
    }

    async fn check(&self) -> Result<String> {
        let row = self
            .pg
            .row_opt(&format!("SELECT version FROM {}.version", self.schema), &[])
            .await?;
        writable(row.map(|r| r.get(0)))
    }

    async fn summaries(&self) -> Result<Vec<QueueSummary>> {
        let sql = format!(
            "SELECT q.name, q.dead_letter,
               count(j.id) FILTER (WHERE j.state = 'created' AND j.start_after <= {s}.job_now()) AS waiting,
               count(j.id) FILTER (WHERE j.state = 'created' AND j.start_after > {s}.job_now()) AS scheduled,
               count(j.id) FILTER (WHERE j.state = 'active') AS active,
               count(j.id) FILTER (WHERE j.state = 'completed') AS completed,
               count(j.id) FILTER (WHERE j.state = 'failed') AS failed,
               count(j.id) FILTER (WHERE j.state = 'cancelled') AS cancelled,
               count(j.id) FILTER (WHERE j.state = 'retry') AS retrying,
               (extract(epoch FROM {s}.job_now() - min(j.start_after) FILTER (WHERE j.state IN ('created', 'retry') AND j.start_after <= {s}.job_now())) * 1000)::bigint AS oldest_ms,
               count(j.id) FILTER (WHERE j.state = 'failed' AND j.completed_on > {s}.job_now() - interval '1 hour') AS failed_1h,
               count(j.id) FILTER (WHERE j.state = 'completed' AND j.completed_on > {s}.job_now() - interval '1 hour') AS completed_1h
             FROM {s}.queue q LEFT JOIN {s}.job j ON j.name = q.name
             GROUP BY q.name, q.dead_letter ORDER BY q.name",
            s = self.schema
        );
        let rows = self.pg.rows(&sql, &[]).await?;
        let mut out: Vec<(QueueSummary, Option<String>)> = rows
            .iter()
            .map(|r| {
                let mut q = QueueSummary::new(SourceKind::Pgboss, r.get("name"));
                for (state, col) in [
                    (State::Waiting, "waiting"),
                    (State::Scheduled, "scheduled"),
                    (State::Active, "active"),
                    (State::Completed, "completed"),
                    (State::Failed, "failed"),
                    (State::Cancelled, "cancelled"),
                    (State::Retrying, "retrying"),
                ] {
                    q.counts.add(state, r.get(col));
                }
                q.oldest_waiting_ms = r.get("oldest_ms");
                q.failed_last_hour = r.get("failed_1h");
                q.completed_last_hour = r.get("completed_1h");
                (q, r.get("dead_letter"))
            })
            .collect();
        // A dead-letter queue's depth is what waits in it unprocessed.
        let pending: BTreeMap<String, i64> = out
            .iter()
            .map(|(q, _)| {
                let c = q.counts;
                (
                    q.queue.clone(),
                    c.waiting + c.scheduled + c.retrying + c.active,
                )
            })
            .collect();
        for (q, dead_letter) in &mut out {
            q.dlq_depth = dead_letter
                .as_ref()
                .map(|d| pending.get(d).copied().unwrap_or(0));
        }
        Ok(out.into_iter().map(|(q, _)| q).collect())
    }

    async fn detail(&self, id: &str) -> Result<Option<Job>> {
        if !is_uuid(id) {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {cols}, j.data, j.output, j.output->>'stack' AS stack,
               j.source_name, j.source_id::text AS source_id
             FROM {s}.job j WHERE j.id = $1::uuid
               AND j.name = ANY(ARRAY(SELECT name FROM {s}.queue))",
            cols = self.columns(),
            s = self.schema
        );
        let Some(r) = self.pg.row_opt(&sql, &[id]).await? else {
            return Ok(None);
        };
        let mut j = job(&r);
        j.payload = r.get("data");
        j.stack = r.get("stack");
        let source_name: Option<String> = r.get("source_name");
        if let Some(from) = source_name {
            let source_id: Option<String> = r.get("source_id");
            j.history.push(HistoryEntry {
                at: j.created_at,
                event: format!(
                    "dead-lettered from {from} job {}",
                    source_id.unwrap_or_default()
                ),
                attempt: None,
                error: None,
            });
        }
        if j.error.is_none() && j.state == State::Failed {
            let output: Option<serde_json::Value> = r.get("output");
            j.error = output.map(|o| o.to_string());
        }
        Ok(Some(j))
    }

    /// The queue names and the writable version, read once per adapter:
    /// every batch of a bulk change needs them.
    async fn write_context(&self) -> Result<&[String]> {
        let names = self
            .queues_seen
            .get_or_try_init(|| async {
                let s = &self.schema;
                let (v_sql, q_sql) = (
                    format!("SELECT version FROM {s}.version"),
                    format!("SELECT name FROM {s}.queue ORDER BY name"),
                );
                let (version, queues) =
                    tokio::try_join!(self.pg.row_opt(&v_sql, &[]), self.pg.rows(&q_sql, &[]))?;
                writable(version.map(|r| r.get(0)))?;
                Ok::<_, Error>(queues.iter().map(|r| r.get(0)).collect::<Vec<String>>())
            })
            .await?;
        Ok(names)
    }

    /// pg-boss's own statement (`name = $n AND id = ANY($1)`: a primary-key
    /// probe per id, the key being (name, id)) once per queue, all in one
    /// statement so the batch is atomic without holding a transaction open.
    async fn apply(&self, ids: &[String], retry: bool) -> Result<WriteReport> {
        let (valid, mut skipped) = split_uuids(ids);
        let names = self.write_context().await?;
        let s = &self.schema;
        let mut done: Vec<String> = Vec::new();
        if !valid.is_empty() && !names.is_empty() {
            let mut params: Vec<&str> = Vec::with_capacity(names.len() + 1);
            let array = format!("{{{}}}", valid.join(","));
            params.push(&array);
            let mut ctes = Vec::new();
            for (i, name) in names.iter().enumerate() {
                params.push(name);
                let p = i + 2;
                let change = if retry {
                    // retryJobs: state retry, one more attempt allowed, runnable now.
                    format!(
                        "UPDATE {s}.job j SET state = 'retry', retry_limit = j.retry_limit + 1,
                           completed_on = NULL, start_after = GREATEST(j.start_after, {s}.job_now())
                         WHERE j.name = ${p}::text AND j.id = ANY($1::uuid[]) AND j.state = 'failed'
                         RETURNING j.id"
                    )
                } else {
                    // deleteJobsById, sparing what a worker is running right now.
                    format!(
                        "DELETE FROM {s}.job j
                         WHERE j.name = ${p}::text AND j.id = ANY($1::uuid[]) AND j.state <> 'active'
                         RETURNING j.id"
                    )
                };
                ctes.push(format!("r{i} AS ({change})"));
            }
            let union: Vec<String> = (0..names.len())
                .map(|i| format!("SELECT id FROM r{i}"))
                .collect();
            let sql = format!(
                "WITH {} SELECT coalesce(array_agg(id::text), '{{}}') FROM ({}) u",
                ctes.join(", "),
                union.join(" UNION ALL ")
            );
            done = self.pg.row(&sql, &params).await?.get(0);
        }
        let why = if retry {
            "not failed (or no such job)"
        } else {
            "active (or no such job)"
        };
        let set: std::collections::HashSet<&str> = done.iter().map(String::as_str).collect();
        skipped.extend(
            valid
                .iter()
                .filter(|v| !set.contains(v.as_str()))
                .map(|v| (v.clone(), why.to_string())),
        );
        Ok(WriteReport { done, skipped })
    }
}

/// The version as `check_version` reports it, or the refusal.
fn writable(version: Option<i32>) -> Result<String> {
    let v = version.ok_or_else(|| {
        Error::server(
            "pg-boss's version table is empty: start pg-boss once so it installs its schema",
        )
    })?;
    if WRITABLE_VERSIONS.contains(&v) {
        Ok(format!("pgboss {v}"))
    } else {
        Err(Error::refused(format!(
            "pg-boss schema version {v} is not one opsdeck writes (it knows {}); upgrade opsdeck, or use pg-boss's own API for this change",
            list(WRITABLE_VERSIONS)
        )))
    }
}

fn list(v: &[i32]) -> String {
    v.iter().map(i32::to_string).collect::<Vec<_>>().join(", ")
}

/// pg-boss's states that a normalized state covers.
fn native_states(s: State) -> String {
    match s {
        State::Waiting | State::Scheduled => "created",
        State::Active => "active",
        State::Completed => "completed",
        State::Failed => "failed",
        State::Cancelled => "cancelled",
        State::Retrying => "retry",
    }
    .to_string()
}

fn state(native: &str, later: bool) -> State {
    match native {
        "created" if later => State::Scheduled,
        "created" => State::Waiting,
        "retry" => State::Retrying,
        "active" => State::Active,
        "completed" => State::Completed,
        "cancelled" => State::Cancelled,
        _ => State::Failed,
    }
}

fn job(r: &Row) -> Job {
    let native: String = r.get("state");
    let later: Option<bool> = r.get("later");
    let mut j = Job::new(
        SourceKind::Pgboss,
        r.get("name"),
        r.get("id"),
        state(&native, later.unwrap_or(false)),
    );
    // A fetch counts a retry only when the job had started before, so the
    // tries made are one more than the retries once it has started at all.
    let retries: i32 = r.get("retry_count");
    let limit: i32 = r.get("retry_limit");
    j.started_at = r.get("started_on");
    j.attempts = match j.started_at {
        Some(_) => i64::from(retries) + 1,
        None => i64::from(retries),
    };
    j.max_attempts = i64::from(limit) + 1;
    j.error = r.get("message");
    j.created_at = r.get("created_on");
    j.finished_at = r.get("completed_on");
    j.run_at = r.get("start_after");
    if j.state == State::Failed {
        j.failed_at = j.finished_at;
    }
    j.name = Some(j.queue.clone());
    j
}

/// The keyset position after `j`: pages go in primary-key order (queue, id).
fn cursor(j: &Job) -> String {
    format!("{}/{}", j.queue, j.id)
}

pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn split_uuids(ids: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let (ok, bad): (Vec<&String>, Vec<&String>) = ids.iter().partition(|i| is_uuid(i));
    (
        ok.into_iter().cloned().collect(),
        bad.into_iter()
            .map(|b| (b.clone(), "not a pg-boss job id (a UUID)".to_string()))
            .collect(),
    )
}

impl JobSource for PgBoss {
    fn kind(&self) -> SourceKind {
        SourceKind::Pgboss
    }

    fn check_version(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.check())
    }

    fn queues(&self) -> BoxFuture<'_, Result<Vec<QueueSummary>>> {
        Box::pin(self.summaries())
    }

    fn list<'a>(&'a self, filter: &'a Filter) -> BoxStream<'a, Result<Job>> {
        super::page::paged(filter, cursor, move |after, n| self.page(filter, after, n))
    }

    fn show<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>>> {
        Box::pin(self.detail(id))
    }

    fn retry<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.apply(ids, true))
    }

    fn discard<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.apply(ids, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_recognised_exactly() {
        assert!(is_uuid("0b7c0f5e-9a43-4a55-8f7e-2f4f2b1d2c3a"));
        assert!(!is_uuid("0b7c0f5e-9a43-4a55-8f7e-2f4f2b1d2c3"));
        assert!(!is_uuid("0b7c0f5e99a43-4a55-8f7e-2f4f2b1d2c3a"));
        assert!(!is_uuid("42"));
    }

    #[test]
    fn created_splits_into_waiting_and_scheduled() {
        assert_eq!(state("created", false), State::Waiting);
        assert_eq!(state("created", true), State::Scheduled);
        assert_eq!(state("retry", false), State::Retrying);
        assert_eq!(native_states(State::Scheduled), "created");
    }
}
