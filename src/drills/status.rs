//! The last drill and its age, for the overview: red when it is older than
//! the context's interval (default 90 days) or when it failed.

use super::{history, DrillStatus};
use crate::conn::Pg;
use crate::error::Result;
use crate::health::overview::{Figure, Level};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LastDrill {
    pub id: Option<i64>,
    pub status: DrillStatus,
    pub started_at: String,
    pub age_ms: u64,
    pub rto_ms: u64,
    pub interval_days: u32,
    pub overdue: bool,
}

/// The newest recorded drill, or None when there has been none.
pub async fn last(db: Option<&Pg>, local: &Path, interval_days: u32) -> Result<Option<LastDrill>> {
    let Some(r) = history::last(db, local).await? else {
        return Ok(None);
    };
    let started = chrono::DateTime::parse_from_rfc3339(&r.started_at)
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    let age_ms = u64::try_from(
        chrono::Utc::now()
            .signed_duration_since(started)
            .num_milliseconds(),
    )
    .unwrap_or(0);
    Ok(Some(LastDrill {
        id: r.id,
        status: r.status,
        started_at: r.started_at,
        age_ms,
        rto_ms: r.rto_ms,
        interval_days,
        overdue: age_ms > u64::from(interval_days) * 86_400_000,
    }))
}

/// The overview's figure: the last drill's result and age, or that there is none.
pub fn figure(last: Option<&LastDrill>) -> Figure {
    let (value, display, level) = match last {
        None => (
            None,
            "none recorded: run `opsdeck drill run`".to_string(),
            Level::Warn,
        ),
        Some(d) => {
            let level = if d.overdue || d.status == DrillStatus::Failed {
                Level::Error
            } else {
                Level::Ok
            };
            let mut text = format!(
                "{} {} ago (RTO {})",
                d.status.as_str(),
                crate::units::millis(d.age_ms as f64),
                crate::units::millis(d.rto_ms as f64)
            );
            if d.overdue {
                text.push_str(&format!(", older than {} days", d.interval_days));
            }
            (Some(d.age_ms as f64), text, level)
        }
    };
    Figure {
        key: "last_drill",
        label: "last restore drill".into(),
        value,
        display,
        level,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill(age_days: u64, status: DrillStatus) -> LastDrill {
        LastDrill {
            id: Some(1),
            status,
            started_at: String::new(),
            age_ms: age_days * 86_400_000,
            rto_ms: 1_000,
            interval_days: 90,
            overdue: age_days > 90,
        }
    }

    #[test]
    fn red_when_overdue_or_failed() {
        assert_eq!(figure(None).level, Level::Warn);
        assert_eq!(
            figure(Some(&drill(3, DrillStatus::Passed))).level,
            Level::Ok
        );
        let old = figure(Some(&drill(120, DrillStatus::Passed)));
        assert_eq!(old.level, Level::Error);
        assert!(
            old.display.contains("older than 90 days"),
            "{}",
            old.display
        );
        assert_eq!(
            figure(Some(&drill(1, DrillStatus::Failed))).level,
            Level::Error
        );
    }
}
