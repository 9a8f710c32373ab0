//! Retry and discard as plans for the safety layer. A plan names one source
//! and a selection (ids, or every failed job matching a queue and error
//! text); [`execute_retry`] and [`execute_discard`] are the only callers of
//! the sources' write methods, and each takes only its own `Authorized` plan.

use super::bulk::{self, Outcome, Progress};
use super::model::SourceKind;
use super::source::JobSource;
use crate::error::Result;
use crate::safety::{Authorized, Intent, Mutation, Risk};
use crate::stop::Stop;
use serde::Serialize;
use serde_json::json;

/// Which jobs a change acts on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "by")]
pub enum Selection {
    Ids {
        ids: Vec<String>,
    },
    AllFailed {
        queue: Option<String>,
        error_like: Option<String>,
        /// A normalized error pattern (`jobs errors`): only the failures
        /// whose message normalizes to exactly this.
        pattern: Option<String>,
    },
}

impl Selection {
    /// How the selection reads in a prompt: `job 42`, `3 jobs`,
    /// `every failed job in emails matching 'smtp'`.
    pub fn describe(&self, matched: Option<u64>) -> String {
        match self {
            Selection::Ids { ids } if ids.len() == 1 => format!("job {}", ids[0]),
            Selection::Ids { ids } => format!("{} jobs", ids.len()),
            Selection::AllFailed {
                queue,
                error_like,
                pattern,
            } => {
                let mut s = match matched {
                    Some(n) => format!("{n} failed jobs"),
                    None => "every failed job".to_string(),
                };
                if let Some(q) = queue {
                    s.push_str(&format!(" in {q}"));
                }
                if let Some(e) = error_like {
                    s.push_str(&format!(" with an error containing '{e}'"));
                }
                if let Some(p) = pattern {
                    s.push_str(&format!(" failing with '{p}'"));
                }
                s
            }
        }
    }
}

/// What both plans hold.
#[derive(Debug, Clone)]
pub struct Planned {
    pub source: SourceKind,
    pub selection: Selection,
    intent: Intent,
}

fn planned(
    action: &str,
    verb: &str,
    risk: Risk,
    source: SourceKind,
    selection: Selection,
    matched: Option<u64>,
) -> Planned {
    let what = selection.describe(matched);
    // A typed confirmation names a short target: the id, or the count.
    let target = match (&selection, matched) {
        (Selection::Ids { ids }, _) if ids.len() == 1 => ids[0].clone(),
        (Selection::Ids { ids }, _) => format!("{} jobs", ids.len()),
        (Selection::AllFailed { .. }, Some(n)) => format!("{n} jobs"),
        (Selection::AllFailed { .. }, None) => "all failed".to_string(),
    };
    let params = json!({"source": source, "selection": selection, "matched": matched});
    let intent =
        Intent::new(action, target, risk, format!("{verb} {what} ({source}).")).with_params(params);
    Planned {
        source,
        selection,
        intent,
    }
}

/// Makes failed jobs runnable again for the system's own worker.
#[derive(Debug, Clone)]
pub struct RetryPlan(pub Planned);

/// Removes or permanently fails jobs the way their system does.
#[derive(Debug, Clone)]
pub struct DiscardPlan(pub Planned);

impl RetryPlan {
    /// `matched`: the dry run's count, shown in the question when known.
    pub fn new(source: SourceKind, selection: Selection, matched: Option<u64>) -> RetryPlan {
        RetryPlan(planned(
            "jobs.retry",
            "Retry",
            Risk::Mutating,
            source,
            selection,
            matched,
        ))
    }
}

impl DiscardPlan {
    pub fn new(source: SourceKind, selection: Selection, matched: Option<u64>) -> DiscardPlan {
        DiscardPlan(planned(
            "jobs.discard",
            "Discard",
            Risk::Destructive,
            source,
            selection,
            matched,
        ))
    }
}

impl Mutation for RetryPlan {
    fn intent(&self) -> &Intent {
        &self.0.intent
    }
}

impl Mutation for DiscardPlan {
    fn intent(&self) -> &Intent {
        &self.0.intent
    }
}

/// Runs an authorized retry in batches, reporting progress; stopped
/// between batches by `stop`, it ends as cancelled with what it did.
pub async fn execute_retry(
    source: &dyn JobSource,
    approved: Authorized<RetryPlan>,
    stop: &Stop,
    progress: impl FnMut(&Progress),
) -> Result<Outcome> {
    approved
        .run_stoppable(
            |plan, done| async move {
                bulk::run(source, &plan.0, bulk::Write::Retry, stop, done, progress).await
            },
            |o| (!o.cancelled, o.audit_detail()),
        )
        .await
}

pub async fn execute_discard(
    source: &dyn JobSource,
    approved: Authorized<DiscardPlan>,
    stop: &Stop,
    progress: impl FnMut(&Progress),
) -> Result<Outcome> {
    approved
        .run_stoppable(
            |plan, done| async move {
                bulk::run(source, &plan.0, bulk::Write::Discard, stop, done, progress).await
            },
            |o| (!o.cancelled, o.audit_detail()),
        )
        .await
}
