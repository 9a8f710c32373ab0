//! graphile-worker (v0.16+ layout: `_private_jobs`, `_private_tasks`,
//! `_private_job_queues` in the `graphile_worker` schema). Writes go through
//! its admin functions, only on the migration level tested here: retry is
//! `reschedule_jobs(ids, run_at := now(), attempts := 0)`; discard removes a
//! permanently failed job (`remove_job` by key, else `complete_jobs`, which
//! deletes) and permanently fails one still due to run
//! (`permanently_fail_jobs`). graphile-worker deletes completed jobs, so
//! none is ever listed as completed.

use super::model::{Filter, Job, QueueSummary, SourceKind, State, WriteReport};
use super::registry::{Backends, Found};
use super::source::JobSource;
use crate::config::jobs::JobsConfig;
use crate::conn::sql::{contains_pattern, quote_ident};
use crate::conn::Pg;
use crate::error::{Error, Result};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::sync::Arc;
use tokio_postgres::Row;

/// `max(id)` of `graphile_worker.migrations` the writes were checked
/// against (graphile-worker 0.18 is 20).
pub const WRITABLE_MIGRATIONS: &[i32] = &[20];

pub struct Graphile {
    pg: Arc<Pg>,
    schema: String,
}

pub fn detect<'a>(b: &'a Backends, cfg: &'a JobsConfig) -> BoxFuture<'a, Result<Found>> {
    Box::pin(async move {
        let Some(pg) = &b.pg else { return Ok(None) };
        if !cfg.wants(SourceKind::GraphileWorker) {
            return Ok(None);
        }
        let schema = quote_ident(&cfg.graphile_schema);
        let here: bool = pg
            .row(
                "SELECT to_regclass($1) IS NOT NULL AND to_regclass($2) IS NOT NULL",
                &[
                    &format!("{schema}._private_jobs"),
                    &format!("{schema}.migrations"),
                ],
            )
            .await?
            .get(0);
        Ok(here.then(|| {
            Box::new(Graphile::new(pg.clone(), &cfg.graphile_schema)) as Box<dyn JobSource>
        }))
    })
}

/// The normalized state of a `_private_jobs` row `j`, in SQL.
const STATE: &str = "CASE
    WHEN j.locked_at IS NOT NULL AND j.locked_at > now() - interval '4 hours' THEN 'active'
    WHEN j.attempts >= j.max_attempts THEN 'failed'
    WHEN j.last_error IS NOT NULL THEN 'retrying'
    WHEN j.run_at > now() THEN 'scheduled'
    ELSE 'waiting' END";

impl Graphile {
    pub fn new(pg: Arc<Pg>, schema: &str) -> Graphile {
        Graphile {
            pg,
            schema: quote_ident(schema),
        }
    }

    fn from(&self) -> String {
        format!(
            "{s}._private_jobs j JOIN {s}._private_tasks t ON t.id = j.task_id
             LEFT JOIN {s}._private_job_queues q ON q.id = j.job_queue_id",
            s = self.schema
        )
    }

    fn columns() -> String {
        format!(
            "j.id::text AS id, t.identifier AS task, q.queue_name, ({STATE}) AS state,
             j.attempts::bigint AS attempts, j.max_attempts::bigint AS max_attempts, j.last_error,
             j.created_at, j.updated_at, j.run_at, j.locked_at, j.key"
        )
    }

    async fn migration(&self) -> Result<i32> {
        let v: Option<i32> = self
            .pg
            .row(
                &format!("SELECT max(id) FROM {}.migrations", self.schema),
                &[],
            )
            .await?
            .get(0);
        v.ok_or_else(|| Error::server("graphile-worker's migrations table is empty: run the worker once so it installs its schema"))
    }

    async fn check(&self) -> Result<String> {
        let v = self.migration().await?;
        if WRITABLE_MIGRATIONS.contains(&v) {
            Ok(format!("graphile_worker migration {v}"))
        } else {
            let known: Vec<String> = WRITABLE_MIGRATIONS.iter().map(i32::to_string).collect();
            Err(Error::refused(format!(
                "graphile-worker migration {v} is not one opsdeck writes (it knows {}); upgrade opsdeck, or use graphile-worker's own admin functions for this change",
                known.join(", ")
            )))
        }
    }

    async fn page(&self, f: &Filter, after: Option<String>, n: u64) -> Result<Vec<Job>> {
        let mut w = super::page::Where::default();
        if let Some(q) = &f.queue {
            let p = w.param(q.as_str());
            w.and(format!("t.identifier = {p}::text"));
        }
        if let Some(state) = f.state {
            let p = w.param(state.as_str());
            w.and(format!("({STATE}) = {p}::text"));
        }
        if let Some(e) = &f.error_like {
            let p = w.param(contains_pattern(e));
            w.and(format!("j.last_error ILIKE {p}::text"));
        }
        if let Some(a) = after {
            if a.parse::<i64>().is_err() {
                return Err(Error::Usage(format!(
                    "--after {a} is not a graphile-worker job id (a number)"
                )));
            }
            let p = w.param(a);
            w.and(format!("j.id > {p}::bigint"));
        }
        let sql = format!(
            "SELECT {cols} FROM {from} WHERE {cond} ORDER BY j.id LIMIT {n}",
            cols = Self::columns(),
            from = self.from(),
            cond = w.sql()
        );
        let rows = self.pg.rows(&sql, &w.refs()).await?;
        Ok(rows.iter().map(job).collect())
    }

    async fn summaries(&self) -> Result<Vec<QueueSummary>> {
        let sql = format!(
            "SELECT s.task,
               count(*) FILTER (WHERE s.state = 'waiting') AS waiting,
               count(*) FILTER (WHERE s.state = 'scheduled') AS scheduled,
               count(*) FILTER (WHERE s.state = 'active') AS active,
               count(*) FILTER (WHERE s.state = 'failed') AS failed,
               count(*) FILTER (WHERE s.state = 'retrying') AS retrying,
               (extract(epoch FROM now() - min(s.run_at) FILTER (WHERE s.state IN ('waiting', 'retrying') AND s.run_at <= now())) * 1000)::bigint AS oldest_ms,
               count(*) FILTER (WHERE s.state = 'failed' AND s.updated_at > now() - interval '1 hour') AS failed_1h
             FROM (SELECT {cols} FROM {from}) s
             GROUP BY s.task ORDER BY s.task",
            cols = Self::columns(),
            from = self.from()
        );
        let rows = self.pg.rows(&sql, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| {
                let mut q = QueueSummary::new(SourceKind::GraphileWorker, r.get("task"));
                for (state, col) in [
                    (State::Waiting, "waiting"),
                    (State::Scheduled, "scheduled"),
                    (State::Active, "active"),
                    (State::Failed, "failed"),
                    (State::Retrying, "retrying"),
                ] {
                    q.counts.add(state, r.get(col));
                }
                q.oldest_waiting_ms = r.get("oldest_ms");
                q.failed_last_hour = r.get("failed_1h");
                q
            })
            .collect())
    }

    async fn detail(&self, id: &str) -> Result<Option<Job>> {
        if id.parse::<i64>().is_err() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT {cols}, j.payload::jsonb AS payload FROM {from} WHERE j.id = $1::bigint",
            cols = Self::columns(),
            from = self.from()
        );
        let Some(r) = self.pg.row_opt(&sql, &[id]).await? else {
            return Ok(None);
        };
        let mut j = job(&r);
        j.payload = r.get("payload");
        let last: Option<String> = r.get("last_error");
        j.stack = last.filter(|l| l.contains('\n'));
        Ok(Some(j))
    }

    async fn retry_ids(&self, ids: &[String]) -> Result<WriteReport> {
        self.check().await?;
        let (valid, mut skipped) = split_ids(ids);
        let sql = format!(
            "SELECT coalesce(array_agg(r.id::text), '{{}}') FROM {s}.reschedule_jobs(
               ARRAY(SELECT id FROM {s}._private_jobs WHERE id = ANY($1::bigint[]) AND last_error IS NOT NULL),
               run_at := now(), attempts := 0) r",
            s = self.schema
        );
        let done: Vec<String> = self.pg.row(&sql, &[&array(&valid)]).await?.get(0);
        skipped.extend(left_out(
            &valid,
            &done,
            "not failed, locked by a worker, or no such job",
        ));
        Ok(WriteReport { done, skipped })
    }

    async fn discard_ids(&self, ids: &[String]) -> Result<WriteReport> {
        self.check().await?;
        let (valid, mut skipped) = split_ids(ids);
        let s = &self.schema;
        // One statement, so a batch is discarded whole or not at all; the
        // three selections are disjoint (keyed; failed for good; still due).
        let ids = array(&valid);
        let sql = format!(
            "WITH k AS (SELECT r.id FROM {s}._private_jobs j, LATERAL {s}.remove_job(j.key) r
                        WHERE j.id = ANY($1::bigint[]) AND j.key IS NOT NULL AND r.id IS NOT NULL),
                  c AS (SELECT r.id FROM {s}.complete_jobs(
                          ARRAY(SELECT id FROM {s}._private_jobs WHERE id = ANY($1::bigint[])
                                AND key IS NULL AND attempts >= max_attempts)) r),
                  f AS (SELECT r.id FROM {s}.permanently_fail_jobs(
                          ARRAY(SELECT id FROM {s}._private_jobs WHERE id = ANY($1::bigint[])
                                AND key IS NULL AND attempts < max_attempts),
                          'discarded with opsdeck') r)
             SELECT coalesce(array_agg(id::text), '{{}}')
             FROM (SELECT id FROM k UNION ALL SELECT id FROM c UNION ALL SELECT id FROM f) u"
        );
        let done: Vec<String> = self.pg.row(&sql, &[&ids]).await?.get(0);
        skipped.extend(left_out(
            &valid,
            &done,
            "locked by a worker, or no such job",
        ));
        Ok(WriteReport { done, skipped })
    }
}

fn array(ids: &[String]) -> String {
    format!("{{{}}}", ids.join(","))
}

fn left_out(asked: &[String], done: &[String], why: &str) -> Vec<(String, String)> {
    let set: std::collections::HashSet<&str> = done.iter().map(String::as_str).collect();
    asked
        .iter()
        .filter(|a| !set.contains(a.as_str()))
        .map(|a| (a.clone(), why.to_string()))
        .collect()
}

fn split_ids(ids: &[String]) -> (Vec<String>, Vec<(String, String)>) {
    let (ok, bad): (Vec<&String>, Vec<&String>) =
        ids.iter().partition(|i| i.parse::<i64>().is_ok());
    (
        ok.into_iter().cloned().collect(),
        bad.into_iter()
            .map(|b| {
                (
                    b.clone(),
                    "not a graphile-worker job id (a number)".to_string(),
                )
            })
            .collect(),
    )
}

fn job(r: &Row) -> Job {
    let state: String = r.get("state");
    let task: String = r.get("task");
    let mut j = Job::new(
        SourceKind::GraphileWorker,
        task.clone(),
        r.get("id"),
        State::parse(&state).unwrap_or(State::Waiting),
    );
    j.attempts = r.get("attempts");
    j.max_attempts = r.get("max_attempts");
    let last: Option<String> = r.get("last_error");
    // last_error holds the message, then the stack on later lines.
    j.error = last.map(|l| l.lines().next().unwrap_or_default().to_string());
    j.created_at = r.get("created_at");
    j.run_at = r.get("run_at");
    j.started_at = r.get("locked_at");
    if j.state == State::Failed {
        j.failed_at = r.get("updated_at");
    }
    j.name = Some(task);
    j
}

impl JobSource for Graphile {
    fn kind(&self) -> SourceKind {
        SourceKind::GraphileWorker
    }

    fn check_version(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(self.check())
    }

    fn queues(&self) -> BoxFuture<'_, Result<Vec<QueueSummary>>> {
        Box::pin(self.summaries())
    }

    fn list<'a>(&'a self, filter: &'a Filter) -> BoxStream<'a, Result<Job>> {
        super::page::paged(
            filter,
            |j| j.id.clone(),
            move |after, n| self.page(filter, after, n),
        )
    }

    fn show<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>>> {
        Box::pin(self.detail(id))
    }

    fn retry<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.retry_ids(ids))
    }

    fn discard<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.discard_ids(ids))
    }
}
