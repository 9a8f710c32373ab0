//! The (filtered) tenants table as a stream, never held in memory: CSV
//! formatted by the server through `COPY … TO STDOUT` (the path psql takes),
//! and typed rows for JSON, both back-pressured by the connection. A limit
//! stays a stream: the statement asks for one row more than wanted, the
//! caller holds that row back (it only says that more follow), and the
//! cursor for the next page comes from the last row's id plus one
//! primary-key lookup of its sort key.

use super::cursor::Cursor;
use super::list::{params, row};
use super::query::{self, Values};
use super::{meta, ListQuery, SortField, TenantRow};
use crate::config::SchemaMap;
use crate::conn::Pg;
use crate::error::{Error, Result};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::pin::Pin;

pub type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>;
pub type RowStream = Pin<Box<dyn Stream<Item = Result<TenantRow>> + Send>>;

/// The `SELECT` a CSV export of at most `limit` rows runs, with filters
/// inlined (COPY takes no parameters); the benchmark hands the same text to psql.
pub async fn csv_query(
    pg: &Pg,
    map: &SchemaMap,
    q: &ListQuery,
    limit: Option<usize>,
) -> Result<String> {
    let m = meta::load(pg, map).await?;
    super::list::check_status(pg, &m, q).await?;
    Ok(query::stream(&m, q, Values::Inline, limit)?.text)
}

fn check_limit(limit: Option<usize>) -> Result<()> {
    if limit == Some(0) {
        return Err(Error::Usage("--limit must be at least 1".into()));
    }
    Ok(())
}

/// CSV with a header row, chunks exactly as the server produced them. With
/// a limit the stream carries one row more: pass it through [`CsvCut`].
/// Runs without statement_timeout (see [`Pg::copy_out_unbounded`]).
pub async fn csv(
    pg: &Pg,
    map: &SchemaMap,
    q: &ListQuery,
    limit: Option<usize>,
) -> Result<ByteStream> {
    check_limit(limit)?;
    let select = csv_query(pg, map, q, limit.map(|n| n.saturating_add(1))).await?;
    let copy = format!("COPY ({select}) TO STDOUT (FORMAT csv, HEADER)");
    pg.copy_out_unbounded(&copy).await
}

/// Rows one by one, for JSON output; with a limit, one row more than it
/// (the caller holds that one back). Runs without statement_timeout.
pub async fn rows(
    pg: &Pg,
    map: &SchemaMap,
    q: &ListQuery,
    limit: Option<usize>,
) -> Result<RowStream> {
    check_limit(limit)?;
    let m = meta::load(pg, map).await?;
    super::list::check_status(pg, &m, q).await?;
    let sql = query::stream(&m, q, Values::Bind, limit.map(|n| n.saturating_add(1)))?;
    let s = pg.stream_unbounded(&sql.text, &params(&sql.params)).await?;
    Ok(Box::pin(s.map(|r| r.map(|r| row(&r)))))
}

/// The cursor that continues after the tenant with this id in `q`'s order.
pub async fn next_cursor(pg: &Pg, map: &SchemaMap, q: &ListQuery, id: &str) -> Result<String> {
    let key = if q.sort == SortField::Id {
        None
    } else {
        let m = meta::load(pg, map).await?;
        let sql = query::sort_key(&m, q.sort, id)?;
        let r = pg
            .row_opt(&sql.text, &params(&sql.params))
            .await?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "tenant {id} was deleted while it was listed, so no cursor follows it; list again with --after the previous cursor"
                ))
            })?;
        r.get(0)
    };
    Ok(Cursor {
        field: q.sort,
        desc: q.desc,
        key,
        id: id.to_string(),
    }
    .encode())
}

/// Passes the header and the first `rows` records of a CSV COPY stream and
/// notices whether another record follows. Quotes are tracked (a newline
/// inside a quoted field does not end a record; a doubled quote toggles
/// twice), and the last passed record is kept for its id.
pub struct CsvCut {
    keep: u64,
    seen: u64,
    quoted: bool,
    /// The record in progress, as far as earlier chunks carried it.
    partial: Vec<u8>,
    last: Vec<u8>,
    more: bool,
}

impl CsvCut {
    pub fn new(rows: usize) -> CsvCut {
        CsvCut {
            // The header, then the rows; a usize::MAX limit keeps every row.
            keep: (rows as u64).saturating_add(1),
            seen: 0,
            quoted: false,
            partial: Vec::new(),
            last: Vec::new(),
            more: false,
        }
    }

    /// The part of `chunk` to write.
    pub fn feed<'a>(&mut self, chunk: &'a [u8]) -> &'a [u8] {
        if self.seen >= self.keep {
            self.more |= !chunk.is_empty();
            return &[];
        }
        let (mut start, mut i) = (0, 0);
        while let Some(p) = chunk[i..].iter().position(|&b| b == b'"' || b == b'\n') {
            let j = i + p;
            i = j + 1;
            if chunk[j] == b'"' {
                self.quoted = !self.quoted;
                continue;
            }
            if self.quoted {
                continue;
            }
            self.seen += 1;
            if self.seen == self.keep {
                self.last.clear();
                self.last.extend_from_slice(&self.partial);
                self.last.extend_from_slice(&chunk[start..i]);
                self.more = i < chunk.len();
                return &chunk[..i];
            }
            self.partial.clear();
            start = i;
        }
        self.partial.extend_from_slice(&chunk[start..]);
        chunk
    }

    /// The id (first field) of the last record passed, when another record
    /// followed it; None when the stream ended within the limit.
    pub fn next_id(&self) -> Result<Option<String>> {
        if !self.more {
            return Ok(None);
        }
        let mut r = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(self.last.as_slice());
        let rec = r
            .records()
            .next()
            .transpose()
            .map_err(|e| Error::Server {
                detail: format!("the last CSV row COPY sent did not parse ({e}), so no cursor follows it"),
                hint: Some(
                    "the rows written are complete; run the same list with --output json for the next cursor"
                        .into(),
                ),
            })?;
        Ok(rec.and_then(|r| r.get(0).map(str::to_string)))
    }
}

#[cfg(test)]
mod tests {
    use super::CsvCut;

    const CSV: &[u8] =
        b"id,name\n1,plain\n\"2,x\",\"two\nlines \"\"quoted\"\"\"\n3,three\n4,four\n";

    /// Every split of the input into chunks gives the same cut.
    fn cut(rows: usize, sizes: usize) -> (Vec<u8>, Option<String>) {
        let mut c = CsvCut::new(rows);
        let mut out = Vec::new();
        for chunk in CSV.chunks(sizes) {
            out.extend_from_slice(c.feed(chunk));
        }
        (out, c.next_id().unwrap())
    }

    #[test]
    fn cuts_after_whole_records_whatever_the_chunking() {
        for size in [1, 2, 3, 7, CSV.len()] {
            let (out, next) = cut(2, size);
            assert_eq!(
                out,
                &b"id,name\n1,plain\n\"2,x\",\"two\nlines \"\"quoted\"\"\"\n"[..],
                "chunks of {size}"
            );
            assert_eq!(next.as_deref(), Some("2,x"), "chunks of {size}");
            let (out, next) = cut(4, size);
            assert_eq!(out, CSV, "everything fits");
            assert_eq!(next, None, "nothing follows the 4th record");
            assert_eq!(cut(3, size).1.as_deref(), Some("3"));
        }
    }
}
