//! `--source fresh`: a pg_dump of the context's database made now, in the
//! directory format with parallel jobs. It proves that dump and restore
//! work and how long they take; it says nothing about the backups that
//! already exist.

use super::{Backup, Scratch};
use crate::conn::child::ChildLogin;
use crate::drills::{Phase, Progress};
use crate::error::{Error, Result};
use crate::sandbox::dirs::{self, Kind};
use crate::stop::Stop;
use std::path::Path;

pub const NOTE: &str = "fresh dump made for this drill: it proves the dump and restore procedure, not that existing backups restore";

/// Dumps the database `login` names.
pub async fn dump(
    pg_dump: &Path,
    login: &ChildLogin,
    jobs: u32,
    stop: &Stop,
    progress: &crate::drills::OnProgress<'_>,
) -> Result<Backup> {
    let dir = Scratch(dirs::create("drill-dump", Kind::Files)?);
    let archive = dir.0.join("dump");
    let taken_at = chrono::Utc::now();
    let mut cmd = tokio::process::Command::new(pg_dump);
    cmd.args(["--format=directory", "--verbose", "--no-password", "--jobs"])
        .arg(jobs.to_string())
        .arg("--file")
        .arg(&archive);
    login.apply(&mut cmd);
    let mut tables = 0u64;
    let mut last = String::new();
    let code = crate::drills::child::run(cmd, "pg_dump", stop, |line| {
        if line.contains("dumping contents of table") {
            tables += 1;
            progress(Progress {
                phase: Phase::Fetch,
                label: format!("pg_dump: {tables} tables"),
                done: tables,
                total: 0,
            });
        }
        if line.contains("error:") {
            last = line.to_string();
        }
    })
    .await?;
    if code != Some(0) {
        return Err(Error::server(format!(
            "pg_dump of the source failed ({}): {}",
            code.map_or("killed".to_string(), |c| format!("exit {c}")),
            if last.is_empty() {
                "no error line"
            } else {
                &last
            }
        )));
    }
    Ok(Backup {
        archive,
        taken_at: Some(taken_at),
        taken_from: "start of the fresh dump",
        scratch: Some(dir),
    })
}
