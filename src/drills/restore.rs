//! `pg_restore -j N` into the target: progress from its verbose lines,
//! errors and warnings counted, stopped with the drill (see `child`).

use super::{Phase, Progress};
use crate::error::Result;
use crate::stop::Stop;
use std::path::Path;

/// How pg_restore ended.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    pub exit_code: Option<i32>,
    pub errors: u64,
    pub warnings: u64,
    /// The first error lines, for the check's detail.
    pub first_errors: Vec<String>,
}

impl Outcome {
    pub fn clean(&self) -> bool {
        self.exit_code == Some(0) && self.errors == 0
    }
}

const KEEP_ERRORS: usize = 3;
/// Verbose lines that mark one archive item processed (serial and parallel runs).
const ITEM_MARKS: [&str; 3] = [
    "processing item",
    "finished item",
    "processing data for table",
];

/// Restores `archive` into the database `login` names. `entries` (from the
/// archive's list) is the progress total.
pub async fn run(
    pg_restore: &Path,
    archive: &Path,
    login: &crate::conn::child::ChildLogin,
    jobs: u32,
    entries: u64,
    stop: &Stop,
    progress: &super::OnProgress<'_>,
) -> Result<Outcome> {
    let mut cmd = tokio::process::Command::new(pg_restore);
    cmd.args(["--verbose", "--no-password", "--jobs"])
        .arg(jobs.to_string());
    login.apply(&mut cmd);
    cmd.arg(archive);
    let mut out = Outcome::default();
    let mut done = 0u64;
    let code = super::child::run(cmd, "pg_restore", stop, |line| {
        if tally(line, &mut out, &mut done) {
            progress(Progress {
                phase: Phase::Restore,
                label: "pg_restore".into(),
                done: done.min(entries),
                total: entries,
            });
        }
    })
    .await?;
    out.exit_code = code;
    Ok(out)
}

/// Counts one stderr line; true when it marks an item done.
fn tally(line: &str, out: &mut Outcome, done: &mut u64) -> bool {
    let item = ITEM_MARKS.iter().any(|m| line.contains(m));
    if item {
        *done += 1;
    }
    if let Some(msg) = line.strip_prefix("pg_restore: error: ") {
        out.errors += 1;
        if out.first_errors.len() < KEEP_ERRORS {
            out.first_errors.push(msg.to_string());
        }
    } else if line.starts_with("pg_restore: warning: ") {
        out.warnings += 1;
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_errors_warnings_and_items() {
        let mut out = Outcome::default();
        let mut done = 0;
        for l in [
            "pg_restore: processing item 215 TABLE users",
            "pg_restore: error: could not execute query: ERROR:  relation \"x\" already exists",
            "pg_restore: warning: errors ignored on restore: 1",
            "pg_restore: processing data for table \"public.users\"",
        ] {
            tally(l, &mut out, &mut done);
        }
        assert_eq!((out.errors, out.warnings, done), (1, 1, 2));
        assert!(out.first_errors[0].contains("already exists"));
        out.exit_code = Some(1);
        assert!(!out.clean());
    }
}
