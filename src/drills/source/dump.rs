//! An existing pg_dump archive: the newest in the configured directory, or
//! the file or directory archive named with `--path`.

use super::Backup;
use crate::drills::archive;
use crate::error::Result;
use std::path::Path;

pub fn find(path: &Path) -> Result<Backup> {
    let archive = archive::newest(path)?;
    Ok(Backup {
        archive,
        taken_at: None,
        taken_from: "archive header",
        scratch: None,
    })
}
