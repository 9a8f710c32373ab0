//! Keyset paging shared by the Postgres adapters: a listing is a stream of
//! pages fetched one at a time, each starting after the last id seen, so
//! memory stays at one page whatever the limit.

use super::model::{Filter, Job};
use crate::error::Result;
use futures_util::stream::{self, BoxStream, StreamExt};
use std::future::Future;
use std::sync::Arc;

/// Rows per round trip.
pub const PAGE: u64 = 1000;

/// Streams the jobs `fetch(after, n)` returns page by page, until a page
/// comes back short or `filter.limit` jobs were given. `cursor` names the
/// position after a job, in whatever form `fetch` takes it back.
pub fn paged<'a, F, Fut>(
    filter: &'a Filter,
    cursor: fn(&Job) -> String,
    fetch: F,
) -> BoxStream<'a, Result<Job>>
where
    F: Fn(Option<String>, u64) -> Fut + Send + Sync + 'a,
    Fut: Future<Output = Result<Vec<Job>>> + Send + 'a,
{
    struct Cursor {
        after: Option<String>,
        left: Option<u64>,
        done: bool,
    }
    let start = Cursor {
        after: filter.after.clone(),
        left: filter.limit,
        done: false,
    };
    stream::unfold((start, fetch), move |(mut c, fetch)| async move {
        if c.done || c.left == Some(0) {
            return None;
        }
        let n = c.left.map_or(PAGE, |l| l.min(PAGE));
        match fetch(c.after.clone(), n).await {
            Ok(page) => {
                c.done = (page.len() as u64) < n;
                c.after = page.last().map(cursor).or(c.after);
                if let Some(l) = &mut c.left {
                    *l -= page.len() as u64;
                }
                let items: Vec<Result<Job>> = page.into_iter().map(Ok).collect();
                Some((stream::iter(items), (c, fetch)))
            }
            Err(e) => {
                c.done = true;
                Some((stream::iter(vec![Err(e)]), (c, fetch)))
            }
        }
    })
    .flatten()
    .boxed()
}

/// [`paged`] for a source whose pages need a layout read first (the
/// configured table's columns): `layout` runs once per listing, and every
/// page gets what it read.
pub fn paged_after<'a, L, LFut, F, Fut>(
    filter: &'a Filter,
    cursor: fn(&Job) -> String,
    layout: LFut,
    fetch: F,
) -> BoxStream<'a, Result<Job>>
where
    LFut: Future<Output = Result<L>> + Send + 'a,
    L: Send + Sync + 'a,
    F: Fn(Arc<L>, Option<String>, u64) -> Fut + Send + Sync + 'a,
    Fut: Future<Output = Result<Vec<Job>>> + Send + 'a,
{
    stream::once(async move {
        match layout.await {
            Ok(l) => {
                let l = Arc::new(l);
                paged(filter, cursor, move |after, n| fetch(l.clone(), after, n))
            }
            Err(e) => stream::iter([Err(e)]).boxed(),
        }
    })
    .flatten()
    .boxed()
}

/// A WHERE clause holding only the conditions a filter uses, each with its
/// own text parameter: a generic `($1 IS NULL OR …)` would keep the planner
/// from using the key index for the keyset cursor (and from pruning
/// partitions by queue), so every page would scan and sort the table.
#[derive(Debug, Default)]
pub struct Where {
    conds: Vec<String>,
    pub params: Vec<String>,
}

impl Where {
    /// The next parameter's placeholder, `$n`, for `value`.
    pub fn param(&mut self, value: impl Into<String>) -> String {
        self.params.push(value.into());
        format!("${}", self.params.len())
    }

    pub fn and(&mut self, cond: String) {
        self.conds.push(cond);
    }

    pub fn sql(&self) -> String {
        if self.conds.is_empty() {
            "TRUE".into()
        } else {
            self.conds.join(" AND ")
        }
    }

    pub fn refs(&self) -> Vec<&str> {
        self.params.iter().map(String::as_str).collect()
    }
}
