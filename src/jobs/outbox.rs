//! A transactional outbox (`[contexts.NAME.jobs.outbox]`): rows the
//! application writes in its own transactions and a relay publishes,
//! setting the published marker. Read as jobs of the table source: a row
//! not yet published waits, one whose publishing failed (attempts > 0) is
//! failed with its last error, a published one is completed; per topic the
//! backlog and its oldest age. Retry puts the attempts back to 0 (and
//! clears the error) so a relay that gives up after N attempts takes the
//! row again; discard deletes a row not yet published, so it never is.

use super::model::{Filter, Job, QueueSummary, SourceKind, State, WriteReport};
use super::registry::{Backends, Found};
use super::source::JobSource;
use super::table::{Column, Layout};
use crate::config::jobs::{JobsConfig, Outbox as OutboxConfig};
use crate::conn::sql::{contains_pattern, literal, QualName};
use crate::conn::Pg;
use crate::error::{Error, Result};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::sync::Arc;
use tokio_postgres::Row;

const SECTION: &str = "jobs.outbox";

pub struct Outbox {
    pg: Arc<Pg>,
    cfg: OutboxConfig,
    name: QualName,
}

/// A source when the context configures an outbox.
pub fn detect<'a>(backends: &'a Backends, config: &'a JobsConfig) -> BoxFuture<'a, Result<Found>> {
    Box::pin(async move {
        let (Some(pg), Some(cfg)) = (backends.pg.clone(), config.outbox.clone()) else {
            return Ok(None);
        };
        if !config.wants(SourceKind::Table) {
            return Ok(None);
        }
        Ok(Some(Box::new(Outbox::new(pg, cfg)?) as Box<dyn JobSource>))
    })
}

struct Cols {
    table: String,
    display: String,
    id: Column,
    published: Column,
    created: Column,
    attempts: Option<Column>,
    error: Option<Column>,
    topic: Option<Column>,
    payload: Option<Column>,
}

impl Cols {
    fn unpublished(&self) -> String {
        format!("{} IS NULL", self.published.sql())
    }

    fn failing(&self) -> String {
        match &self.attempts {
            Some(a) => format!("({} AND {} > 0)", self.unpublished(), a.sql()),
            None => "false".into(),
        }
    }

    fn pending(&self) -> String {
        match &self.attempts {
            Some(a) => format!("({} AND coalesce({}, 0) = 0)", self.unpublished(), a.sql()),
            None => self.unpublished(),
        }
    }

    /// The rows in `state`, as SQL over this table's own columns (so an
    /// index on the published marker serves the backlog).
    fn in_state(&self, state: State) -> String {
        match state {
            State::Waiting => self.pending(),
            State::Failed => self.failing(),
            State::Completed => format!("{} IS NOT NULL", self.published.sql()),
            _ => "false".into(),
        }
    }

    fn topic(&self) -> Result<String> {
        match &self.topic {
            Some(t) => Ok(format!("{}::text", t.sql())),
            None => literal(&self.display),
        }
    }

    fn columns(&self) -> Result<String> {
        let attempts = self.attempts.as_ref().map_or("0::int8".into(), |a| {
            format!("coalesce({}::int8, 0)", a.sql())
        });
        let error = self
            .error
            .as_ref()
            .map_or("NULL::text".into(), |e| format!("{}::text", e.sql()));
        Ok(format!(
            "{}::text, {}, CASE WHEN {} THEN 'failed' WHEN {} THEN 'waiting' ELSE 'completed' END,
             {attempts}, 0::int8, {error}, {}::timestamptz, NULL::timestamptz",
            self.id.sql(),
            self.topic()?,
            self.failing(),
            self.unpublished(),
            self.created.sql(),
        ))
    }
}

fn state(text: &str) -> State {
    match text {
        "failed" => State::Failed,
        "waiting" => State::Waiting,
        _ => State::Completed,
    }
}

impl Outbox {
    pub fn new(pg: Arc<Pg>, cfg: OutboxConfig) -> Result<Outbox> {
        let name = QualName::parse(&cfg.table, "public")?;
        Ok(Outbox { pg, cfg, name })
    }

    async fn cols(&self) -> Result<Cols> {
        let layout = Layout::read(&self.pg, &self.name, SECTION).await?;
        let c = &self.cfg;
        let wanted = [
            ("id_column", Some(c.id_column.as_str())),
            ("published_at_column", Some(c.published_at_column.as_str())),
            ("created_at_column", Some(c.created_at_column.as_str())),
            ("attempts_column", c.attempts_column.as_deref()),
            ("error_column", c.error_column.as_deref()),
            ("topic_column", c.topic_column.as_deref()),
            ("payload_column", c.payload_column.as_deref()),
        ];
        let mut found = layout.columns(SECTION, &wanted)?.into_iter();
        let mut next = || found.next().flatten();
        let (Some(id), Some(published), Some(created)) = (next(), next(), next()) else {
            return Err(Error::Config(format!(
                "[{SECTION}] needs id_column, published_at_column and created_at_column"
            )));
        };
        Ok(Cols {
            table: self.name.sql(),
            display: self.name.display(),
            id,
            published,
            created,
            attempts: next(),
            error: next(),
            topic: next(),
            payload: next(),
        })
    }

    fn job(r: &Row) -> Result<Job> {
        let text: String = r.try_get(2)?;
        let mut job = Job::new(
            SourceKind::Table,
            r.try_get(1)?,
            r.try_get(0)?,
            state(&text),
        );
        job.attempts = r.try_get(3)?;
        // An outbox sets no limit of its own: the relay decides (0).
        job.max_attempts = r.try_get(4)?;
        job.error = r.try_get(5)?;
        job.created_at = r.try_get(6)?;
        Ok(job)
    }

    async fn page(
        &self,
        cols: &Cols,
        filter: &Filter,
        after: Option<String>,
        size: u64,
    ) -> Result<Vec<Job>> {
        let mut cond = vec![filter.state.map_or("true".into(), |s| cols.in_state(s))];
        let mut params: Vec<String> = Vec::new();
        let mut param = |value: String| {
            params.push(value);
            format!("${}::text", params.len())
        };
        if let Some(q) = &filter.queue {
            match &cols.topic {
                Some(t) => cond.push(format!("{}::text = {}", t.sql(), param(q.clone()))),
                None if *q != cols.display => return Ok(Vec::new()),
                None => {}
            }
        }
        if let Some(e) = &filter.error_like {
            let Some(col) = &cols.error else {
                return Err(Error::Usage(format!(
                    "{} has no error column configured, so --error-like cannot match; set error_column in the context's [{SECTION}] section",
                    cols.display
                )));
            };
            cond.push(format!(
                "{}::text ILIKE {}",
                col.sql(),
                param(contains_pattern(e))
            ));
        }
        if let Some(a) = after {
            if !cols.id.accepts(&a) {
                return Err(Error::Usage(format!(
                    "--after takes an id of {} ({}); pass --source table with it",
                    cols.display, cols.id.ty
                )));
            }
            let p = param(a);
            cond.push(format!("{} < {p}::{}", cols.id.sql(), cols.id.ty));
        }
        let limit = param(size.to_string());
        let sql = format!(
            "SELECT {} FROM {} t WHERE {} ORDER BY {} DESC LIMIT {limit}::int8",
            cols.columns()?,
            cols.table,
            cond.join(" AND "),
            cols.id.sql(),
        );
        let refs: Vec<&str> = params.iter().map(String::as_str).collect();
        self.pg
            .rows(&sql, &refs)
            .await?
            .iter()
            .map(Self::job)
            .collect()
    }

    async fn write(&self, ids: &[String], retry: bool) -> Result<WriteReport> {
        let cols = self.cols().await?;
        let mut report = WriteReport::default();
        let mut ok = Vec::new();
        for id in ids.iter().map(|i| i.trim()) {
            if cols.id.accepts(id) {
                ok.push(if cols.id.ty == "uuid" {
                    id.to_ascii_lowercase()
                } else {
                    id.to_string()
                });
            } else {
                report.skipped.push((
                    id.to_string(),
                    format!("not a valid id for {} ({})", cols.display, cols.id.ty),
                ));
            }
        }
        if ok.is_empty() {
            return Ok(report);
        }
        let changed = if retry {
            let Some(att) = &cols.attempts else {
                return Err(Error::refused(format!(
                    "{} has no attempts column configured; its relay publishes every unpublished row by itself, so there is nothing to retry",
                    cols.display
                )));
            };
            let mut set = vec![format!("{} = 0", att.ident())];
            if let Some(e) = &cols.error {
                set.push(format!("{} = NULL", e.ident()));
            }
            format!(
                "UPDATE {} t SET {} FROM locked l WHERE {} = l.id AND l.failing RETURNING l.key",
                cols.table,
                set.join(", "),
                cols.id.sql()
            )
        } else {
            format!(
                "DELETE FROM {} t USING locked l WHERE {} = l.id AND NOT l.published RETURNING l.key",
                cols.table,
                cols.id.sql()
            )
        };
        let sql = format!(
            "WITH ids AS (SELECT DISTINCT x AS id FROM jsonb_array_elements_text($1::jsonb) x),
             locked AS (SELECT {id} AS id, {id}::text AS key, {failing} AS failing, NOT {unpublished} AS published
                FROM {table} t WHERE {id} = ANY (ARRAY(SELECT id FROM ids)::{ty}[]) FOR UPDATE),
             changed AS ({changed})
             SELECT ids.id, locked.published, changed.key IS NOT NULL FROM ids
             LEFT JOIN locked ON locked.key = ids.id LEFT JOIN changed ON changed.key = ids.id ORDER BY ids.id",
            id = cols.id.sql(),
            ty = cols.id.ty,
            failing = cols.failing(),
            unpublished = cols.unpublished(),
            table = cols.table,
        );
        let list = serde_json::to_string(&ok).map_err(|e| Error::Usage(e.to_string()))?;
        for r in self.pg.rows(&sql, &[&list]).await? {
            let id: String = r.get(0);
            let published: Option<bool> = r.get(1);
            let done: bool = r.get(2);
            match (done, published) {
                (true, _) => report.done.push(id),
                (false, None) => report
                    .skipped
                    .push((id, format!("no such row in {}", cols.display))),
                (false, Some(true)) => report.skipped.push((id, "already published".into())),
                (false, Some(false)) => report.skipped.push((
                    id,
                    "not failed: no publishing attempt has failed yet".into(),
                )),
            }
        }
        Ok(report)
    }
}

impl JobSource for Outbox {
    fn kind(&self) -> SourceKind {
        SourceKind::Table
    }

    fn check_version(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move { Ok(format!("outbox {}", self.cols().await?.display)) })
    }

    fn queues(&self) -> BoxFuture<'_, Result<Vec<QueueSummary>>> {
        Box::pin(async move {
            let c = self.cols().await?;
            let sql = format!(
                "SELECT {topic},
                    count(*) FILTER (WHERE {pending}), count(*) FILTER (WHERE {failing}),
                    count(*) FILTER (WHERE NOT {unpublished}),
                    (extract(epoch FROM now() - min({created}::timestamptz) FILTER (WHERE {unpublished})) * 1000)::int8,
                    count(*) FILTER (WHERE {failing} AND {created}::timestamptz > now() - interval '1 hour'),
                    count(*) FILTER (WHERE {published}::timestamptz > now() - interval '1 hour')
                 FROM {table} t GROUP BY 1 ORDER BY 1",
                topic = c.topic()?,
                pending = c.pending(),
                failing = c.failing(),
                unpublished = c.unpublished(),
                created = c.created.sql(),
                published = c.published.sql(),
                table = c.table,
            );
            let rows = self.pg.rows(&sql, &[]).await?;
            Ok(rows
                .iter()
                .map(|r| {
                    let mut q = QueueSummary::new(SourceKind::Table, r.get(0));
                    q.counts.waiting = r.get(1);
                    q.counts.failed = r.get(2);
                    q.counts.completed = r.get(3);
                    q.oldest_waiting_ms = r.get(4);
                    q.failed_last_hour = r.get(5);
                    q.completed_last_hour = r.get(6);
                    q
                })
                .collect())
        })
    }

    fn list<'a>(&'a self, filter: &'a Filter) -> BoxStream<'a, Result<Job>> {
        // The columns are read once per listing, then every page uses them.
        super::page::paged_after(
            filter,
            |j| j.id.clone(),
            self.cols(),
            move |cols, after, n| async move { self.page(&cols, filter, after, n).await },
        )
    }

    fn show<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>>> {
        Box::pin(async move {
            let cols = self.cols().await?;
            let id = id.trim();
            if !cols.id.accepts(id) {
                return Ok(None);
            }
            let payload = cols
                .payload
                .as_ref()
                .map_or("NULL::jsonb".into(), Column::jsonb);
            let sql = format!(
                "SELECT {}, {payload}, {}::timestamptz FROM {} t WHERE {} = $1::{}",
                cols.columns()?,
                cols.published.sql(),
                cols.table,
                cols.id.sql(),
                cols.id.ty
            );
            let Some(r) = self.pg.row_opt(&sql, &[id]).await? else {
                return Ok(None);
            };
            let mut job = Self::job(&r)?;
            job.payload = r.try_get(8)?;
            job.finished_at = r.try_get(9)?;
            Ok(Some(job))
        })
    }

    fn retry<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.write(ids, true))
    }

    fn discard<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.write(ids, false))
    }
}
