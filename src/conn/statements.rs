//! Every statement opsdeck runs goes through here, so that none depends on
//! session state a transaction pooler would lose or leak: statements are
//! unnamed (no prepared statement outlives its use), parameters are text,
//! and when the limits are set per transaction each statement runs inside
//! `BEGIN; SET LOCAL ...; <statement>; COMMIT`, pipelined into the one
//! round trip the statement alone would take.

use super::limits::SessionSettings;
use super::mark::{mark, MARK};
use super::pg::{Limits, Pg};
use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::future::{join, join3};
use futures_util::{Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Waker};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

/// COPY output as the server sends it.
pub type CopyStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;
/// Rows as they arrive.
pub type Rows = Pin<Box<dyn Stream<Item = Result<Row>> + Send>>;

const COMMIT: &str = "COMMIT /* opsdeck */";
const ROLLBACK: &str = "ROLLBACK /* opsdeck */";

type Typed<'a> = Vec<(&'a (dyn ToSql + Sync), Type)>;

fn typed<'a>(params: &'a [Option<&'a str>]) -> Typed<'a> {
    params
        .iter()
        .map(|p| (p as &(dyn ToSql + Sync), Type::TEXT))
        .collect()
}

fn some<'a>(params: &[&'a str]) -> Vec<Option<&'a str>> {
    params.iter().map(|p| Some(*p)).collect()
}

/// Sends a request without waiting for its answer. tokio-postgres queues a
/// request on the connection at its future's first poll, and the
/// connection reads and discards the answer of a future that was dropped;
/// so one poll puts a COMMIT or ROLLBACK on the wire behind what was sent
/// before it, which is all the ordering a session needs.
fn send_now<F: Future>(fut: F) {
    let mut fut = std::pin::pin!(fut);
    let _ = fut.as_mut().poll(&mut Context::from_waker(Waker::noop()));
}

/// What opens a transaction for a session: the limits with it when they
/// are set per transaction, nothing more when the startup packet carried
/// them. Built once per connection (and checked then: a setting name from
/// the spec that is not one fails the connect, not a later statement).
pub(super) fn begin_for(limits: Limits, settings: &SessionSettings) -> Result<String> {
    match limits {
        Limits::Startup => Ok(format!("BEGIN {MARK}")),
        Limits::PerTransaction(_) => settings.begin_local(),
    }
}

impl Pg {
    fn per_transaction(&self) -> bool {
        self.limits != Limits::Startup
    }

    /// Runs `sql` with text parameters (`$n` is text: cast it in the SQL) as
    /// one unnamed statement: one round trip where a prepared statement
    /// takes two, which over a 50 ms VPN is the difference that counts.
    pub async fn rows(&self, sql: &str, params: &[&str]) -> Result<Vec<Row>> {
        self.rows_nullable(sql, &some(params)).await
    }

    /// [`Pg::rows`] where a parameter may be NULL.
    pub async fn rows_nullable(&self, sql: &str, params: &[Option<&str>]) -> Result<Vec<Row>> {
        let typed = typed(params);
        if !self.per_transaction() {
            return Ok(self.client.query_typed(&mark(sql), &typed).await?);
        }
        let begin = &self.begin;
        // join3 polls in order, so the three go out back to back. A failed
        // statement makes the COMMIT a rollback, which is what it should be.
        let (b, r, c) = join3(
            self.client.batch_execute(begin),
            self.client.query_typed(&mark(sql), &typed),
            self.client.batch_execute(COMMIT),
        )
        .await;
        b?;
        let rows = r?;
        c?;
        Ok(rows)
    }

    /// [`Pg::rows`] for at most one row.
    pub async fn row_opt(&self, sql: &str, params: &[&str]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }

    /// [`Pg::rows`] for exactly one row (a statement that always returns one).
    pub async fn row(&self, sql: &str, params: &[&str]) -> Result<Row> {
        one(self.rows(sql, params).await?, sql)
    }

    /// Runs statements without parameters (DDL scripts) in one transaction.
    pub async fn batch(&self, sql: &str) -> Result<()> {
        if self.per_transaction() {
            let begin = &self.begin;
            // COMMIT goes as a query of its own: a failing statement skips the
            // rest of its batch, and a COMMIT skipped with it would leave the
            // server connection pinned inside an aborted transaction.
            let (b, c) = join(
                self.client
                    .batch_execute(&format!("{begin}; {}", mark(sql))),
                self.client.batch_execute(COMMIT),
            )
            .await;
            b?;
            c?;
        } else {
            self.client.batch_execute(&mark(sql)).await?;
        }
        Ok(())
    }

    /// Opens a transaction; statements on the [`Tx`] run inside it.
    pub async fn begin(&self) -> Result<Tx<'_>> {
        // Built first: should a SET LOCAL fail, its drop rolls back what the
        // BEGIN opened.
        let tx = Tx {
            pg: self,
            open: true,
        };
        self.client.batch_execute(&self.begin).await?;
        Ok(tx)
    }

    /// What a long read opens with: its transaction, with statement_timeout
    /// lifted for it alone. An export takes as long as the table is big, and
    /// the context's limit (meant for interactive queries) would cut it off
    /// midway; lock_timeout and read-only still hold.
    fn begin_unbounded(&self) -> String {
        format!("{}; SET {MARK} LOCAL statement_timeout = 0", self.begin)
    }

    /// `COPY ... TO STDOUT` as a stream, in a read transaction of its own
    /// without statement_timeout, committed once the copy has ended (or
    /// rolled back if it failed) whether or not the stream is read to its end.
    pub async fn copy_out_unbounded(&self, sql: &str) -> Result<CopyStream> {
        let begin = self.begin_unbounded();
        let sql = mark(sql);
        let (b, s) = join(
            self.client.batch_execute(&begin),
            self.client.copy_out(&*sql),
        )
        .await;
        // Sent whatever happened: after a failure it ends the transaction too.
        send_now(self.client.batch_execute(COMMIT));
        b?;
        Ok(Box::pin(s?.map(|r| r.map_err(Error::from))))
    }

    /// Rows of one unnamed statement as they arrive, like
    /// [`Pg::copy_out_unbounded`]: its own transaction, no statement_timeout.
    pub async fn stream_unbounded(&self, sql: &str, params: &[&str]) -> Result<Rows> {
        let begin = self.begin_unbounded();
        let params = some(params);
        let typed = typed(&params);
        let (b, s) = join(
            self.client.batch_execute(&begin),
            self.client.query_typed_raw(&mark(sql), typed),
        )
        .await;
        send_now(self.client.batch_execute(COMMIT));
        b?;
        Ok(Box::pin(s?.map(|r| r.map_err(Error::from))))
    }
}

fn one(rows: Vec<Row>, sql: &str) -> Result<Row> {
    rows.into_iter()
        .next()
        .ok_or_else(|| Error::server(format!("the server returned no row for: {sql}")))
}

/// An open transaction. Dropped without [`Tx::commit`], it rolls back: the
/// ROLLBACK goes out at once, so the session is never left inside it.
pub struct Tx<'a> {
    pg: &'a Pg,
    open: bool,
}

impl Tx<'_> {
    pub async fn rows(&self, sql: &str, params: &[&str]) -> Result<Vec<Row>> {
        let params = some(params);
        Ok(self
            .pg
            .client
            .query_typed(&mark(sql), &typed(&params))
            .await?)
    }

    pub async fn row_opt(&self, sql: &str, params: &[&str]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }

    pub async fn row(&self, sql: &str, params: &[&str]) -> Result<Row> {
        one(self.rows(sql, params).await?, sql)
    }

    /// Runs a statement and gives the number of rows it touched.
    pub async fn execute(&self, sql: &str, params: &[&str]) -> Result<u64> {
        let params = some(params);
        let stream = self.pg.client.query_typed_raw(sql, typed(&params)).await?;
        let mut stream = std::pin::pin!(stream);
        while let Some(row) = stream.next().await {
            row?;
        }
        Ok(stream.rows_affected().unwrap_or(0))
    }

    pub async fn commit(mut self) -> Result<()> {
        self.open = false;
        self.pg.client.batch_execute(COMMIT).await?;
        Ok(())
    }

    /// Rolls back and says whether the server confirmed it (a lost
    /// connection rolls back too, unconfirmed).
    pub async fn rollback(mut self) -> bool {
        self.open = false;
        self.pg.client.batch_execute(ROLLBACK).await.is_ok()
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if self.open {
            send_now(self.pg.client.batch_execute(ROLLBACK));
        }
    }
}
