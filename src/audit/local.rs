//! The local JSONL copy: append-only, one record a line, file mode 0600.

use super::AuditRecord;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::Path;

pub fn append(path: &Path, rec: &AuditRecord) -> Result<()> {
    let mut f = crate::config::private::open_append(path)
        .map_err(|e| Error::io(format!("opening audit log {}", path.display()), e))?;
    let mut line = serde_json::to_vec(rec).map_err(|e| Error::Config(e.to_string()))?;
    line.push(b'\n');
    // One write per record keeps lines whole when several opsdeck processes append at once.
    f.write_all(&line)
        .map_err(|e| Error::io(format!("writing audit log {}", path.display()), e))
}

pub fn read(path: &Path) -> Result<Vec<AuditRecord>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(Error::io(
                format!("reading audit log {}", path.display()),
                e,
            ))
        }
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| match serde_json::from_str(l) {
            Ok(r) => Some(r),
            Err(e) => {
                tracing::warn!("audit: skipping unreadable line in {}: {e}", path.display());
                None
            }
        })
        .collect())
}
