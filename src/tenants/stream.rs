//! The whole (filtered) tenants table as a stream, never held in memory:
//! CSV formatted by the server through `COPY … TO STDOUT` (the path psql
//! takes), and typed rows for JSON, both back-pressured by the connection.

use super::list::{params, row};
use super::query::{self, Values};
use super::{meta, ListQuery, TenantRow};
use crate::config::SchemaMap;
use crate::conn::Pg;
use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use std::pin::Pin;

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;
pub type RowStream = Pin<Box<dyn Stream<Item = Result<TenantRow>> + Send>>;

/// The `SELECT` a CSV export runs, with filters inlined (COPY takes no
/// parameters); the benchmark hands the same text to psql.
pub async fn csv_query(pg: &Pg, map: &SchemaMap, q: &ListQuery) -> Result<String> {
    let m = meta::load(pg, map).await?;
    Ok(query::stream(&m, q, Values::Inline)?.text)
}

/// A whole-table export takes as long as the table is big: the context's
/// statement_timeout (meant for interactive queries) would cut it off midway
/// with partial output. The export is read-only and ends with the process
/// (Ctrl-C closes the connection), so it lifts the limit on its session.
async fn lift_statement_timeout(pg: &Pg) -> Result<()> {
    pg.client()
        .batch_execute("SET statement_timeout = 0")
        .await?;
    Ok(())
}

/// CSV with a header row, chunks exactly as the server produced them.
/// Lifts statement_timeout on this session (see [`lift_statement_timeout`]).
pub async fn csv(pg: &Pg, map: &SchemaMap, q: &ListQuery) -> Result<ByteStream> {
    let select = csv_query(pg, map, q).await?;
    lift_statement_timeout(pg).await?;
    let copy = format!("COPY ({select}) TO STDOUT (FORMAT csv, HEADER)");
    let s = pg.client().copy_out(copy.as_str()).await?;
    Ok(Box::pin(s.map_err(Error::from)))
}

/// Rows one by one, for JSON output. Lifts statement_timeout on this session.
pub async fn rows(pg: &Pg, map: &SchemaMap, q: &ListQuery) -> Result<RowStream> {
    let m = meta::load(pg, map).await?;
    let sql = query::stream(&m, q, Values::Bind)?;
    lift_statement_timeout(pg).await?;
    let s = pg
        .client()
        .query_raw(sql.text.as_str(), params(&sql.params))
        .await?;
    Ok(Box::pin(s.map(|r| r.map(|r| row(&r)).map_err(Error::from))))
}
