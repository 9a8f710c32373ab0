//! The repository's migrations folder, as each tool lays it out: Drizzle's
//! `meta/_journal.json` beside its SQL files, Prisma's one folder per
//! migration holding `migration.sql`, golang-migrate's `NNN_name.up.sql`.
//! Hashes are computed the way each tool does, so a match means the same
//! file the tool applied.

use crate::error::{Error, Result};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub struct Folder {
    pub drizzle: Option<Vec<DrizzleEntry>>,
    pub prisma: Option<Vec<PrismaEntry>>,
    pub golang: Option<Vec<GolangEntry>>,
}

pub struct DrizzleEntry {
    pub tag: String,
    /// The journal's `when`: what the migrator stores as `created_at`.
    pub when: i64,
    pub hash: Option<String>,
}

pub struct PrismaEntry {
    pub name: String,
    pub checksum: String,
}

pub struct GolangEntry {
    pub version: i64,
    pub name: String,
}

#[derive(Deserialize)]
struct Journal {
    entries: Vec<JournalEntry>,
}

#[derive(Deserialize)]
struct JournalEntry {
    tag: String,
    when: i64,
}

impl Folder {
    pub fn read(dir: &Path) -> Result<Folder> {
        if !dir.is_dir() {
            return Err(Error::Usage(format!(
                "--dir {}: not a directory; point it at the repository's migrations folder",
                dir.display()
            )));
        }
        let folder = Folder {
            drizzle: drizzle(dir)?,
            prisma: prisma(dir)?,
            golang: golang(dir)?,
        };
        if folder.drizzle.is_none() && folder.prisma.is_none() && folder.golang.is_none() {
            return Err(Error::Usage(format!(
                "--dir {} holds no Drizzle journal (meta/_journal.json), Prisma migration folders (NAME/migration.sql) or golang-migrate files (NNN_name.up.sql)",
                dir.display()
            )));
        }
        Ok(folder)
    }
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |e| Error::io(format!("reading {}", path.display()), e)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// drizzle-orm's migrator reads the file as a JS string (`toString()`,
/// invalid UTF-8 becoming U+FFFD) and hashes that string's UTF-8 with
/// sha256: the lossy decode here gives the same bytes.
pub fn drizzle_hash(file: &[u8]) -> String {
    hex(&Sha256::digest(String::from_utf8_lossy(file).as_bytes()))
}

/// Prisma's checksum: sha256 of migration.sql, hex.
pub fn prisma_checksum(file: &[u8]) -> String {
    hex(&Sha256::digest(file))
}

fn drizzle(dir: &Path) -> Result<Option<Vec<DrizzleEntry>>> {
    let journal_path = dir.join("meta").join("_journal.json");
    if !journal_path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read(&journal_path).map_err(read_err(&journal_path))?;
    let journal: Journal = serde_json::from_slice(&text).map_err(|e| {
        Error::Usage(format!(
            "{}: not a Drizzle journal ({e}); regenerate it with drizzle-kit",
            journal_path.display()
        ))
    })?;
    let entries = journal
        .entries
        .into_iter()
        .map(|e| {
            let file = dir.join(format!("{}.sql", e.tag));
            let hash = std::fs::read(&file).ok().map(|b| drizzle_hash(&b));
            DrizzleEntry {
                tag: e.tag,
                when: e.when,
                hash,
            }
        })
        .collect();
    Ok(Some(entries))
}

fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err(dir))? {
        let entry = entry.map_err(read_err(dir))?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

fn prisma(dir: &Path) -> Result<Option<Vec<PrismaEntry>>> {
    let mut found = Vec::new();
    for path in subdirs(dir)? {
        let sql = path.join("migration.sql");
        if !sql.is_file() {
            continue;
        }
        let bytes = std::fs::read(&sql).map_err(read_err(&sql))?;
        if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            found.push(PrismaEntry {
                name: name.to_string(),
                checksum: prisma_checksum(&bytes),
            });
        }
    }
    Ok((!found.is_empty()).then_some(found))
}

/// `NNN_title.up.sql` as golang-migrate names its files.
fn golang_file(name: &str) -> Option<GolangEntry> {
    let stem = name.strip_suffix(".up.sql")?;
    let (version, _) = stem.split_once('_')?;
    Some(GolangEntry {
        version: version.parse().ok()?,
        name: stem.to_string(),
    })
}

fn golang(dir: &Path) -> Result<Option<Vec<GolangEntry>>> {
    let mut found: Vec<GolangEntry> = subdirs(dir)?
        .iter()
        .filter_map(|p| p.file_name().and_then(|n| n.to_str()).and_then(golang_file))
        .collect();
    found.sort_by_key(|e| e.version);
    Ok((!found.is_empty()).then_some(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golang_names() {
        let e = golang_file("0003_add_users.up.sql").unwrap();
        assert_eq!((e.version, e.name.as_str()), (3, "0003_add_users"));
        assert!(golang_file("0003_add_users.down.sql").is_none());
        assert!(golang_file("readme.up.sql").is_none());
    }

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            prisma_checksum(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // Invalid UTF-8 hashes as its replacement character, as in Node.
        assert_eq!(
            drizzle_hash(b"\xff"),
            prisma_checksum("\u{fffd}".as_bytes())
        );
    }
}
