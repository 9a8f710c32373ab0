//! The jobs part of the health summary: failed jobs, failures in the last
//! hour, dead-letter depth and the oldest waiting job across every source
//! detected, for `opsdeck overview` and the console's overview pane.

use super::model::{QueueSummary, SourceKind};
use super::registry::{detect_all, Backends};
use crate::config::jobs::JobsConfig;
use crate::error::Result;
use crate::health::overview::{Figure, Level};
use serde::Serialize;

/// Queues named in the summary, worst first.
pub const WORST: usize = 3;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct JobsHealth {
    pub sources: Vec<SourceKind>,
    pub queues: usize,
    pub failed: i64,
    pub failed_last_hour: i64,
    pub completed_last_hour: i64,
    pub waiting: i64,
    pub retrying: i64,
    /// Summed over queues that have a dead-letter queue; null when none has.
    pub dlq_depth: Option<i64>,
    pub oldest_waiting_ms: Option<i64>,
    /// The queues with the most failed jobs (source, queue, failed).
    pub worst: Vec<(SourceKind, String, i64)>,
}

impl JobsHealth {
    pub fn of(queues: &[QueueSummary]) -> JobsHealth {
        let mut h = JobsHealth::default();
        for q in queues {
            if !h.sources.contains(&q.source) {
                h.sources.push(q.source);
            }
            h.queues += 1;
            h.failed += q.counts.failed;
            h.failed_last_hour += q.failed_last_hour;
            h.completed_last_hour += q.completed_last_hour;
            h.waiting += q.counts.waiting;
            h.retrying += q.counts.retrying;
            if let Some(d) = q.dlq_depth {
                h.dlq_depth = Some(h.dlq_depth.unwrap_or(0) + d);
            }
            h.oldest_waiting_ms = h.oldest_waiting_ms.max(q.oldest_waiting_ms);
        }
        let mut worst: Vec<(SourceKind, String, i64)> = queues
            .iter()
            .filter(|q| q.counts.failed > 0)
            .map(|q| (q.source, q.queue.clone(), q.counts.failed))
            .collect();
        worst.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
        worst.truncate(WORST);
        h.worst = worst;
        h
    }

    /// Figures for the overview: failed jobs (warn when any failed in the
    /// last hour) and the dead-letter depth (warn when not empty).
    pub fn figures(&self) -> Vec<Figure> {
        let mut out = vec![Figure {
            key: "failed_jobs",
            label: "Failed jobs".into(),
            value: Some(self.failed as f64),
            display: format!(
                "{} failed, {} in the last hour, {} retrying",
                self.failed, self.failed_last_hour, self.retrying
            ),
            level: if self.failed_last_hour > 0 {
                Level::Warn
            } else {
                Level::Ok
            },
        }];
        if let Some(d) = self.dlq_depth {
            out.push(Figure {
                key: "dlq_depth",
                label: "Dead-letter queues".into(),
                value: Some(d as f64),
                display: format!("{d} waiting"),
                level: if d > 0 { Level::Warn } else { Level::Ok },
            });
        }
        out
    }
}

/// None when no job system is found in the context.
pub async fn collect(backends: &Backends, cfg: &JobsConfig) -> Result<Option<JobsHealth>> {
    let sources = detect_all(backends, cfg).await?;
    if sources.is_empty() {
        return Ok(None);
    }
    let found = futures_util::future::join_all(sources.iter().map(|s| s.queues())).await;
    let mut queues = Vec::new();
    for f in found {
        queues.extend(f?);
    }
    let mut h = JobsHealth::of(&queues);
    h.sources = sources.iter().map(|s| s.kind()).collect();
    Ok(Some(h))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jobs::model::State;

    #[test]
    fn sums_queues_and_names_the_worst() {
        let mut a = QueueSummary::new(SourceKind::Pgboss, "emails".into());
        a.counts.add(State::Failed, 3);
        a.failed_last_hour = 2;
        a.dlq_depth = Some(4);
        a.oldest_waiting_ms = Some(10);
        let mut b = QueueSummary::new(SourceKind::GraphileWorker, "reports".into());
        b.counts.add(State::Failed, 7);
        b.oldest_waiting_ms = Some(99);
        let h = JobsHealth::of(&[a, b]);
        assert_eq!(h.failed, 10);
        assert_eq!(h.dlq_depth, Some(4));
        assert_eq!(h.oldest_waiting_ms, Some(99));
        assert_eq!(
            h.worst[0],
            (SourceKind::GraphileWorker, "reports".into(), 7)
        );
        let f = h.figures();
        assert_eq!(f[0].level, Level::Warn);
        assert_eq!(f[1].key, "dlq_depth");
    }
}
