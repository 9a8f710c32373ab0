//! The local JSONL copy: append-only, one record a line, file mode 0600.

use super::AuditRecord;
use crate::error::{Error, Result};
use std::io::{BufRead, Read, Write};
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

/// Records `audit list` reads from the local file at most: the newest ones,
/// as many as it reads from the database.
pub const MAX_RECORDS: usize = 10_000;

/// A line longer than this is no record opsdeck wrote; it is skipped
/// without being held in memory.
const MAX_LINE_BYTES: u64 = 1024 * 1024;

/// The newest [`MAX_RECORDS`] records from `since` on, read a line at a
/// time so that memory stays bounded however long the file has grown; true
/// when older ones were left out.
pub fn read(
    path: &Path,
    since: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<(Vec<AuditRecord>, bool)> {
    let context = || format!("reading audit log {}", path.display());
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), false)),
        Err(e) => return Err(Error::io(context(), e)),
    };
    let mut reader = std::io::BufReader::new(file);
    let mut kept = std::collections::VecDeque::with_capacity(1024);
    let mut dropped = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES)
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::io(context(), e))?;
        if n == 0 {
            break;
        }
        if !line.ends_with(b"\n") && n as u64 == MAX_LINE_BYTES {
            tracing::warn!("audit: skipping an overlong line in {}", path.display());
            skip_line(&mut reader).map_err(|e| Error::io(context(), e))?;
            continue;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let rec: AuditRecord = match serde_json::from_slice(&line) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("audit: skipping unreadable line in {}: {e}", path.display());
                continue;
            }
        };
        if since.is_some_and(|s| rec.ts < s) {
            continue;
        }
        if kept.len() == MAX_RECORDS {
            kept.pop_front();
            dropped = true;
        }
        kept.push_back(rec);
    }
    Ok((kept.into(), dropped))
}

/// Reads past the rest of a line without keeping it.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    }
}
