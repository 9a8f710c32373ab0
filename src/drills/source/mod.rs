//! Where a drill's backup comes from: an existing pg_dump archive, or a
//! dump made now (`fresh`), which proves the procedure but not the backups.

pub mod dump;
pub mod fresh;
pub mod pgbackrest;

use chrono::{DateTime, Utc};
use std::path::PathBuf;

/// A backup ready to restore.
pub struct Backup {
    pub archive: PathBuf,
    /// When the backup's data was taken (the RPO is measured from it).
    pub taken_at: Option<DateTime<Utc>>,
    /// How `taken_at` was found, for the archive check's detail.
    pub taken_from: &'static str,
    /// The directory of a dump made for this drill, removed with it.
    pub scratch: Option<Scratch>,
}

/// A directory under the sandbox root, removed on drop (and by the next
/// run's leftover cleanup when this process was killed).
pub struct Scratch(pub PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
