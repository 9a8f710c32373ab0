//! A BullMQ job hash (and the set it sits in) as the normalized [`Job`].

use super::keys::qualified;
use crate::jobs::model::{HistoryEntry, Job, SourceKind, State};
use chrono::{DateTime, TimeZone, Utc};

/// The sets a job can sit in, in the order lists walk them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Set {
    Failed,
    Active,
    Wait,
    Paused,
    Prioritized,
    WaitingChildren,
    Delayed,
    Completed,
}

impl Set {
    pub const ALL: [Set; 8] = [
        Set::Failed,
        Set::Active,
        Set::Wait,
        Set::Paused,
        Set::Prioritized,
        Set::WaitingChildren,
        Set::Delayed,
        Set::Completed,
    ];

    pub fn suffix(self) -> &'static str {
        match self {
            Set::Failed => "failed",
            Set::Active => "active",
            Set::Wait => "wait",
            Set::Paused => "paused",
            Set::Prioritized => "prioritized",
            Set::WaitingChildren => "waiting-children",
            Set::Delayed => "delayed",
            Set::Completed => "completed",
        }
    }

    pub fn is_list(self) -> bool {
        matches!(self, Set::Active | Set::Wait | Set::Paused)
    }

    /// The sets that hold jobs of a normalized state.
    pub fn of_state(state: Option<State>) -> Vec<Set> {
        match state {
            None => Set::ALL.to_vec(),
            Some(State::Failed) => vec![Set::Failed],
            Some(State::Active) => vec![Set::Active],
            Some(State::Waiting) => vec![
                Set::Wait,
                Set::Paused,
                Set::Prioritized,
                Set::WaitingChildren,
            ],
            Some(State::Scheduled | State::Retrying) => vec![Set::Delayed],
            Some(State::Completed) => vec![Set::Completed],
            Some(State::Cancelled) => Vec::new(),
        }
    }

    /// A delayed job that has been attempted before waits out a backoff.
    pub fn state(self, attempts: i64) -> State {
        match self {
            Set::Failed => State::Failed,
            Set::Active => State::Active,
            Set::Wait | Set::Paused | Set::Prioritized | Set::WaitingChildren => State::Waiting,
            Set::Delayed if attempts > 0 => State::Retrying,
            Set::Delayed => State::Scheduled,
            Set::Completed => State::Completed,
        }
    }
}

/// The hash fields a list reads; `show` adds [`DETAIL_FIELDS`].
pub const LIST_FIELDS: [&str; 8] = [
    "name",
    "opts",
    "timestamp",
    "delay",
    "processedOn",
    "finishedOn",
    "failedReason",
    "atm",
];

/// The payload is read only for one job's detail: a bulk action over a
/// hundred thousand failures has no use for it.
pub const DETAIL_FIELDS: [&str; 3] = ["data", "stacktrace", "returnvalue"];

/// Builds the job from `values`, the fields of [`LIST_FIELDS`] (then
/// [`DETAIL_FIELDS`] when present) in order; None when the hash is gone.
pub fn job(queue: &str, id: &str, set: Set, values: &[Option<String>]) -> Option<Job> {
    let get = |i: usize| values.get(i).and_then(|v| v.as_deref());
    if get(0).is_none() && get(1).is_none() && get(2).is_none() {
        return None;
    }
    let num = |i: usize| get(i).and_then(|v| v.parse::<i64>().ok());
    let attempts = num(7).unwrap_or(0);
    let mut job = Job::new(
        SourceKind::Bullmq,
        queue.to_string(),
        qualified(queue, id),
        set.state(attempts),
    );
    job.attempts = attempts;
    job.max_attempts = max_attempts(get(1));
    job.name = get(0).map(str::to_string);
    job.created_at = num(2).and_then(ms);
    job.started_at = num(4).and_then(ms);
    job.finished_at = num(5).and_then(ms);
    if set == Set::Failed {
        job.failed_at = job.finished_at;
        job.error = get(6).map(str::to_string);
    }
    if set == Set::Delayed {
        job.run_at = num(2)
            .zip(num(3))
            .and_then(|(t, d)| ms(t.saturating_add(d)));
    }
    job.payload = get(8).and_then(|d| serde_json::from_str(d).ok());
    if let Some(traces) = get(9).and_then(stack_traces) {
        job.stack = traces.last().cloned();
        job.history = history(&traces, job.attempts);
    }
    Some(job)
}

#[derive(serde::Deserialize)]
struct Opts {
    attempts: Option<i64>,
}

/// `opts.attempts`; BullMQ runs a job once when it is unset or below 1.
fn max_attempts(opts: Option<&str>) -> i64 {
    opts.and_then(|o| serde_json::from_str::<Opts>(o).ok())
        .and_then(|o| o.attempts)
        .unwrap_or(1)
        .max(1)
}

/// The `stacktrace` field: a JSON array of one stack per failed attempt,
/// oldest first, as many as `stackTraceLimit` keeps.
fn stack_traces(field: &str) -> Option<Vec<String>> {
    let traces: Vec<Option<String>> = serde_json::from_str(field).ok()?;
    let traces: Vec<String> = traces.into_iter().flatten().collect();
    (!traces.is_empty()).then_some(traces)
}

/// One entry per kept stack, numbered back from the last attempt made
/// (older ones may have been trimmed by `stackTraceLimit`).
fn history(traces: &[String], attempts: i64) -> Vec<HistoryEntry> {
    let kept = i64::try_from(traces.len()).unwrap_or(i64::MAX);
    let first = (attempts - kept + 1).max(1);
    traces
        .iter()
        .zip(first..)
        .map(|(t, n)| HistoryEntry {
            at: None,
            event: "failed".into(),
            attempt: (attempts > 0).then_some(n),
            error: t.lines().next().map(str::to_string),
        })
        .collect()
}

pub fn ms(v: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(v).single()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(pairs: &[(usize, &str)], n: usize) -> Vec<Option<String>> {
        let mut v = vec![None; n];
        for (i, s) in pairs {
            v[*i] = Some(s.to_string());
        }
        v
    }

    #[test]
    fn a_failed_job() {
        let v = values(
            &[
                (0, "send"),
                (1, r#"{"attempts":3,"backoff":{"type":"fixed","delay":10}}"#),
                (2, "1796181133334"),
                (4, "1796181133374"),
                (5, "1796181133375"),
                (6, "smtp down"),
                (7, "3"),
                (8, r#"{"tenant_id":7}"#),
                (9, r#"["Error: a\n at x","Error: b\n at y"]"#),
            ],
            11,
        );
        let j = job("emails", "1", Set::Failed, &v).unwrap();
        assert_eq!(j.id, "emails:1");
        assert_eq!(j.state, State::Failed);
        assert_eq!((j.attempts, j.max_attempts), (3, 3));
        assert_eq!(j.error.as_deref(), Some("smtp down"));
        assert_eq!(j.failed_at.unwrap().timestamp_millis(), 1796181133375);
        assert_eq!(j.payload.unwrap()["tenant_id"], 7);
        assert_eq!(j.stack.as_deref(), Some("Error: b\n at y"));
        let attempts: Vec<_> = j.history.iter().map(|h| h.attempt).collect();
        assert_eq!(attempts, vec![Some(2), Some(3)]);
        assert_eq!(j.history[0].error.as_deref(), Some("Error: a"));
    }

    #[test]
    fn defaults_and_missing_hashes() {
        let v = values(
            &[(0, "x"), (1, r#"{"attempts":0}"#), (2, "5"), (3, "100")],
            9,
        );
        let j = job("q", "9", Set::Delayed, &v).unwrap();
        assert_eq!((j.state, j.max_attempts), (State::Scheduled, 1));
        assert_eq!(j.run_at.unwrap().timestamp_millis(), 105);
        assert_eq!(j.error, None);
        assert!(job("q", "9", Set::Wait, &vec![None; 9]).is_none());
        assert_eq!(Set::Delayed.state(1), State::Retrying);
    }

    #[test]
    fn states_map_to_sets() {
        assert_eq!(Set::of_state(Some(State::Waiting)).len(), 4);
        assert!(Set::of_state(Some(State::Cancelled)).is_empty());
        assert_eq!(Set::of_state(None), Set::ALL.to_vec());
        for s in Set::ALL {
            assert_eq!(
                s.is_list(),
                matches!(s.suffix(), "active" | "wait" | "paused")
            );
        }
    }
}
