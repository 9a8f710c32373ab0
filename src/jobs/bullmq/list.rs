//! Listing BullMQ jobs page by page: queue by queue (by name), set by set,
//! newest first. Sorted sets are walked by score (keyset), so jobs that
//! leave a set while the list runs (a bulk retry working through `failed`)
//! do not make it skip others; lists by position. One round trip per page
//! (a read-only script returns the ids with their hashes), and the next
//! page is fetched while the caller works on this one.

use super::decode::{self, Set, LIST_FIELDS};
use super::keys::{self, QueueKeys};
use super::pipe::{self, Batch};
use super::read::{self, Queue, PAGE};
use crate::cache::window::unobserved;
use crate::conn::redis::Redis;
use crate::error::{Error, Result};
use crate::jobs::model::{Filter, Job, State};
use redis::Script;
use std::sync::LazyLock;
use tokio::task::JoinHandle;

const PAGE_LUA: &str = include_str!("page.lua");
static PAGE_SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(PAGE_LUA));

type Fetched = Result<(Vec<Job>, Cursor)>;

#[derive(Debug, Clone, PartialEq)]
enum Cursor {
    Start,
    /// Scores at or below `score`, less the ids already given at it.
    Score {
        score: String,
        seen: Vec<String>,
    },
    Index(isize),
    Done,
}

pub struct Lister {
    redis: Redis,
    queues: Vec<Queue>,
    sets: Vec<Set>,
    qi: usize,
    si: usize,
    cursor: Cursor,
    state: Option<State>,
    error_like: Option<String>,
    left: Option<u64>,
    /// The page after the current one, being read already.
    ahead: Option<JoinHandle<Fetched>>,
}

impl Drop for Lister {
    fn drop(&mut self) {
        if let Some(h) = self.ahead.take() {
            h.abort();
        }
    }
}

impl Lister {
    /// A lister over `queues` (all of the prefix) as `filter` selects.
    pub async fn new(redis: Redis, queues: Vec<Queue>, filter: &Filter) -> Result<Lister> {
        let queues: Vec<Queue> = queues
            .into_iter()
            .filter(|q| filter.queue.as_ref().is_none_or(|f| *f == q.keys.queue))
            .collect();
        let mut l = Lister {
            redis,
            queues,
            sets: Set::of_state(filter.state),
            qi: 0,
            si: 0,
            cursor: Cursor::Start,
            state: filter.state,
            error_like: filter.error_like.as_ref().map(|e| e.to_lowercase()),
            left: filter.limit,
            ahead: None,
        };
        if let Some(after) = &filter.after {
            l.resume_after(after).await?;
        }
        Ok(l)
    }

    /// Starts just past the job `after` (QUEUE:ID) names; past its queue
    /// when it has left every listed set since.
    async fn resume_after(&mut self, after: &str) -> Result<()> {
        let r = keys::parse_ref(after)?;
        let Some(queue) = r.queue else {
            return Err(Error::Usage(format!(
                "the list cursor '{after}' must be QUEUE:ID, as the previous page printed it"
            )));
        };
        self.qi = self
            .queues
            .iter()
            .position(|q| q.keys.queue.as_str() >= queue)
            .unwrap_or(self.queues.len());
        let Some(q) = self.queues.get(self.qi).filter(|q| q.keys.queue == queue) else {
            return Ok(());
        };
        let keys = q.keys.clone();
        let found = read::locate(&self.redis, &keys, r.id).await?;
        let Some(si) = found.and_then(|set| self.sets.iter().position(|s| *s == set)) else {
            self.qi += 1;
            return Ok(());
        };
        let set = self.sets[si];
        let mut conn = self.redis.routed();
        let key = keys.key(set.suffix());
        self.cursor = if set.is_list() {
            let pos: Option<isize> = redis::cmd("LPOS")
                .arg(&key)
                .arg(r.id)
                .query_async(&mut conn)
                .await?;
            pos.map_or(Cursor::Start, |p| Cursor::Index(p + 1))
        } else {
            let score: Option<String> = redis::cmd("ZSCORE")
                .arg(&key)
                .arg(r.id)
                .query_async(&mut conn)
                .await?;
            score.map_or(Cursor::Start, |score| Cursor::Score {
                score,
                seen: vec![r.id.to_string()],
            })
        };
        self.si = si;
        Ok(())
    }

    /// The next non-empty page, or None when every set is walked or the
    /// limit is reached.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Job>>> {
        while self.left != Some(0) && self.qi < self.queues.len() {
            if self.si >= self.sets.len() || self.cursor == Cursor::Done {
                self.next_set();
                continue;
            }
            let keys = self.queues[self.qi].keys.clone();
            let set = self.sets[self.si];
            let (jobs, next) = match self.ahead.take() {
                Some(h) => h
                    .await
                    .map_err(|e| Error::server(format!("reading BullMQ jobs: {e}")))??,
                None => fetch(self.redis.clone(), keys.clone(), set, self.cursor.clone()).await?,
            };
            self.cursor = next;
            if self.cursor != Cursor::Done && self.left != Some(0) {
                let cursor = self.cursor.clone();
                self.ahead = Some(tokio::spawn(fetch(self.redis.clone(), keys, set, cursor)));
            }
            let mut page: Vec<Job> = jobs.into_iter().filter(|j| self.wanted(j)).collect();
            if let Some(left) = self.left.as_mut() {
                page.truncate(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= page.len() as u64;
            }
            if !page.is_empty() {
                return Ok(Some(page));
            }
        }
        Ok(None)
    }

    fn next_set(&mut self) {
        if let Some(h) = self.ahead.take() {
            h.abort();
        }
        self.si += 1;
        self.cursor = Cursor::Start;
        if self.si >= self.sets.len() {
            self.si = 0;
            self.qi += 1;
        }
    }

    fn wanted(&self, job: &Job) -> bool {
        // Scheduled and retrying share the `delayed` set.
        if self.state.is_some_and(|s| s != job.state) {
            return false;
        }
        match &self.error_like {
            Some(e) => job
                .error
                .as_ref()
                .is_some_and(|m| m.to_lowercase().contains(e)),
            None => true,
        }
    }
}

/// One page of jobs from a set at `cursor`, and the cursor after it; its
/// reads are left out of the Redis window.
async fn fetch(redis: Redis, keys: QueueKeys, set: Set, cursor: Cursor) -> Fetched {
    let r = &redis;
    unobserved(r, async {
        let rows = rows(r, &keys, set, &cursor).await?;
        let next = next_cursor(set, &cursor, &rows);
        let jobs = rows
            .iter()
            .filter(|row| !skip(&cursor, row))
            .filter_map(|(id, _, fields)| decode::job(&keys.queue, id, set, fields))
            .collect();
        Ok((jobs, next))
    })
    .await
}

type Row = (String, String, Vec<Option<String>>);

/// Where a page starts and how many ids it asks for.
fn bounds(cursor: &Cursor) -> (String, usize) {
    match cursor {
        Cursor::Score { score, seen } => (score.clone(), PAGE + seen.len()),
        Cursor::Index(i) => (i.to_string(), PAGE),
        _ => (String::new(), PAGE),
    }
}

/// The page's ids, scores and hash fields: one script call when the
/// queue's keys share a slot (always off Cluster), else the range and then
/// the hashes slot by slot.
async fn rows(redis: &Redis, keys: &QueueKeys, set: Set, cursor: &Cursor) -> Result<Vec<Row>> {
    let key = keys.key(set.suffix());
    let (from, want) = bounds(cursor);
    let (mode, from) = match (set.is_list(), from.is_empty()) {
        (true, true) => ("l", "0".to_string()),
        (true, false) => ("l", from),
        (false, true) => ("z", "+inf".to_string()),
        (false, false) => ("z", from),
    };
    if !redis.is_cluster() || keys.one_slot() {
        let want = want.to_string();
        let mut args = vec![keys.base.as_str(), mode, from.as_str(), want.as_str()];
        args.extend(LIST_FIELDS);
        return Ok(pipe::eval(redis, &PAGE_SCRIPT, PAGE_LUA, &[key], &args).await?);
    }
    let mut conn = redis.routed();
    let ids: Vec<(String, String)> = if mode == "l" {
        let start: isize = from.parse().unwrap_or(0);
        let ids: Vec<String> = redis::cmd("LRANGE")
            .arg(&key)
            .arg(start)
            .arg(start + isize::try_from(want).unwrap_or(isize::MAX) - 1)
            .query_async(&mut conn)
            .await?;
        ids.into_iter().map(|id| (id, String::new())).collect()
    } else {
        redis::cmd("ZREVRANGEBYSCORE")
            .arg(&key)
            .arg(&from)
            .arg("-inf")
            .arg("WITHSCORES")
            .arg("LIMIT")
            .arg(0)
            .arg(want)
            .query_async(&mut conn)
            .await?
    };
    let mut batch = Batch::new();
    for (id, _) in &ids {
        let job = keys.job(id);
        let mut c = redis::cmd("HMGET");
        c.arg(&job).arg(&LIST_FIELDS[..]);
        batch.add(job, c);
    }
    let fields: Vec<Vec<Option<String>>> = batch.query(redis).await?;
    Ok(ids
        .into_iter()
        .zip(fields)
        .map(|((id, score), f)| (id, score, f))
        .collect())
}

/// An id the previous page already gave (same score, keyset tie).
fn skip(cursor: &Cursor, (id, score, _): &Row) -> bool {
    match cursor {
        Cursor::Score { score: at, seen } => score == at && seen.contains(id),
        _ => false,
    }
}

/// Where the page after `rows` starts: past the last score (remembering
/// the ids given at it) or the last index; Done after a short page.
fn next_cursor(set: Set, cursor: &Cursor, rows: &[Row]) -> Cursor {
    let (_, want) = bounds(cursor);
    if rows.len() < want {
        return Cursor::Done;
    }
    if set.is_list() {
        let from = match cursor {
            Cursor::Index(i) => *i,
            _ => 0,
        };
        return Cursor::Index(from + isize::try_from(rows.len()).unwrap_or(isize::MAX));
    }
    let Some((_, last, _)) = rows.last() else {
        return Cursor::Done;
    };
    let mut seen: Vec<String> = rows
        .iter()
        .filter(|(_, s, _)| s == last)
        .map(|(id, _, _)| id.clone())
        .collect();
    if let Cursor::Score {
        score,
        seen: before,
    } = cursor
    {
        if score == last {
            for id in before {
                if !seen.contains(id) {
                    seen.push(id.clone());
                }
            }
        }
    }
    Cursor::Score {
        score: last.clone(),
        seen,
    }
}
