//! Bulk selection and writes: the dry run (count and a sample, nothing
//! changed), then the change in batches of [`BATCH`] ids, each one atomic
//! on the system's side, with progress after every batch and a stop checked
//! between them. What was done is kept in the audit's `Done` as it goes, so
//! an interrupted run's end record carries the ids written so far.

use super::model::{Filter, Job, SourceKind, State, WriteReport};
use super::plan::{Planned, Selection};
use super::source::JobSource;
use crate::error::{Error, Result};
use crate::safety::Done;
use crate::stop::Stop;
use futures_util::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Instant;

/// Ids per write call.
pub const BATCH: usize = 1000;
/// Jobs a dry run shows.
pub const SAMPLE: usize = 10;
/// Ids the audit record lists; a bigger run records the count beyond.
pub const AUDIT_IDS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Retry,
    Discard,
}

/// What a change would touch.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub source: SourceKind,
    pub dry_run: bool,
    pub matched: u64,
    pub sample: Vec<Job>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub done: u64,
    pub skipped: u64,
    pub batches: u64,
}

/// What a change did.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub source: SourceKind,
    pub cancelled: bool,
    pub done: u64,
    pub skipped: u64,
    pub batches: u64,
    pub elapsed_ms: u64,
    /// The ids written, up to [`AUDIT_IDS`].
    pub ids: Vec<String>,
    /// Ids left alone with the reason, up to [`AUDIT_IDS`].
    pub skipped_ids: Vec<(String, String)>,
}

impl Outcome {
    pub fn audit_detail(&self) -> Value {
        json!({
            "done": self.done,
            "skipped": self.skipped,
            "batches": self.batches,
            "ids": self.ids,
            "ids_not_listed": self.done.saturating_sub(self.ids.len() as u64),
            "skipped_ids": self.skipped_ids,
        })
    }
}

/// The filter of an all-failed selection.
pub fn failed_filter(queue: &Option<String>, error_like: &Option<String>) -> Filter {
    Filter {
        queue: queue.clone(),
        state: Some(State::Failed),
        error_like: error_like.clone(),
        limit: None,
        after: None,
    }
}

/// The next [`BATCH`] ids of the group from `jobs`, and whether the
/// listing ended.
async fn gather(
    jobs: &mut futures_util::stream::BoxStream<'_, Result<Job>>,
    pattern: &Option<String>,
) -> Result<(Vec<String>, bool)> {
    let mut batch = Vec::with_capacity(BATCH);
    while batch.len() < BATCH {
        match jobs.next().await.transpose()? {
            Some(j) if in_group(&j, pattern) => batch.push(j.id),
            Some(_) => {}
            None => return Ok((batch, true)),
        }
    }
    Ok((batch, false))
}

/// Whether `job` is in the failure group `pattern` names (any, without one).
fn in_group(job: &Job, pattern: &Option<String>) -> bool {
    pattern.as_deref().is_none_or(|p| {
        super::group::normalize(job.error.as_deref().unwrap_or(super::group::NO_ERROR)) == p
    })
}

/// Counts what `selection` matches and keeps the first few; changes nothing.
pub async fn dry_run(source: &dyn JobSource, selection: &Selection) -> Result<DryRun> {
    let mut out = DryRun {
        source: source.kind(),
        dry_run: true,
        matched: 0,
        sample: Vec::new(),
    };
    match selection {
        Selection::Ids { ids } => {
            for id in ids {
                if let Some(j) = source.show(id).await? {
                    out.matched += 1;
                    if out.sample.len() < SAMPLE {
                        out.sample.push(j);
                    }
                }
            }
        }
        Selection::AllFailed {
            queue,
            error_like,
            pattern,
        } => {
            let filter = failed_filter(queue, error_like);
            let mut jobs = source.list(&filter);
            while let Some(j) = jobs.next().await {
                let j = j?;
                if !in_group(&j, pattern) {
                    continue;
                }
                out.matched += 1;
                if out.sample.len() < SAMPLE {
                    out.sample.push(j);
                }
            }
        }
    }
    Ok(out)
}

pub(super) async fn run(
    source: &dyn JobSource,
    plan: &Planned,
    write: Write,
    stop: &Stop,
    done: Done,
    mut progress: impl FnMut(&Progress),
) -> Result<Outcome> {
    if plan.source != source.kind() {
        return Err(Error::Usage(format!(
            "the plan is for {} but the source given is {}",
            plan.source,
            source.kind()
        )));
    }
    source.check_version().await?;
    let started = Instant::now();
    let mut out = Outcome {
        source: source.kind(),
        cancelled: false,
        done: 0,
        skipped: 0,
        batches: 0,
        elapsed_ms: 0,
        ids: Vec::new(),
        skipped_ids: Vec::new(),
    };
    let mut apply = |report: WriteReport, out: &mut Outcome| {
        out.batches += 1;
        out.done += report.done.len() as u64;
        out.skipped += report.skipped.len() as u64;
        let (ids_before, skipped_before) = (out.ids.len(), out.skipped_ids.len());
        let room = AUDIT_IDS.saturating_sub(out.ids.len());
        out.ids.extend(report.done.into_iter().take(room));
        let room = AUDIT_IDS.saturating_sub(out.skipped_ids.len());
        out.skipped_ids
            .extend(report.skipped.into_iter().take(room));
        // Only this batch's ids are added: rebuilding the record's 10,000
        // ids after every batch cost more than the writes of a BullMQ sweep.
        done.update(|detail| match detail {
            Value::Object(_) => {
                detail["done"] = json!(out.done);
                detail["skipped"] = json!(out.skipped);
                detail["batches"] = json!(out.batches);
                detail["ids_not_listed"] = json!(out.done.saturating_sub(out.ids.len() as u64));
                if let Some(a) = detail["ids"].as_array_mut() {
                    a.extend(out.ids[ids_before..].iter().map(|id| json!(id)));
                }
                if let Some(a) = detail["skipped_ids"].as_array_mut() {
                    a.extend(out.skipped_ids[skipped_before..].iter().map(|s| json!(s)));
                }
            }
            _ => *detail = out.audit_detail(),
        });
        progress(&Progress {
            done: out.done,
            skipped: out.skipped,
            batches: out.batches,
        });
    };
    let call = |ids: Vec<String>| async move {
        match write {
            Write::Retry => source.retry(&ids).await,
            Write::Discard => source.discard(&ids).await,
        }
    };
    // A selection no finer than the queue goes to the system's own sweep
    // where it has one: no listing before the writes.
    let sweep = match &plan.selection {
        Selection::AllFailed {
            queue,
            error_like: None,
            pattern: None,
        } => source.sweep_failed(queue.as_deref(), write),
        _ => None,
    };
    if let Some(mut calls) = sweep {
        loop {
            if stop.is_set() {
                out.cancelled = true;
                break;
            }
            match calls.next().await.transpose()? {
                Some(report) => apply(report, &mut out),
                None => break,
            }
        }
        out.elapsed_ms = started.elapsed().as_millis() as u64;
        return Ok(out);
    }
    match &plan.selection {
        Selection::Ids { ids } => {
            for chunk in ids.chunks(BATCH) {
                if stop.is_set() {
                    out.cancelled = true;
                    break;
                }
                let report = call(chunk.to_vec()).await?;
                apply(report, &mut out);
            }
        }
        Selection::AllFailed {
            queue,
            error_like: None,
            pattern: None,
        } if source.sweep_failed(queue.as_deref(), write).is_some() => {
            let Some(mut calls) = source.sweep_failed(queue.as_deref(), write) else {
                unreachable!("checked by the guard")
            };
            while !stop.is_set() {
                match calls.next().await.transpose()? {
                    Some(report) => apply(report, &mut out),
                    None => break,
                }
            }
            out.cancelled = stop.is_set();
        }
        Selection::AllFailed {
            queue,
            error_like,
            pattern,
        } => {
            // The listing's keyset cursor moves on whatever the writes do to
            // the rows behind it, so no job is visited twice; the next batch
            // is read while the last one is written.
            let filter = failed_filter(queue, error_like);
            let mut jobs = source.list(&filter);
            let mut next = gather(&mut jobs, pattern).await?;
            loop {
                let (batch, ended) = next;
                if batch.is_empty() {
                    break;
                }
                if stop.is_set() {
                    out.cancelled = true;
                    break;
                }
                let (report, following) = if ended {
                    (call(batch).await, Ok((Vec::new(), true)))
                } else {
                    tokio::join!(call(batch), gather(&mut jobs, pattern))
                };
                apply(report?, &mut out);
                next = following?;
            }
        }
    }
    out.elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(out)
}
