//! The trait every job system adapter implements. Dyn-compatible (boxed
//! futures and streams) so the registry can hold a list of detected sources.
//! The write methods are reached only through the plan executor in
//! `plan.rs`, which holds an `Authorized` plan; batching lives in `bulk.rs`.

use super::bulk::Write;
use super::model::{Filter, Job, QueueSummary, SourceKind, WriteReport};
use crate::error::Result;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

pub trait JobSource: Send + Sync {
    fn kind(&self) -> SourceKind;

    /// The layout or schema version seen, e.g. "bullmq:6.7.0", "pgboss 46";
    /// an error saying what is supported when this adapter does not
    /// understand it. Checked before every write.
    fn check_version(&self) -> BoxFuture<'_, Result<String>>;

    fn queues(&self) -> BoxFuture<'_, Result<Vec<QueueSummary>>>;

    /// Streams in pages; memory stays bounded whatever the filter's limit.
    fn list<'a>(&'a self, filter: &'a Filter) -> BoxStream<'a, Result<Job>>;

    /// One job with its detail fields; None when no such id.
    fn show<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<Job>>>;

    /// Makes failed jobs runnable again so the system's own worker picks
    /// them up. One call is one atomic batch on the system's side.
    fn retry<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>>;

    /// Removes or permanently fails the jobs the way the system does.
    /// One call is one atomic batch on the system's side.
    fn discard<'a>(&'a self, ids: &'a [String]) -> BoxFuture<'a, Result<WriteReport>>;

    /// Every failed job (of `queue`, else of every queue) retried or
    /// discarded by calls that each pick their own batch on the system's
    /// side, one report per call, ending with the jobs that had failed when
    /// it started. None when the system has no such path: the bulk executor
    /// then lists the jobs and writes them by id. Only for selections no
    /// finer than the queue.
    fn sweep_failed<'a>(
        &'a self,
        _queue: Option<&'a str>,
        _write: Write,
    ) -> Option<BoxStream<'a, Result<WriteReport>>> {
        None
    }
}
