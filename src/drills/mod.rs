//! Restore drills (DESIGN.md section 7): take a backup (a pg_dump archive,
//! or a dump made now), restore it into a scratch target, verify the
//! restored data against the source, measure RTO and RPO, and keep the
//! history. The drill is a change to a scratch system and runs through the
//! safety layer like any other.

pub mod archive;
pub mod bins;
mod child;
pub mod history;
pub mod measure;
pub mod plan;
pub mod restore;
mod run;
pub mod source;
pub mod status;
pub mod target;
pub mod verify;

pub use history::Stored;
pub use plan::{plan, DrillPlan, DrillRequest, SourceKind};
pub use run::{run, DrillEnv};

use serde::{Deserialize, Serialize};

/// The three phases a drill reports progress in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Finding or making the backup, and checking it can be read.
    Fetch,
    /// pg_restore into the target.
    Restore,
    Verify,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Fetch => "fetch",
            Phase::Restore => "restore",
            Phase::Verify => "verify",
        }
    }
}

/// One progress report: where the drill is and how far along.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub phase: Phase,
    pub label: String,
    pub done: u64,
    pub total: u64,
}

/// What a front end gives a drill to report progress to.
pub type OnProgress<'a> = dyn Fn(Progress) + Send + Sync + 'a;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Fail,
}

/// One verification: ok or fail, and why in words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    pub status: Status,
    pub detail: String,
}

impl Check {
    pub fn ok(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Ok,
            detail: detail.into(),
        }
    }

    pub fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            name: name.into(),
            status: Status::Fail,
            detail: detail.into(),
        }
    }

    pub fn passed(&self) -> bool {
        self.status == Status::Ok
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrillStatus {
    Passed,
    Failed,
}

impl DrillStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DrillStatus::Passed => "passed",
            DrillStatus::Failed => "failed",
        }
    }
}

/// A kept target: where to look at the restored database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Kept {
    pub url: String,
    pub psql: String,
    /// The throwaway cluster's directory (none for a scratch server).
    pub dir: Option<String>,
}

/// The drill's result: the contract of DESIGN.md section 3 (`id` to
/// `checks`), then what else an operator wants to know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DrillReport {
    pub id: Option<i64>,
    pub status: DrillStatus,
    pub source: String,
    pub backup_taken_at: Option<String>,
    pub rpo_ms: Option<u64>,
    pub rto_ms: u64,
    pub checks: Vec<Check>,
    pub target: String,
    pub archive: Option<String>,
    pub started_at: String,
    pub finished_at: String,
    pub fetch_ms: u64,
    pub restore_ms: u64,
    pub verify_ms: u64,
    pub archive_bytes: Option<u64>,
    pub restore_bytes_per_s: Option<u64>,
    pub operator: String,
    pub context: String,
    /// What the drill does and does not prove (a fresh dump proves the
    /// procedure, not the existing backups).
    pub note: Option<String>,
    pub kept: Option<Kept>,
}

impl DrillReport {
    pub fn failed_checks(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| !c.passed())
    }
}
