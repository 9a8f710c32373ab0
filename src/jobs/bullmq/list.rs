//! Listing BullMQ jobs page by page: queue by queue (by name), set by set,
//! newest first. Sorted sets are walked by score (keyset), so jobs that
//! leave a set while the list runs (a bulk retry working through `failed`)
//! do not make it skip others; lists by position.

use super::decode::Set;
use super::keys;
use super::read::{self, Queue, PAGE};
use crate::cache::window::unobserved;
use crate::conn::redis::Redis;
use crate::error::{Error, Result};
use crate::jobs::model::{Filter, Job, State};

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

pub struct Lister<'a> {
    redis: &'a Redis,
    queues: Vec<Queue>,
    sets: Vec<Set>,
    qi: usize,
    si: usize,
    cursor: Cursor,
    state: Option<State>,
    error_like: Option<String>,
    left: Option<u64>,
}

impl<'a> Lister<'a> {
    /// A lister over `queues` (all of the prefix) as `filter` selects.
    pub async fn new(redis: &'a Redis, queues: Vec<Queue>, filter: &Filter) -> Result<Lister<'a>> {
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
        let found = read::locate(self.redis, &keys, r.id).await?;
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
            let redis = self.redis;
            let cursor = self.cursor.clone();
            let (ids, next) = unobserved(redis, async {
                let (ids, next) = range(redis, &keys.key(set.suffix()), set, &cursor).await?;
                let jobs = read::jobs(redis, &keys, set, &ids, false).await?;
                Ok((jobs, next))
            })
            .await?;
            self.cursor = next;
            let mut page: Vec<Job> = ids.into_iter().filter(|j| self.wanted(j)).collect();
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

/// One page of ids from a set at `cursor`, and the cursor after it.
async fn range(
    redis: &Redis,
    key: &str,
    set: Set,
    cursor: &Cursor,
) -> Result<(Vec<String>, Cursor)> {
    let mut conn = redis.routed();
    if set.is_list() {
        let from = match cursor {
            Cursor::Index(i) => *i,
            _ => 0,
        };
        let page = isize::try_from(PAGE).unwrap_or(isize::MAX);
        let ids: Vec<String> = redis::cmd("LRANGE")
            .arg(key)
            .arg(from)
            .arg(from + page - 1)
            .query_async(&mut conn)
            .await?;
        let next = if ids.len() < PAGE {
            Cursor::Done
        } else {
            Cursor::Index(from + page)
        };
        return Ok((ids, next));
    }
    let (max, seen) = match cursor {
        Cursor::Score { score, seen } => (score.clone(), seen.clone()),
        _ => ("+inf".to_string(), Vec::new()),
    };
    let want = PAGE + seen.len();
    let rows: Vec<(String, String)> = redis::cmd("ZREVRANGEBYSCORE")
        .arg(key)
        .arg(&max)
        .arg("-inf")
        .arg("WITHSCORES")
        .arg("LIMIT")
        .arg(0)
        .arg(want)
        .query_async(&mut conn)
        .await?;
    let complete = rows.len() < want;
    let last = rows.last().map(|(_, s)| s.clone());
    let mut at_last: Vec<String> = Vec::new();
    let mut ids = Vec::with_capacity(rows.len());
    for (id, score) in rows {
        if score == max && seen.contains(&id) {
            continue;
        }
        if Some(&score) == last.as_ref() {
            at_last.push(id.clone());
        }
        ids.push(id);
    }
    let next = match last {
        _ if complete => Cursor::Done,
        Some(score) => {
            if score == max {
                at_last.extend(seen);
            }
            Cursor::Score {
                score,
                seen: at_last,
            }
        }
        None => Cursor::Done,
    };
    Ok((ids, next))
}
