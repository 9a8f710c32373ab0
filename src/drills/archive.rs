//! pg_dump archives: finding the newest in a directory, and reading one's
//! table of contents with `pg_restore --list` before anything is restored,
//! so a truncated or corrupt archive is rejected early. The header says when
//! the archive was made: the RPO is measured from it.

use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// What `pg_restore --list` says about an archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Toc {
    pub created_at: Option<DateTime<Utc>>,
    pub dbname: Option<String>,
    /// Entries pg_restore will process (schema objects and data).
    pub entries: u64,
    /// Tables whose data the archive holds, as `schema.table`.
    pub data_tables: Vec<String>,
}

/// Whether `path` is a pg_dump custom file or directory archive.
pub fn is_archive(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("toc.dat").is_file();
    }
    let mut magic = [0u8; 5];
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut magic))
        .is_ok()
        && &magic == b"PGDMP"
}

/// The archive to drill: `path` itself when it is one, else the newest
/// archive (by modification time) directly inside it.
pub fn newest(path: &Path) -> Result<PathBuf> {
    if is_archive(path) {
        return Ok(path.to_path_buf());
    }
    let entries = std::fs::read_dir(path).map_err(|e| {
        Error::io(
            format!(
                "cannot read the dump directory {} (set drills.dump_dir or pass --path)",
                path.display()
            ),
            e,
        )
    })?;
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in entries.flatten() {
        let p = entry.path();
        if !is_archive(&p) {
            continue;
        }
        let modified = std::fs::metadata(if p.is_dir() {
            p.join("toc.dat")
        } else {
            p.clone()
        })
        .and_then(|m| m.modified())
        .unwrap_or(std::time::UNIX_EPOCH);
        if best.as_ref().is_none_or(|(t, _)| modified > *t) {
            best = Some((modified, p));
        }
    }
    best.map(|(_, p)| p).ok_or_else(|| {
        Error::Usage(format!(
            "no pg_dump archive (custom format file or directory with toc.dat) in {}; make one with pg_dump -Fc, or use --source fresh",
            path.display()
        ))
    })
}

/// Reads the archive's table of contents; an archive pg_restore cannot list
/// is refused here with its own words.
pub async fn list(pg_restore: &Path, archive: &Path) -> Result<Toc> {
    let out = tokio::process::Command::new(pg_restore)
        .arg("--list")
        .arg(archive)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| Error::io(format!("cannot run {}", pg_restore.display()), e))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(Error::Usage(format!(
            "pg_restore --list cannot read {}: {}",
            archive.display(),
            err.trim().lines().last().unwrap_or("no reason given")
        )));
    }
    Ok(parse_list(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses `pg_restore --list` output.
pub fn parse_list(text: &str) -> Toc {
    let mut toc = Toc {
        created_at: None,
        dbname: None,
        entries: 0,
        data_tables: Vec::new(),
    };
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("; Archive created at ") {
            toc.created_at = parse_created(rest.trim());
        } else if let Some(rest) = line.trim_start_matches(';').trim().strip_prefix("dbname: ") {
            toc.dbname = Some(rest.trim().to_string());
        } else if !line.starts_with(';') && !line.trim().is_empty() {
            toc.entries += 1;
            // "2345; 0 16390 TABLE DATA public users postgres"
            let words: Vec<&str> = line.split_whitespace().collect();
            if let Some(i) = words.windows(2).position(|w| w == ["TABLE", "DATA"]) {
                if let (Some(schema), Some(table)) = (words.get(i + 2), words.get(i + 3)) {
                    toc.data_tables.push(format!("{schema}.{table}"));
                }
            }
        }
    }
    toc
}

/// `2026-12-02 03:10:40 UTC` (pg_dump writes the dumping machine's zone
/// abbreviation; UTC/GMT and numeric offsets are understood).
fn parse_created(text: &str) -> Option<DateTime<Utc>> {
    let (stamp, zone) = text.rsplit_once(' ')?;
    let naive = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S").ok()?;
    match zone {
        "UTC" | "GMT" | "Z" => Some(naive.and_utc()),
        offset => {
            let full = format!("{stamp} {offset}");
            DateTime::parse_from_str(&full, "%Y-%m-%d %H:%M:%S %#z")
                .ok()
                .map(|d| d.with_timezone(&Utc))
        }
    }
}

/// The archive's size on disk (a directory archive: its files).
pub fn size(path: &Path) -> u64 {
    if path.is_file() {
        return std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    }
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// The archive's modification time, when its header has no usable time.
pub fn modified(path: &Path) -> Option<DateTime<Utc>> {
    let p = if path.is_dir() {
        path.join("toc.dat")
    } else {
        path.to_path_buf()
    };
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIST: &str = ";\n; Archive created at 2026-12-02 03:10:40 UTC\n;     dbname: app\n;     TOC Entries: 5\n;\n; Selected TOC Entries:\n;\n215; 1259 16385 TABLE public users postgres\n3360; 0 16385 TABLE DATA public users postgres\n3361; 0 16390 TABLE DATA public \"Odd name\" postgres\n";

    #[test]
    fn reads_time_name_and_entries() {
        let toc = parse_list(LIST);
        assert_eq!(
            toc.created_at.unwrap().to_rfc3339(),
            "2026-12-02T03:10:40+00:00"
        );
        assert_eq!(toc.dbname.as_deref(), Some("app"));
        assert_eq!(toc.entries, 3);
        assert_eq!(toc.data_tables[0], "public.users");
    }

    #[test]
    fn numeric_offsets_and_unknown_zones() {
        assert_eq!(
            parse_created("2026-12-02 05:10:40 +0200")
                .unwrap()
                .to_rfc3339(),
            "2026-12-02T03:10:40+00:00"
        );
        assert_eq!(parse_created("2026-12-02 05:10:40 CEST"), None);
        assert_eq!(parse_created("garbage"), None);
    }

    #[test]
    fn finds_archives_by_content_not_name() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.dump"), "not an archive").unwrap();
        assert!(newest(dir.path()).is_err());
        std::fs::write(dir.path().join("a.bin"), b"PGDMP\x01\x0e").unwrap();
        assert_eq!(newest(dir.path()).unwrap(), dir.path().join("a.bin"));
        let d = dir.path().join("dirformat");
        std::fs::create_dir(&d).unwrap();
        std::fs::write(d.join("toc.dat"), b"PGDMP").unwrap();
        assert!(is_archive(&d));
        assert_eq!(newest(&d).unwrap(), d);
    }
}
