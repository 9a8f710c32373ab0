//! `pg_service.conf`: named groups of connection settings, looked up as libpq
//! does: PGSERVICEFILE or ~/.pg_service.conf first, then
//! PGSYSCONFDIR/pg_service.conf; the first file that defines the service wins.

use super::conninfo::Settings;
use super::params::Env;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// Where Debian's libpq looks when PGSYSCONFDIR is unset.
const SYSCONFDIR: &str = "/etc/postgresql-common";

/// The settings of service `name`, or a usage error when no file defines it.
pub fn lookup(name: &str, env: Env<'_>, home: Option<&Path>) -> Result<Settings> {
    let user_file = env("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".pg_service.conf")));
    let sys_file = PathBuf::from(env("PGSYSCONFDIR").unwrap_or_else(|| SYSCONFDIR.into()))
        .join("pg_service.conf");
    let mut searched = Vec::new();
    for file in user_file.into_iter().chain(std::iter::once(sys_file)) {
        match std::fs::read_to_string(&file) {
            Ok(text) => {
                if let Some(s) = parse(&text, name, &file)? {
                    return Ok(s);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(Error::Usage(format!(
                    "cannot read service file \"{}\": {e}",
                    file.display()
                )))
            }
        }
        searched.push(file.display().to_string());
    }
    Err(Error::Usage(format!(
        "definition of service \"{name}\" not found (searched {}); check PGSERVICE / service= and PGSERVICEFILE",
        searched.join(", ")
    )))
}

/// The group `[name]` of one file, if the file has it. Lines are `key=value`
/// (libpq keywords, values unquoted), `#` starts a comment line.
pub fn parse(text: &str, name: &str, path: &Path) -> Result<Option<Settings>> {
    let mut found: Option<Settings> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = || format!("service file \"{}\", line {}", path.display(), i + 1);
        if let Some(section) = line.strip_prefix('[') {
            if found.is_some() {
                break;
            }
            let section = section
                .strip_suffix(']')
                .ok_or_else(|| Error::Usage(format!("syntax error in {}: missing \"]\"", at())))?;
            if section == name {
                found = Some(Settings::default());
            }
            continue;
        }
        let Some(settings) = found.as_mut() else {
            continue;
        };
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("syntax error in {}", at())))?;
        let key = key.trim();
        if key == "service" {
            return Err(Error::Usage(format!(
                "nested service specifications not supported in {}",
                at()
            )));
        }
        settings
            .set(key, value.trim())
            .map_err(|e| Error::Usage(format!("{}: {e}", at())))?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "\
# comment
[other]
host=elsewhere

[prod]
host=db.prod
port = 6432
dbname=app
  user=ops
sslmode=verify-full
[after]
host=nope
";

    #[test]
    fn finds_the_group_and_stops_at_the_next() {
        let s = parse(FILE, "prod", Path::new("f")).unwrap().unwrap();
        assert_eq!(s.get("host"), Some("db.prod"));
        assert_eq!(s.get("port"), Some("6432"));
        assert_eq!(s.get("user"), Some("ops"));
        assert_eq!(s.get("sslmode"), Some("verify-full"));
        assert!(parse(FILE, "missing", Path::new("f")).unwrap().is_none());
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("[a]\nhost\n", "a", Path::new("/x/s.conf")).unwrap_err();
        assert!(e.to_string().contains("\"/x/s.conf\", line 2"), "{e}");
        let e = parse("[a]\nservice=b\n", "a", Path::new("s")).unwrap_err();
        assert!(e.to_string().contains("nested service"), "{e}");
        let e = parse("[a]\nhots=b\n", "a", Path::new("s")).unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("hots"),
            "{e}"
        );
    }

    #[test]
    fn user_file_first_then_sysconfdir() {
        let dir = tempfile::tempdir().unwrap();
        let user = dir.path().join("user.conf");
        let sys = dir.path().join("sys");
        std::fs::create_dir(&sys).unwrap();
        std::fs::write(&user, "[a]\nhost=from-user\n").unwrap();
        std::fs::write(
            sys.join("pg_service.conf"),
            "[a]\nhost=from-sys\n[b]\nhost=sys-b\n",
        )
        .unwrap();
        let (u, s) = (user.display().to_string(), sys.display().to_string());
        let env = move |k: &str| match k {
            "PGSERVICEFILE" => Some(u.clone()),
            "PGSYSCONFDIR" => Some(s.clone()),
            _ => None,
        };
        assert_eq!(
            lookup("a", &env, None).unwrap().get("host"),
            Some("from-user")
        );
        assert_eq!(lookup("b", &env, None).unwrap().get("host"), Some("sys-b"));
        let e = lookup("c", &env, None).unwrap_err();
        assert!(
            e.to_string()
                .contains("definition of service \"c\" not found"),
            "{e}"
        );
    }
}
