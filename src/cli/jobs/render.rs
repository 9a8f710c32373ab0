//! Jobs as table rows and CSV records: identity, state, figures, detail.

use crate::cli::output::{self, Tabular};
use crate::jobs::group::ErrorGroup;
use crate::jobs::{Job, QueueSummary};
use crate::units;
use chrono::{DateTime, SecondsFormat, Utc};

pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn dash(s: String) -> String {
    if s.is_empty() {
        "-".into()
    } else {
        s
    }
}

fn rate(q: &QueueSummary) -> Option<String> {
    q.failure_rate().map(|r| format!("{:.1}%", r * 100.0))
}

/// A queue as `jobs queues` prints it: the summary and its failure rate.
#[derive(Debug, serde::Serialize)]
pub struct QueueRow {
    #[serde(flatten)]
    pub queue: QueueSummary,
    /// Failed among the jobs finished in the last hour, 0..=1.
    pub failure_rate: Option<f64>,
}

impl Tabular for QueueRow {
    fn headers() -> Vec<&'static str> {
        QueueSummary::headers()
    }
    fn cells(&self) -> Vec<String> {
        self.queue.cells()
    }
    fn table_headers() -> Vec<&'static str> {
        QueueSummary::table_headers()
    }
    fn shown(&self) -> Vec<String> {
        self.queue.shown()
    }
}

impl Tabular for QueueSummary {
    fn headers() -> Vec<&'static str> {
        vec![
            "source",
            "queue",
            "waiting",
            "scheduled",
            "active",
            "retrying",
            "failed",
            "completed",
            "cancelled",
            "oldest_waiting_ms",
            "failed_last_hour",
            "completed_last_hour",
            "failure_rate",
            "dlq_depth",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let c = self.counts;
        vec![
            self.source.to_string(),
            self.queue.clone(),
            c.waiting.to_string(),
            c.scheduled.to_string(),
            c.active.to_string(),
            c.retrying.to_string(),
            c.failed.to_string(),
            c.completed.to_string(),
            c.cancelled.to_string(),
            self.oldest_waiting_ms
                .map(|m| m.to_string())
                .unwrap_or_default(),
            self.failed_last_hour.to_string(),
            self.completed_last_hour.to_string(),
            self.failure_rate()
                .map(|r| format!("{r:.4}"))
                .unwrap_or_default(),
            self.dlq_depth.map(|d| d.to_string()).unwrap_or_default(),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "source", "queue", "waiting", "active", "retrying", "failed", "done", "oldest",
            "fail 1h", "dlq",
        ]
    }
    fn shown(&self) -> Vec<String> {
        let c = self.counts;
        vec![
            self.source.to_string(),
            self.queue.clone(),
            (c.waiting + c.scheduled).to_string(),
            c.active.to_string(),
            c.retrying.to_string(),
            c.failed.to_string(),
            c.completed.to_string(),
            self.oldest_waiting_ms
                .map_or_else(|| "-".into(), |m| units::millis(m as f64)),
            rate(self).unwrap_or_else(|| "-".into()),
            self.dlq_depth.map_or_else(|| "-".into(), |d| d.to_string()),
        ]
    }
}

impl Tabular for Job {
    fn headers() -> Vec<&'static str> {
        vec![
            "source",
            "queue",
            "id",
            "state",
            "attempts",
            "max_attempts",
            "error",
            "created_at",
            "failed_at",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.source.to_string(),
            self.queue.clone(),
            self.id.clone(),
            self.state.to_string(),
            self.attempts.to_string(),
            self.max_attempts.to_string(),
            self.error.clone().unwrap_or_default(),
            time(self.created_at),
            time(self.failed_at),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "source",
            "queue",
            "id",
            "state",
            "tries",
            "error",
            "failed at",
        ]
    }
    fn shown(&self) -> Vec<String> {
        vec![
            self.source.to_string(),
            self.queue.clone(),
            self.id.clone(),
            self.state.to_string(),
            format!("{}/{}", self.attempts, self.max_attempts),
            output::ellipsize(self.error.as_deref().unwrap_or("-"), 60),
            dash(time(self.failed_at)),
        ]
    }
}

impl Tabular for ErrorGroup {
    fn headers() -> Vec<&'static str> {
        vec![
            "source",
            "count",
            "pattern",
            "example",
            "queues",
            "first_seen",
            "last_seen",
            "sample_ids",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.source.to_string(),
            self.count.to_string(),
            self.pattern.clone(),
            self.example.clone(),
            self.queues.join(" "),
            time(self.first_seen),
            time(self.last_seen),
            self.sample_ids.join(" "),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "source",
            "count",
            "error",
            "queues",
            "first seen",
            "last seen",
        ]
    }
    fn shown(&self) -> Vec<String> {
        vec![
            self.source.to_string(),
            self.count.to_string(),
            output::ellipsize(&self.pattern, 70),
            self.queues.join(", "),
            dash(time(self.first_seen)),
            dash(time(self.last_seen)),
        ]
    }
}
