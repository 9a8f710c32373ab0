//! The drill's figures: RTO (start to verified), RPO (the drill's start
//! minus when the backup's data was taken), restore throughput.

use chrono::{DateTime, Utc};
use std::time::Duration;

pub fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// How much data a restore of this backup would lose, in milliseconds.
pub fn rpo_ms(started_at: DateTime<Utc>, taken_at: Option<DateTime<Utc>>) -> Option<u64> {
    let age = started_at.signed_duration_since(taken_at?);
    Some(u64::try_from(age.num_milliseconds()).unwrap_or(0))
}

/// Archive bytes restored per second.
pub fn bytes_per_s(bytes: u64, restore_ms: u64) -> Option<u64> {
    (restore_ms > 0).then(|| bytes.saturating_mul(1000) / restore_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpo_and_throughput() {
        let now = Utc::now();
        assert_eq!(
            rpo_ms(now, Some(now - chrono::Duration::seconds(90))),
            Some(90_000)
        );
        assert_eq!(rpo_ms(now, None), None);
        assert_eq!(
            rpo_ms(now, Some(now + chrono::Duration::seconds(5))),
            Some(0)
        );
        assert_eq!(bytes_per_s(10_000, 500), Some(20_000));
        assert_eq!(bytes_per_s(10_000, 0), None);
    }
}
