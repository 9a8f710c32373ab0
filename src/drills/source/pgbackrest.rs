//! `--source pgbackrest`: the newest backup of a stanza, restored with
//! `pgbackrest restore --type=immediate --target-action=promote` into a
//! throwaway data directory (as the postgres user when root), started on a
//! free port with archiving off (the restored cluster must not push WAL
//! into the production repository), and waited on until it is promoted.

use crate::drills::{measure, Phase, Progress};
use crate::error::{Error, Result};
use crate::sandbox::dirs::{self, Kind};
use crate::sandbox::{PgOptions, PgSandbox};
use crate::stop::Stop;
use chrono::{DateTime, Utc};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long recovery may take before the drill gives up on it.
const PROMOTE_TIMEOUT: Duration = Duration::from_secs(1800);

/// Where pgBackRest is and which stanza to restore.
#[derive(Debug, Clone, PartialEq)]
pub struct Repo {
    pub bin: PathBuf,
    pub config: Option<PathBuf>,
    pub stanza: String,
}

/// The newest backup, from `pgbackrest info --output=json`.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupInfo {
    pub label: String,
    pub kind: String,
    pub stopped_at: DateTime<Utc>,
    pub size_bytes: Option<u64>,
}

impl Repo {
    pub fn find(config: Option<PathBuf>, stanza: String) -> Result<Repo> {
        let bin = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|d| d.join("pgbackrest"))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                Error::Usage(
                    "pgbackrest not found on PATH: install it (Debian: apt-get install pgbackrest)"
                        .into(),
                )
            })?;
        Ok(Repo {
            bin,
            config,
            stanza,
        })
    }

    fn command(&self) -> tokio::process::Command {
        let mut c = tokio::process::Command::from(dirs::pg_command(&self.bin));
        if let Some(cfg) = &self.config {
            c.arg(format!("--config={}", cfg.display()));
        }
        c.arg(format!("--stanza={}", self.stanza));
        c
    }

    pub async fn newest(&self) -> Result<BackupInfo> {
        let out = self
            .command()
            .args(["--output=json", "info"])
            .stdin(std::process::Stdio::null())
            .output()
            .await
            .map_err(|e| Error::io("cannot run pgbackrest info", e))?;
        if !out.status.success() {
            return Err(Error::Usage(format!(
                "pgbackrest info for stanza '{}' failed: {}",
                self.stanza,
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        parse_info(&String::from_utf8_lossy(&out.stdout), &self.stanza)
    }

    /// Restores the newest backup and starts it; returns the running
    /// cluster (removed on drop) and how long the restore and recovery took.
    pub async fn restore(
        &self,
        stop: &Stop,
        progress: &crate::drills::OnProgress<'_>,
    ) -> Result<(PgSandbox, u64)> {
        dirs::clean_stale();
        let started = Instant::now();
        let dir = dirs::create("pg", Kind::Pg)?;
        // Owned from here: a failure below removes the directory.
        let guard = Cleanup(Some(dir.clone()));
        prepare(&dir).await?;
        progress(Progress {
            phase: Phase::Restore,
            label: "pgbackrest restore".into(),
            done: 0,
            total: 0,
        });
        let mut cmd = self.command();
        cmd.arg(format!("--pg1-path={}", dir.join("data").display()))
            .args([
                "--type=immediate",
                "--target-action=promote",
                "--archive-mode=off",
                "--log-level-console=warn",
                "restore",
            ]);
        let mut last = String::new();
        let code = crate::drills::child::run(cmd, "pgbackrest restore", stop, |l| {
            if !l.trim().is_empty() {
                last = l.to_string();
            }
        })
        .await?;
        if code != Some(0) {
            return Err(Error::server(format!(
                "pgbackrest restore of stanza '{}' failed ({}): {last}",
                self.stanza,
                code.map_or("killed".into(), |c| format!("exit {c}"))
            )));
        }
        progress(Progress {
            phase: Phase::Restore,
            label: "recovery and promotion".into(),
            done: 0,
            total: 0,
        });
        let dir = guard.release();
        let sandbox =
            PgSandbox::adopt(dir, PgOptions::default().setting("archive_mode", "off")).await?;
        wait_promoted(&sandbox, stop).await?;
        Ok((sandbox, measure::ms(started.elapsed())))
    }
}

/// Removes a restore directory that never became a running cluster.
struct Cleanup(Option<PathBuf>);

impl Cleanup {
    fn release(mut self) -> PathBuf {
        self.0.take().unwrap_or_default()
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(d) = self.0.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The data directory pgBackRest restores into: empty, 0700, the postgres user's.
async fn prepare(dir: &Path) -> Result<()> {
    let data = dir.join("data");
    std::fs::create_dir(&data)
        .map_err(|e| Error::io(format!("cannot create {}", data.display()), e))?;
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(|e| Error::io(format!("cannot chmod {}", data.display()), e))?;
    if dirs::is_root() {
        let ok = tokio::process::Command::new("chown")
            .arg("-R")
            .arg("postgres:")
            .arg(dir)
            .status()
            .await
            .map_err(|e| Error::io("cannot run chown", e))?
            .success();
        if !ok {
            return Err(Error::server(format!(
                "cannot give {} to the postgres user",
                dir.display()
            )));
        }
    }
    Ok(())
}

async fn wait_promoted(sandbox: &PgSandbox, stop: &Stop) -> Result<()> {
    let started = Instant::now();
    let pg = crate::drills::target::connect(&sandbox.url()).await?;
    loop {
        let in_recovery: bool = pg.row("SELECT pg_is_in_recovery()", &[]).await?.get(0);
        if !in_recovery {
            return Ok(());
        }
        if started.elapsed() > PROMOTE_TIMEOUT {
            return Err(Error::server(format!(
                "the restored cluster in {} was still recovering after {} s",
                sandbox.dir().display(),
                PROMOTE_TIMEOUT.as_secs()
            )));
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
            () = stop.wait() => return Err(Error::Cancelled),
        }
    }
}

/// The newest backup of `stanza` in `pgbackrest info --output=json`.
pub fn parse_info(json: &str, stanza: &str) -> Result<BackupInfo> {
    let v: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| Error::server(format!("pgbackrest info gave no JSON: {e}")))?;
    let entry = v
        .as_array()
        .and_then(|a| a.iter().find(|s| s["name"] == stanza))
        .ok_or_else(|| Error::Usage(format!("pgbackrest knows no stanza '{stanza}'")))?;
    let newest = entry["backup"]
        .as_array()
        .and_then(|b| {
            b.iter()
                .max_by_key(|b| b["timestamp"]["stop"].as_i64().unwrap_or(0))
        })
        .ok_or_else(|| {
            Error::Usage(format!(
                "stanza '{stanza}' has no backup yet: run pgbackrest --stanza={stanza} backup"
            ))
        })?;
    let stop = newest["timestamp"]["stop"].as_i64().unwrap_or(0);
    Ok(BackupInfo {
        label: newest["label"].as_str().unwrap_or("?").to_string(),
        kind: newest["type"].as_str().unwrap_or("?").to_string(),
        stopped_at: DateTime::from_timestamp(stop, 0).unwrap_or_default(),
        size_bytes: newest["info"]["repository"]["delta"].as_u64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_newest_backup() {
        let json = r#"[{"name":"main","backup":[
            {"label":"20261201-010000F","type":"full","timestamp":{"start":1764550800,"stop":1764550860},"info":{"repository":{"delta":1000}}},
            {"label":"20261202-010000F_20261202-020000I","type":"incr","timestamp":{"start":1764640800,"stop":1764640830},"info":{"repository":{"delta":200}}}
        ]}]"#;
        let b = parse_info(json, "main").unwrap();
        assert_eq!(b.label, "20261202-010000F_20261202-020000I");
        assert_eq!(b.kind, "incr");
        assert_eq!(b.stopped_at.timestamp(), 1764640830);
        assert_eq!(b.size_bytes, Some(200));
        assert!(parse_info(json, "other")
            .unwrap_err()
            .to_string()
            .contains("no stanza"));
        let empty = r#"[{"name":"main","backup":[]}]"#;
        assert!(parse_info(empty, "main")
            .unwrap_err()
            .to_string()
            .contains("no backup yet"));
    }
}
