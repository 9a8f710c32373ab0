//! Restore drill settings per context (`[contexts.NAME.drills]`): where
//! backups are, where to restore them, how exact the comparison must be, and
//! the application's own checks of a restored database.

use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DrillSettings {
    /// Directory (or one file) holding pg_dump custom or directory archives;
    /// the newest is drilled.
    pub dump_dir: Option<PathBuf>,
    /// pgBackRest stanza and config file.
    pub pgbackrest_stanza: Option<String>,
    pub pgbackrest_config: Option<PathBuf>,
    /// A scratch server/database to restore into instead of a throwaway
    /// cluster (postgres://… naming the database to use).
    pub target: Option<String>,
    /// Parallel pg_restore jobs.
    pub jobs: u32,
    /// A drill older than this many days shows as overdue.
    pub interval_days: u32,
    /// Tables whose source estimate is at most this many rows are counted
    /// exactly on the source; larger ones use the planner's estimate.
    pub exact_count_rows: i64,
    /// How far a count may differ from the source, in percent, for rows the
    /// source changed after its backup was taken.
    pub tolerance_pct: f64,
    /// How many of the largest tenant tables get per-tenant counts.
    pub tenant_tables: usize,
    pub checks: Vec<CustomCheck>,
}

impl Default for DrillSettings {
    fn default() -> Self {
        DrillSettings {
            dump_dir: None,
            pgbackrest_stanza: None,
            pgbackrest_config: None,
            target: None,
            jobs: 2,
            interval_days: 90,
            exact_count_rows: 100_000,
            tolerance_pct: 0.5,
            tenant_tables: 3,
            checks: Vec::new(),
        }
    }
}

/// A query run on the restored database; the first column of its first
/// row, as text, must equal `expect`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomCheck {
    pub name: String,
    pub sql: String,
    pub expect: String,
}

impl DrillSettings {
    /// Values serde lets through that no drill could use.
    pub fn check(&self, ctx: &str) -> Result<(), crate::error::Error> {
        let bad = |key: &str, why: &str| {
            Err(crate::error::Error::Config(format!(
                "contexts.{ctx}.drills.{key}: {why}"
            )))
        };
        if self.jobs == 0 || self.jobs > 64 {
            return bad("jobs", "use 1 to 64 parallel restore jobs");
        }
        if !(0.0..=100.0).contains(&self.tolerance_pct) {
            return bad("tolerance_pct", "use a percentage from 0 to 100");
        }
        if self.interval_days == 0 {
            return bad("interval_days", "use at least 1 day");
        }
        for c in &self.checks {
            if c.name.trim().is_empty() || c.sql.trim().is_empty() {
                return bad("checks", "every check needs a name and sql");
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_checks_parse() {
        let s: DrillSettings = toml::from_str(
            "jobs = 4\n[[checks]]\nname = \"tenants\"\nsql = \"SELECT count(*) FROM tenants\"\nexpect = \"30\"\n",
        )
        .unwrap();
        assert_eq!(s.jobs, 4);
        assert_eq!(s.interval_days, 90);
        assert_eq!(s.checks[0].expect, "30");
        assert!(s.check("c").is_ok());
        let zero = DrillSettings {
            jobs: 0,
            ..DrillSettings::default()
        };
        assert!(zero
            .check("c")
            .unwrap_err()
            .to_string()
            .contains("drills.jobs"));
        assert!(toml::from_str::<DrillSettings>("dump = 1").is_err());
    }
}
