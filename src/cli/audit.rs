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
}

pub async fn run(global: &Global, cmd: AuditCmd) -> Result<ExitCode> {
    let AuditCmd::List { since, actor } = cmd;
    let since = since
        .map(|s| parse_age(&s).map(|d| chrono::Utc::now() - d))
        .transpose()?;
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

/// `90s`, `30m`, `1h`, `7d`, `2w`.
pub fn parse_age(s: &str) -> Result<chrono::Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| {
        Error::Usage(format!(
            "invalid duration '{s}': use forms like 30m, 1h, 7d"
        ))
    })?;
    let d = match unit {
        "s" => chrono::Duration::seconds(n),
        "m" => chrono::Duration::minutes(n),
        "h" | "" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        _ => {
            return Err(Error::Usage(format!(
                "invalid duration unit in '{s}': use s, m, h, d or w"
            )))
        }
    };
    Ok(d)
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
    }
}
