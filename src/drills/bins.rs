//! pg_dump and pg_restore of a major version at least the source server's:
//! an older pg_restore cannot read a newer archive, an older pg_dump refuses
//! a newer server.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The client program `name` for a server of major `server_major`: next to
/// the sandbox's server programs (OPSDECK_PG_BIN), else the newest Debian
/// `/usr/lib/postgresql/N/bin`, else PATH.
pub fn client_tool(name: &str, server_major: u32) -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Ok(dir) = crate::sandbox::find_bin_dir() {
        candidates.push(dir.join(name));
    }
    let mut versioned: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            Some((v, e.path().join("bin").join(name)))
        })
        .collect();
    versioned.sort_by_key(|v| std::cmp::Reverse(v.0));
    candidates.extend(versioned.into_iter().map(|(_, p)| p));
    for d in std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
    {
        candidates.push(d.join(name));
    }
    let mut too_old = None;
    for c in candidates.iter().filter(|c| c.is_file()) {
        match major_of(c) {
            Some(m) if m >= server_major => return Ok(c.clone()),
            Some(m) => too_old = too_old.or(Some((c.clone(), m))),
            None => {}
        }
    }
    Err(Error::Usage(match too_old {
        Some((path, m)) => format!(
            "{} is version {m} and the source server is {server_major}: install a newer one (Debian: apt-get install postgresql-client-{server_major}) or point OPSDECK_PG_BIN at its directory",
            path.display()
        ),
        None => format!(
            "{name} not found: install the PostgreSQL client programs (Debian: apt-get install postgresql-client-{server_major}) or point OPSDECK_PG_BIN at their directory"
        ),
    }))
}

/// The major version `prog --version` reports ("pg_restore (PostgreSQL) 15.8").
fn major_of(prog: &Path) -> Option<u32> {
    let out = std::process::Command::new(prog)
        .arg("--version")
        .output()
        .ok()?;
    parse_major(&String::from_utf8_lossy(&out.stdout))
}

fn parse_major(text: &str) -> Option<u32> {
    let mut words = text.split_whitespace();
    words.find(|w| *w == "(PostgreSQL)")?;
    let version = words.next()?;
    version
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_major_from_version_lines() {
        assert_eq!(parse_major("pg_restore (PostgreSQL) 15.8\n"), Some(15));
        assert_eq!(
            parse_major("pg_dump (PostgreSQL) 17beta2 (Debian 17~beta2-1)"),
            Some(17)
        );
        assert_eq!(parse_major("pg_dump (PostgreSQL) 16.1"), Some(16));
        assert_eq!(parse_major(""), None);
    }

    #[test]
    fn a_missing_or_old_tool_names_the_package() {
        let err = client_tool("pg_restore", 99).unwrap_err();
        assert!(err.to_string().contains("postgresql-client-99"), "{err}");
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
        let err = client_tool("no_such_pg_tool", 15).unwrap_err();
        assert!(err.to_string().contains("not found"), "{err}");
    }
}
