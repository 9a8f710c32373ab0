//! BullMQ (Redis): queues under a configurable prefix (`bull`, or a
//! hash-tagged `{bull}` on Cluster), read with SCAN and pipelines, written
//! with opsdeck's own Lua scripts that keep BullMQ 5/6's invariants so a
//! running worker never sees a half-moved job.

mod decode;
mod keys;
mod list;
mod pipe;
mod read;
mod write;

pub use keys::{parse_ref, qualified, QueueKeys, WRITABLE_MAJORS};
pub use write::SLICE;

use crate::config::jobs::JobsConfig;
use crate::conn::redis::Redis;
use crate::error::{Error, Result};
use crate::jobs::bulk::Write;
use crate::jobs::model::{Filter, Job, QueueSummary, SourceKind, WriteReport};
use crate::jobs::registry::{Backends, Found};
use crate::jobs::source::JobSource;
use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};
use futures_util::FutureExt;
use read::Queue;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use write::Op;

/// How long a discovered queue list is reused: a TUI refresh or a bulk
/// write's batches need not SCAN the keyspace again each time.
const QUEUES_FRESH: Duration = Duration::from_secs(30);

pub struct Bullmq {
    redis: Redis,
    prefix: String,
    queues: Mutex<Option<(Instant, Vec<Queue>)>>,
}

impl Bullmq {
    pub fn new(redis: Redis, prefix: &str) -> Bullmq {
        Bullmq {
            redis,
            prefix: prefix.to_string(),
            queues: Mutex::new(None),
        }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    async fn known_queues(&self) -> Result<Vec<Queue>> {
        if let Ok(cached) = self.queues.lock() {
            if let Some((at, q)) = cached.as_ref() {
                if at.elapsed() < QUEUES_FRESH {
                    return Ok(q.clone());
                }
            }
        }
        let found = read::discover(&self.redis, &self.prefix).await?;
        if let Ok(mut cached) = self.queues.lock() {
            *cached = Some((Instant::now(), found.clone()));
        }
        Ok(found)
    }

    async fn versions(&self) -> Result<String> {
        let queues = self.known_queues().await?;
        if queues.is_empty() {
            return Ok(format!("bullmq: no queues under prefix '{}'", self.prefix));
        }
        let mut seen: Vec<String> = queues
            .iter()
            .map(|q| q.version.clone().unwrap_or_else(|| "no version".into()))
            .collect();
        seen.sort();
        seen.dedup();
        if let Some(bad) = queues
            .iter()
            .find(|q| !keys::writable(q.version.as_deref()))
        {
            if queues.iter().all(|q| !keys::writable(q.version.as_deref())) {
                return Err(keys::unwritable(&bad.keys.queue, bad.version.as_deref()));
            }
        }
        Ok(seen.join(", "))
    }

    async fn show_one(&self, text: &str) -> Result<Option<Job>> {
        let r = keys::parse_ref(text)?;
        let queues = self.known_queues().await?;
        let queue = match r.queue {
            Some(name) => queues.iter().find(|q| q.keys.queue == name),
            None => read::queue_of_bare_id(&self.redis, &queues, r.id).await?,
        };
        let Some(queue) = queue else {
            return Ok(None);
        };
        let Some(set) = read::locate(&self.redis, &queue.keys, r.id).await? else {
            return Ok(None);
        };
        let ids = [r.id.to_string()];
        let redis = &self.redis;
        let mut jobs = crate::cache::window::unobserved(redis, async {
            read::jobs(redis, &queue.keys, set, &ids, true).await
        })
        .await?;
        Ok(jobs.pop())
    }

    async fn write(&self, op: Op, ids: &[String]) -> Result<WriteReport> {
        let queues = self.known_queues().await?;
        write::run(&self.redis, &queues, op, ids).await
    }
}

impl JobSource for Bullmq {
    fn kind(&self) -> SourceKind {
        SourceKind::Bullmq
    }

    fn check_version(&self) -> BoxFuture<'_, Result<String>> {
        self.versions().boxed()
    }

    fn queues(&self) -> BoxFuture<'_, Result<Vec<QueueSummary>>> {
        async move {
            let queues = self.known_queues().await?;
            read::summaries(&self.redis, &queues).await
        }
        .boxed()
    }

    fn list<'a>(&'a self, filter: &'a Filter) -> BoxStream<'a, Result<Job>> {
        let start = async move {
            let queues = self.known_queues().await?;
            list::Lister::new(self.redis.clone(), queues, filter).await
        };
        stream::once(start)
            .map_ok(|lister| {
                stream::try_unfold(lister, |mut l| async move {
                    Ok::<_, Error>(l.next_page().await?.map(|page| (page, l)))
                })
            })
            .try_flatten()
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }

    fn show<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>>> {
        self.show_one(id).boxed()
    }

    fn retry<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        self.write(Op::Retry, ids).boxed()
    }

    fn discard<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>> {
        self.write(Op::Discard, ids).boxed()
    }

    fn sweep_failed<'a>(
        &'a self,
        queue: Option<&'a str>,
        w: Write,
    ) -> Option<BoxStream<'a, Result<WriteReport>>> {
        let op = match w {
            Write::Retry => Op::Retry,
            Write::Discard => Op::Discard,
        };
        let start = async move {
            let queues: Vec<Queue> = self
                .known_queues()
                .await?
                .into_iter()
                .filter(|q| queue.is_none_or(|name| q.keys.queue == name))
                .collect();
            for q in &queues {
                write::writable(&self.redis, q)?;
            }
            let until_ms = chrono::Utc::now().timestamp_millis();
            Ok::<_, Error>(queues.into_iter().map(move |q| {
                let at = write::Sweep { until_ms, left: 0 };
                stream::try_unfold((q, at), move |(q, mut at)| async move {
                    let report = write::sweep(&self.redis, &q, op, &mut at).await?;
                    let over = report.done.is_empty() && report.skipped.is_empty();
                    Ok::<_, Error>((!over).then_some((report, (q, at))))
                })
            }))
        };
        Some(
            stream::once(start)
                .map_ok(|queues| stream::iter(queues).flatten())
                .try_flatten()
                .boxed(),
        )
    }
}

/// A BullMQ source when the context's Redis holds queues under the
/// configured prefix, or when the context names bullmq among its sources.
pub fn detect<'a>(backends: &'a Backends, config: &'a JobsConfig) -> BoxFuture<'a, Result<Found>> {
    async move {
        let Some(redis) = backends.redis.clone() else {
            return Ok(None);
        };
        if !config.wants(SourceKind::Bullmq) {
            return Ok(None);
        }
        let source = Bullmq::new(redis, &config.bullmq_prefix);
        let named = config
            .sources
            .as_ref()
            .is_some_and(|s| s.contains(&SourceKind::Bullmq));
        if !named && source.known_queues().await?.is_empty() {
            return Ok(None);
        }
        Ok(Some(Box::new(source) as Box<dyn JobSource>))
    }
    .boxed()
}
