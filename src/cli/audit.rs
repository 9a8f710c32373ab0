//! `opsdeck audit list`.

use super::output::{self, cell, Tabular};
use super::Global;
use crate::audit::AuditEntry;
use crate::error::{Error, ExitCode, Result};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// List audited operations, newest first.
    List {
        /// Only entries newer than this (e.g. 30m, 1h, 7d).
        #[arg(long)]
        since: Option<String>,
        /// Only entries by this OS user (user@host part) or database role.
        #[arg(long)]
        actor: Option<String>,
    },
}

impl Tabular for AuditEntry {
    fn headers() -> Vec<&'static str> {
        vec![
            "started_at",
            "actor",
            "context",
            "action",
            "target",
            "outcome",
            "duration_ms",
            "detail",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.started_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            self.actor.clone(),
            self.context.clone(),
            self.action.clone(),
            self.target.clone(),
            self.outcome.as_str().to_string(),
            self.duration_ms.map(|d| d.to_string()).unwrap_or_default(),
            cell(&self.detail),
        ]
    }
    /// The context and the seconds go (JSON and CSV have them), so that
    /// the operation and its target stay whole in 100 columns.
    fn table_headers() -> Vec<&'static str> {
        vec![
            "started_at",
            "actor",
            "action",
            "target",
            "outcome",
            "duration_ms",
            "detail",
        ]
    }
    fn shown(&self) -> Vec<String> {
        vec![
            self.started_at.format("%Y-%m-%d %H:%M").to_string(),
            self.actor.clone(),
            self.action.clone(),
            self.target.clone(),
            self.outcome.as_str().to_string(),
            self.duration_ms
                .map(|d| crate::units::millis(d as f64))
                .unwrap_or_default(),
            cell(&self.detail),
        ]
    }
}

pub async fn run(global: &Global, cmd: AuditCmd) -> Result<ExitCode> {
    let AuditCmd::List { since, actor } = cmd;
    let since = since
        .map(|s| parse_age(&s))
        .transpose()?
        .map(|d| chrono::Utc::now() - d);
    let session = global.session()?;
    let entries = session
        .safety()
        .await
        .audit()
        .list(since, actor.as_deref())
        .await?;
    output::print_list(&entries, global.output)?;
    Ok(ExitCode::Ok)
}

/// The oldest `--since` accepted: far beyond any audit log, and small
/// enough that now minus it is always a valid timestamp.
const MAX_AGE_DAYS: i64 = 36_500;

/// `90s`, `30m`, `1h`, `7d`, `2w`, up to [`MAX_AGE_DAYS`].
pub fn parse_age(s: &str) -> Result<chrono::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let too_long = || {
        Error::Usage(format!(
            "duration '{s}' is too long: use at most {MAX_AGE_DAYS}d (100 years), in forms like 30m, 1h, 7d"
        ))
    };
    if num.is_empty() {
        return Err(Error::Usage(format!(
            "invalid duration '{s}': use forms like 30m, 1h, 7d"
        )));
    }
    // Only digits are left, so the one way parsing fails is a number too big for i64.
    let n: i64 = num.parse().map_err(|_| too_long())?;
    let d = match unit {
        "s" => chrono::Duration::try_seconds(n),
        "m" => chrono::Duration::try_minutes(n),
        "h" | "" => chrono::Duration::try_hours(n),
        "d" => chrono::Duration::try_days(n),
        "w" => chrono::Duration::try_weeks(n),
        _ => {
            return Err(Error::Usage(format!(
                "invalid duration unit in '{s}': use s, m, h, d or w"
            )))
        }
    };
    d.filter(|d| d.num_days() <= MAX_AGE_DAYS)
        .ok_or_else(too_long)
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        assert_eq!(super::parse_age("90s").unwrap().num_seconds(), 90);
        assert_eq!(super::parse_age("2h").unwrap().num_minutes(), 120);
        assert_eq!(super::parse_age("7d").unwrap().num_days(), 7);
        assert!(super::parse_age("x").is_err());
        assert!(super::parse_age("5y").is_err());
        assert!(super::parse_age("").is_err());
        assert!(super::parse_age("-5h").is_err());
    }

    #[test]
    fn ages_that_overflowed_are_usage_errors() {
        for s in [
            "100000000d",
            "9999999999999999h",
            "99999999999999999999s",
            "36501d",
        ] {
            let err = super::parse_age(s).unwrap_err();
            assert!(
                matches!(&err, crate::error::Error::Usage(m) if m.contains("at most 36500d")),
                "{s}: {err:?}"
            );
        }
        assert_eq!(super::parse_age("36500d").unwrap().num_days(), 36_500);
        assert_eq!(super::parse_age("5214w").unwrap().num_weeks(), 5214);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        #[test]
        fn any_age_text_is_a_duration_now_can_go_back_by_or_a_usage_error(
            s in "[0-9+-]{0,25}[smhdwy ]?|\\PC{0,12}"
        ) {
            match super::parse_age(&s) {
                Ok(d) => proptest::prop_assert!(chrono::Utc::now().checked_sub_signed(d).is_some()),
                Err(e) => proptest::prop_assert!(matches!(e, crate::error::Error::Usage(_)), "{e:?}"),
            }
        }
    }
}
