//! The normalized job model every adapter maps its system onto
//! (DESIGN.md section 5; the `jobs list` JSON contract in section 3).

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Which job system a job lives in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    Bullmq,
    Pgboss,
    GraphileWorker,
    River,
    Table,
}

impl SourceKind {
    pub const ALL: [SourceKind; 5] = [
        SourceKind::Bullmq,
        SourceKind::Pgboss,
        SourceKind::GraphileWorker,
        SourceKind::River,
        SourceKind::Table,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Bullmq => "bullmq",
            SourceKind::Pgboss => "pgboss",
            SourceKind::GraphileWorker => "graphile_worker",
            SourceKind::River => "river",
            SourceKind::Table => "table",
        }
    }

    pub fn parse(s: &str) -> Option<SourceKind> {
        SourceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The normalized states; each adapter maps its own onto these.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Waiting,
    Scheduled,
    Active,
    Completed,
    Failed,
    Cancelled,
    Retrying,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Waiting,
        State::Scheduled,
        State::Active,
        State::Completed,
        State::Failed,
        State::Cancelled,
        State::Retrying,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Waiting => "waiting",
            State::Scheduled => "scheduled",
            State::Active => "active",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
            State::Retrying => "retrying",
        }
    }

    pub fn parse(s: &str) -> Option<State> {
        State::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One job. The `jobs list` contract fields come first; the detail fields
/// are filled by `show` and may be empty in lists.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub source: SourceKind,
    pub queue: String,
    pub id: String,
    pub state: State,
    pub attempts: i64,
    pub max_attempts: i64,
    pub error: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub stack: Option<String>,
    pub payload: Option<serde_json::Value>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub run_at: Option<DateTime<Utc>>,
    /// The task, kind or job name, where the system has one beside the queue.
    pub name: Option<String>,
    /// Per-attempt errors or events, where the system keeps them.
    pub history: Vec<HistoryEntry>,
}

impl Job {
    /// A job with the contract fields set and every detail field empty.
    pub fn new(source: SourceKind, queue: String, id: String, state: State) -> Job {
        Job {
            source,
            queue,
            id,
            state,
            attempts: 0,
            max_attempts: 0,
            error: None,
            created_at: None,
            failed_at: None,
            stack: None,
            payload: None,
            started_at: None,
            finished_at: None,
            run_at: None,
            name: None,
            history: Vec::new(),
        }
    }
}

/// One recorded attempt or event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub at: Option<DateTime<Utc>>,
    /// What happened: "failed", "retried", "started" ... in the system's words.
    pub event: String,
    pub attempt: Option<i64>,
    pub error: Option<String>,
}

/// Jobs per normalized state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StateCounts {
    pub waiting: i64,
    pub scheduled: i64,
    pub active: i64,
    pub completed: i64,
    pub failed: i64,
    pub cancelled: i64,
    pub retrying: i64,
}

impl StateCounts {
    pub fn get(&self, s: State) -> i64 {
        match s {
            State::Waiting => self.waiting,
            State::Scheduled => self.scheduled,
            State::Active => self.active,
            State::Completed => self.completed,
            State::Failed => self.failed,
            State::Cancelled => self.cancelled,
            State::Retrying => self.retrying,
        }
    }

    pub fn add(&mut self, s: State, n: i64) {
        let slot = match s {
            State::Waiting => &mut self.waiting,
            State::Scheduled => &mut self.scheduled,
            State::Active => &mut self.active,
            State::Completed => &mut self.completed,
            State::Failed => &mut self.failed,
            State::Cancelled => &mut self.cancelled,
            State::Retrying => &mut self.retrying,
        };
        *slot += n;
    }

    pub fn total(&self) -> i64 {
        State::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

/// One queue of one source, as `jobs queues` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueSummary {
    pub source: SourceKind,
    pub queue: String,
    pub counts: StateCounts,
    /// Age of the oldest job ready to run and not yet started.
    pub oldest_waiting_ms: Option<i64>,
    pub failed_last_hour: i64,
    pub completed_last_hour: i64,
    /// Depth of the dead-letter queue where the system has one.
    pub dlq_depth: Option<i64>,
}

impl QueueSummary {
    pub fn new(source: SourceKind, queue: String) -> QueueSummary {
        QueueSummary {
            source,
            queue,
            counts: StateCounts::default(),
            oldest_waiting_ms: None,
            failed_last_hour: 0,
            completed_last_hour: 0,
            dlq_depth: None,
        }
    }

    /// Failures among the jobs that finished in the last hour, 0..=1; None
    /// when nothing finished or the system deletes completed jobs (so that
    /// every finished job it still has is a failure).
    pub fn failure_rate(&self) -> Option<f64> {
        if self.source == SourceKind::GraphileWorker {
            return None;
        }
        let done = self.failed_last_hour + self.completed_last_hour;
        (done > 0).then(|| self.failed_last_hour as f64 / done as f64)
    }
}

/// What `list` selects. Adapters apply every field they can server-side.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub queue: Option<String>,
    pub state: Option<State>,
    /// Case-insensitive substring of the error message.
    pub error_like: Option<String>,
    pub limit: Option<u64>,
    /// Keyset cursor: the id of the last job of the previous page.
    pub after: Option<String>,
}

/// What a write did: the ids it changed, and the ids it left alone with why
/// (not found, not failed any more, locked by a worker ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct WriteReport {
    pub done: Vec<String>,
    pub skipped: Vec<(String, String)>,
}

impl WriteReport {
    pub fn merge(&mut self, other: WriteReport) {
        self.done.extend(other.done);
        self.skipped.extend(other.skipped);
    }
}
