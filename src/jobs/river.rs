//! River (riverqueue/river, Go): jobs in `river_job`, the schema version in
//! `river_migration`. Writes do what River's own client does: retry is its
//! `JobRetry` (state `available`, `scheduled_at` now, `finalized_at` cleared,
//! `max_attempts` raised by one when the attempts are used up, running jobs
//! untouched; as in River, a completed or cancelled job named by id runs
//! again) and discard is its `JobDelete` (the row is deleted, running jobs
//! untouched). River's `JobCancel` is not used: it keeps the row as
//! `cancelled`, which for a job already discarded changes nothing.

mod queries;

use super::model::{Filter, Job, QueueSummary, SourceKind, WriteReport};
use super::registry::{Backends, Found};
use super::source::JobSource;
use crate::config::jobs::JobsConfig;
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::{Error, Result};
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use queries::Sql;
use std::sync::Arc;

/// The main-line migration versions whose `river_job` layout the writes
/// below were checked against (River 0.x: 002 initial schema … 006 bulk
/// unique; 007 only relaxes `river_leader`).
pub const KNOWN_VERSIONS: std::ops::RangeInclusive<i64> = 2..=7;

pub struct River {
    pg: Arc<Pg>,
    sql: Sql,
    table: QualName,
}

/// Finds `river_job` (the configured name, else the first on the
/// search_path) and answers with a source when it is there.
pub fn detect<'a>(backends: &'a Backends, config: &'a JobsConfig) -> BoxFuture<'a, Result<Found>> {
    Box::pin(async move {
        let Some(pg) = backends.pg.clone() else {
            return Ok(None);
        };
        if !config.wants(SourceKind::River) {
            return Ok(None);
        }
        Ok(River::locate(pg, &config.river_table)
            .await?
            .map(|r| Box::new(r) as Box<dyn JobSource>))
    })
}

impl River {
    /// `table` as configured (`river_job`, `schema.river_job`); an
    /// unqualified name is looked up on the session's search_path.
    pub async fn locate(pg: Arc<Pg>, table: &str) -> Result<Option<River>> {
        let name = QualName::parse(table, "")?;
        let regclass = if name.schema.is_empty() {
            crate::conn::sql::quote_ident(&name.table)
        } else {
            name.sql()
        };
        let row = pg
            .row_opt(
                "SELECT n.nspname::text, c.relname::text FROM pg_class c
                 JOIN pg_namespace n ON n.oid = c.relnamespace
                 WHERE c.oid = to_regclass($1) AND c.relkind IN ('r', 'p')",
                &[&regclass],
            )
            .await?;
        Ok(row.map(|r| {
            let table = QualName {
                schema: r.get(0),
                table: r.get(1),
            };
            River {
                sql: Sql::new(&table),
                table,
                pg,
            }
        }))
    }

    /// The table read, `schema.river_job`.
    pub fn table(&self) -> String {
        self.table.display()
    }

    async fn version(&self) -> Result<i64> {
        let row = self.pg.row(&self.sql.version_probe, &[]).await?;
        let present: bool = row.get(0);
        if !present {
            return Err(Error::refused(format!(
                "{} has no river_migration table beside it, so opsdeck cannot tell River's schema version; run River's migrations (river migrate-up) or make the changes from River's own client",
                self.table()
            )));
        }
        let version: Option<i64> = self.pg.row(&self.sql.version, &[]).await?.get(0);
        version.ok_or_else(|| {
            Error::refused(format!(
                "river_migration beside {} records no main-line migration; run River's migrations (river migrate-up) first",
                self.table()
            ))
        })
    }

    async fn page(&self, filter: &Filter, after: Option<String>, size: u64) -> Result<Vec<Job>> {
        if after.as_deref().is_some_and(|a| a.parse::<i64>().is_err()) {
            return Err(Error::Usage(
                "--after takes a River job id, an integer; pass --source river with it".into(),
            ));
        }
        let size = size.to_string();
        let states = filter.state.map(queries::river_states);
        let pattern = filter
            .error_like
            .as_deref()
            .map(crate::conn::sql::contains_pattern);
        let rows = self
            .pg
            .rows_nullable(
                &self.sql.list,
                &[
                    filter.queue.as_deref(),
                    states.as_deref(),
                    pattern.as_deref(),
                    after.as_deref(),
                    Some(&size),
                ],
            )
            .await?;
        rows.iter().map(queries::job).collect()
    }

    async fn write(&self, ids: &[String], sql: &str, verb: &str) -> Result<WriteReport> {
        let version = self.version().await?;
        if !KNOWN_VERSIONS.contains(&version) {
            return Err(unknown_version(version));
        }
        let (numeric, mut report) = split_ids(ids);
        if numeric.is_empty() {
            return Ok(report);
        }
        let list = serde_json::to_string(&numeric).map_err(|e| Error::Usage(e.to_string()))?;
        for r in self.pg.rows(sql, &[&list]).await? {
            let id: String = r.get(0);
            let before: Option<String> = r.get(1);
            let changed: bool = r.get(2);
            match (changed, before) {
                (true, _) => report.done.push(id),
                (false, None) => report.skipped.push((id, "no such River job".into())),
                (false, Some(state)) if state == "running" => report.skipped.push((
                    id,
                    format!("running: River does not {verb} a running job; wait for it to finish or cancel it from the application"),
                )),
                (false, Some(state)) => report
                    .skipped
                    .push((id, format!("already {state} and due to run"))),
            }
        }
        Ok(report)
    }
}

fn unknown_version(version: i64) -> Error {
    Error::refused(format!(
        "River schema version {version} is not one opsdeck knows ({}–{}); upgrade opsdeck, or retry and delete jobs with River's own client",
        KNOWN_VERSIONS.start(),
        KNOWN_VERSIONS.end()
    ))
}

/// River ids are bigints; anything else cannot name a River job.
fn split_ids(ids: &[String]) -> (Vec<String>, WriteReport) {
    let mut report = WriteReport::default();
    let mut numeric = Vec::with_capacity(ids.len());
    for id in ids {
        match id.trim().parse::<i64>() {
            Ok(n) => numeric.push(n.to_string()),
            Err(_) => report.skipped.push((
                id.clone(),
                "not a River job id (River ids are integers)".into(),
            )),
        }
    }
    (numeric, report)
}

impl JobSource for River {
    fn kind(&self) -> SourceKind {
        SourceKind::River
    }

    fn check_version(&self) -> BoxFuture<'_, Result<String>> {
        Box::pin(async move {
            let version = self.version().await?;
            if KNOWN_VERSIONS.contains(&version) {
                Ok(format!("river migration {version}"))
            } else {
                Err(unknown_version(version))
            }
        })
    }

    fn queues(&self) -> BoxFuture<'_, Result<Vec<QueueSummary>>> {
        Box::pin(async move {
            let rows = self.pg.rows(&self.sql.queues, &[]).await?;
            Ok(rows.iter().map(queries::summary).collect())
        })
    }

    fn list<'a>(&'a self, filter: &'a Filter) -> BoxStream<'a, Result<Job>> {
        super::page::paged(
            filter,
            |j| j.id.clone(),
            move |after, n| self.page(filter, after, n),
        )
    }

    fn show<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>>> {
        Box::pin(async move {
            if id.trim().parse::<i64>().is_err() {
                return Ok(None);
            }
            match self.pg.row_opt(&self.sql.show, &[id.trim()]).await? {
                Some(r) => queries::detail(&r).map(Some),
                None => Ok(None),
            }
        })
    }

    fn retry<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.write(ids, &self.sql.retry, "retry"))
    }

    fn discard<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        Box::pin(self.write(ids, &self.sql.delete, "delete"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_are_not_integers_are_skipped() {
        let (ok, report) = split_ids(&["12".into(), " 7 ".into(), "abc".into(), "1.5".into()]);
        assert_eq!(ok, vec!["12", "7"]);
        let skipped: Vec<&str> = report.skipped.iter().map(|s| s.0.as_str()).collect();
        assert_eq!(skipped, vec!["abc", "1.5"]);
    }

    #[test]
    fn known_versions_cover_the_released_main_line() {
        assert!(KNOWN_VERSIONS.contains(&6));
        assert!(!KNOWN_VERSIONS.contains(&1));
        assert!(unknown_version(99).to_string().contains("99"));
    }
}
