//! A jobs table of the application's own, read through the column names the
//! context configures (`[contexts.NAME.jobs.table]`) and the mapping of its
//! state values onto ours. Retry sets the configured retry state (due now,
//! one more attempt allowed); discard deletes the row, or sets the configured
//! discard state. Every statement is built from the columns the table really
//! has, checked first: a configured column that is missing refuses the
//! operation with the list of what to fix.

mod layout;
mod sql;

pub use layout::{Column, Layout};

use super::model::{Filter, Job, QueueSummary, SourceKind, State, WriteReport};
use super::registry::{Backends, Found};
use super::source::JobSource;
use crate::config::jobs::{JobsConfig, TableJobs, TableStates};
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::{Error, Result};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sql::Cols;
use std::sync::Arc;
use tokio_postgres::Row;

const SECTION: &str = "jobs.table";

pub struct Table {
    pg: Arc<Pg>,
    cfg: TableJobs,
    name: QualName,
}

/// A source when the context configures a jobs table. The table is not
/// looked at here: a wrong name should fail loudly, not hide the source.
pub fn detect<'a>(backends: &'a Backends, config: &'a JobsConfig) -> BoxFuture<'a, Result<Found>> {
    Box::pin(async move {
        let (Some(pg), Some(cfg)) = (backends.pg.clone(), config.table.clone()) else {
            return Ok(None);
        };
        if !config.wants(SourceKind::Table) {
            return Ok(None);
        }
        Ok(Some(Box::new(Table::new(pg, cfg)?) as Box<dyn JobSource>))
    })
}

/// Our state for one of the application's values. A value the mapping
/// does not name counts as waiting, the state in which a job is left alone.
pub fn state_of(states: &TableStates, value: &str) -> State {
    State::ALL
        .into_iter()
        .find(|s| values(states, *s).iter().any(|v| v == value))
        .unwrap_or(State::Waiting)
}

/// The application's values for one of our states.
pub fn values(states: &TableStates, s: State) -> &[String] {
    match s {
        State::Waiting => &states.waiting,
        State::Scheduled => &states.scheduled,
        State::Active => &states.active,
        State::Completed => &states.completed,
        State::Failed => &states.failed,
        State::Cancelled => &states.cancelled,
        State::Retrying => &states.retrying,
    }
}

fn json(list: &[String]) -> Result<String> {
    serde_json::to_string(list).map_err(|e| Error::Usage(e.to_string()))
}

impl Table {
    pub fn new(pg: Arc<Pg>, cfg: TableJobs) -> Result<Table> {
        let name = QualName::parse(&cfg.table, "public")?;
        Ok(Table { pg, cfg, name })
    }

    async fn cols(&self) -> Result<Cols> {
        let layout = Layout::read(&self.pg, &self.name, SECTION).await?;
        let c = &self.cfg;
        let wanted = [
            ("id_column", Some(c.id_column.as_str())),
            ("state_column", Some(c.state_column.as_str())),
            ("queue_column", c.queue_column.as_deref()),
            ("attempts_column", c.attempts_column.as_deref()),
            ("max_attempts_column", c.max_attempts_column.as_deref()),
            ("error_column", c.error_column.as_deref()),
            ("payload_column", c.payload_column.as_deref()),
            ("created_at_column", c.created_at_column.as_deref()),
            ("failed_at_column", c.failed_at_column.as_deref()),
            ("run_at_column", c.run_at_column.as_deref()),
            ("name_column", c.name_column.as_deref()),
            ("finished_at_column", c.finished_at_column.as_deref()),
        ];
        let mut found = layout.columns(SECTION, &wanted)?.into_iter();
        let mut next = || found.next().flatten();
        let (id, state) = (next(), next());
        let (Some(id), Some(state)) = (id, state) else {
            return Err(Error::Config(format!(
                "[{SECTION}] needs id_column and state_column"
            )));
        };
        Ok(Cols {
            table: self.name.sql(),
            display: self.name.display(),
            id,
            state,
            queue: next(),
            attempts: next(),
            max_attempts: next(),
            error: next(),
            payload: next(),
            created_at: next(),
            failed_at: next(),
            run_at: next(),
            name: next(),
            finished_at: next(),
        })
    }

    fn retry_state(&self) -> Result<&str> {
        self.cfg
            .retry_state
            .as_deref()
            .or(self.cfg.states.waiting.first().map(String::as_str))
            .ok_or_else(|| {
                Error::Config(format!(
                    "[{SECTION}] maps no value to waiting, so opsdeck cannot tell what state makes a job runnable; set retry_state"
                ))
            })
    }

    /// With an enum state column, the states the writes set must be
    /// labels of it, or the server would reject every batch.
    fn check_states(&self, cols: &Cols) -> Result<()> {
        let Some(labels) = &cols.state.labels else {
            return Ok(());
        };
        let mut set = vec![("retry_state", self.retry_state()?)];
        if let Some(d) = &self.cfg.discard_state {
            set.push(("discard_state", d));
        }
        let unknown: Vec<String> = set
            .iter()
            .filter(|(_, v)| !labels.iter().any(|l| l == v))
            .map(|(key, v)| format!("{v} ({key})"))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        Err(Error::Config(format!(
            "{} can hold only {} in {}; set {} in the context's [{SECTION}] section to one of them",
            cols.display,
            labels.join(", "),
            cols.state.name,
            unknown.join(", ")
        )))
    }

    fn job(&self, r: &Row) -> Result<Job> {
        let value: String = r.try_get(2)?;
        let mut job = Job::new(
            SourceKind::Table,
            r.try_get(1)?,
            r.try_get(0)?,
            state_of(&self.cfg.states, &value),
        );
        job.attempts = r.try_get(3)?;
        job.max_attempts = r.try_get(4)?;
        job.error = r.try_get(5)?;
        job.created_at = r.try_get(6)?;
        job.failed_at = r.try_get(7)?;
        Ok(job)
    }

    async fn page(
        &self,
        cols: &Cols,
        filter: &Filter,
        after: Option<String>,
        size: u64,
    ) -> Result<Vec<Job>> {
        if filter.error_like.is_some() && cols.error.is_none() {
            return Err(Error::Usage(format!(
                "{} has no error column configured, so --error-like cannot match; set error_column in the context's [{SECTION}] section",
                cols.display
            )));
        }
        if cols.queue.is_none() && filter.queue.as_ref().is_some_and(|q| *q != cols.display) {
            return Ok(Vec::new());
        }
        let states = filter
            .state
            .map(|s| json(&cols.state.holdable(values(&self.cfg.states, s))))
            .transpose()?;
        let pattern = filter
            .error_like
            .as_deref()
            .map(crate::conn::sql::contains_pattern);
        if after.as_deref().is_some_and(|a| !cols.id.accepts(a)) {
            return Err(Error::Usage(format!(
                "--after takes an id of {} ({}); pass --source table with it",
                cols.display, cols.id.ty
            )));
        }
        let size = size.to_string();
        let queue = cols.queue.as_ref().and(filter.queue.as_deref());
        let rows = self
            .pg
            .rows_nullable(
                &cols.list()?,
                &[
                    queue,
                    states.as_deref(),
                    pattern.as_deref(),
                    after.as_deref(),
                    Some(&size),
                ],
            )
            .await?;
        rows.iter().map(|r| self.job(r)).collect()
    }

    /// Ids as the id column's type prints them (so the report matches),
    /// and the ones that cannot be of that type.
    fn split_ids(cols: &Cols, ids: &[String]) -> (Vec<String>, WriteReport) {
        let mut report = WriteReport::default();
        let mut ok = Vec::with_capacity(ids.len());
        for id in ids {
            let id = id.trim();
            if !cols.id.accepts(id) {
                report.skipped.push((
                    id.to_string(),
                    format!("not a valid id for {} ({})", cols.display, cols.id.ty),
                ));
            } else if cols.id.ty == "uuid" {
                ok.push(id.to_ascii_lowercase());
            } else if let Ok(n) = id.parse::<i64>() {
                ok.push(n.to_string());
            } else {
                ok.push(id.to_string());
            }
        }
        (ok, report)
    }

    async fn write(&self, ids: &[String], retry: bool) -> Result<WriteReport> {
        let cols = self.cols().await?;
        self.check_states(&cols)?;
        let (ok, mut report) = Self::split_ids(&cols, ids);
        if ok.is_empty() {
            return Ok(report);
        }
        let list = json(&ok)?;
        let states = &self.cfg.states;
        let rows = if retry {
            let to = self.retry_state()?;
            let from = json(&states.failed)?;
            self.pg.rows(&cols.retry(), &[&list, to, &from]).await?
        } else {
            let running = json(&states.active)?;
            match self.cfg.discard_state.as_deref() {
                Some(to) => {
                    self.pg
                        .rows(&cols.discard(true), &[&list, &running, to])
                        .await?
                }
                None => {
                    self.pg
                        .rows(&cols.discard(false), &[&list, &running])
                        .await?
                }
            }
        };
        for r in rows {
            let id: String = r.get(0);
            let before: Option<String> = r.get(1);
            let changed: bool = r.get(2);
            match (changed, before) {
                (true, _) => report.done.push(id),
                (false, None) => report
                    .skipped
                    .push((id, format!("no such job in {}", cols.display))),
                (false, Some(v)) if retry => report
                    .skipped
                    .push((id, format!("not failed (its state is {v})"))),
                (false, Some(v)) => report.skipped.push((
                    id,
                    format!("running (its state is {v}); wait for it to finish"),
                )),
            }
        }
        Ok(report)
    }
}

impl JobSource for Table {
    fn kind(&self) -> SourceKind {
        SourceKind::Table
    }

    fn check_version(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let cols = self.cols().await?;
            self.check_states(&cols)?;
            Ok(format!("table {}", cols.display))
        })
    }

    fn queues(&self) -> BoxFuture<'_, Result<Vec<QueueSummary>>> {
        Box::pin(async move {
            let cols = self.cols().await?;
            let rows = self.pg.rows(&cols.queues()?, &[]).await?;
            let mut out: Vec<QueueSummary> = Vec::new();
            for r in rows {
                let queue: String = r.get(0);
                if out.last().is_none_or(|q| q.queue != queue) {
                    out.push(QueueSummary::new(SourceKind::Table, queue));
                }
                let Some(q) = out.last_mut() else { continue };
                let value: String = r.get(1);
                let state = state_of(&self.cfg.states, &value);
                q.counts.add(state, r.get(2));
                match state {
                    State::Waiting => {
                        let due: Option<i64> = r.get(3);
                        q.oldest_waiting_ms = q.oldest_waiting_ms.max(due);
                    }
                    State::Failed => q.failed_last_hour += r.get::<_, i64>(4),
                    State::Completed => q.completed_last_hour += r.get::<_, i64>(5),
                    _ => {}
                }
            }
            Ok(out)
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
            let (ok, _) = Self::split_ids(&cols, &[id.to_string()]);
            let Some(id) = ok.first() else {
                return Ok(None);
            };
            let Some(r) = self.pg.row_opt(&cols.show()?, &[id]).await? else {
                return Ok(None);
            };
            let mut job = self.job(&r)?;
            job.payload = r.try_get(8)?;
            job.run_at = r.try_get(9)?;
            job.name = r.try_get(10)?;
            job.finished_at = r.try_get(11)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spellings_map_and_unknown_values_wait() {
        let s = TableStates::default();
        assert_eq!(state_of(&s, "dead"), State::Failed);
        assert_eq!(state_of(&s, "done"), State::Completed);
        assert_eq!(state_of(&s, "processing"), State::Active);
        assert_eq!(state_of(&s, "canceled"), State::Cancelled);
        assert_eq!(state_of(&s, "something else"), State::Waiting);
        for st in State::ALL {
            for v in values(&s, st) {
                assert_eq!(state_of(&s, v), st, "{v}");
            }
        }
    }
}
