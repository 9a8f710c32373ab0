//! The password file (`~/.pgpass` or PGPASSFILE), read with libpq's rules:
//! `hostname:port:database:username:password`, a field of exactly `*` matches
//! anything, `\:` and `\\` escape, `#` lines are comments, the first matching
//! line wins, and a file readable by group or others is ignored with a warning.

use super::secret::Secret;
use std::path::Path;

/// What looking in the password file gave.
#[derive(Debug)]
pub enum Lookup {
    Found {
        password: Secret,
        line: usize,
    },
    NotFound,
    /// The file exists but libpq would not use it; the text says why.
    Ignored(String),
}

/// What a line must match: the connection's host, port, database and user.
#[derive(Debug, Clone, Copy)]
pub struct Key<'a> {
    pub host: &'a str,
    pub port: &'a str,
    pub dbname: &'a str,
    pub user: &'a str,
}

pub fn lookup(path: &Path, key: Key<'_>) -> Lookup {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Lookup::NotFound,
    };
    if !meta.is_file() {
        return Lookup::Ignored(format!(
            "password file \"{}\" is not a plain file",
            path.display()
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            return Lookup::Ignored(format!(
                "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
                path.display()
            ));
        }
    }
    match std::fs::read_to_string(path) {
        Ok(text) => find(&text, key),
        Err(e) => Lookup::Ignored(format!(
            "cannot read password file \"{}\": {e}",
            path.display()
        )),
    }
}

/// The first line of `text` matching `key`.
pub fn find(text: &str, key: Key<'_>) -> Lookup {
    let wanted = [key.host, key.port, key.dbname, key.user];
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields = split(line);
        if fields.len() < 5 {
            continue;
        }
        let matches = fields
            .iter()
            .zip(wanted)
            .all(|(f, w)| f.wildcard || f.text == w);
        if matches {
            return Lookup::Found {
                password: Secret::new(fields[4].text.clone()),
                line: i + 1,
            };
        }
    }
    Lookup::NotFound
}

struct Field {
    text: String,
    /// The field was exactly an unescaped `*`.
    wildcard: bool,
}

/// Splits on unescaped `:` into at most five fields; the password is the rest
/// of the line up to the next unescaped `:`.
fn split(line: &str) -> Vec<Field> {
    let mut fields = Vec::with_capacity(5);
    let mut text = String::new();
    let mut escaped_any = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n) => {
                    text.push(n);
                    escaped_any = true;
                }
                None => text.push('\\'),
            },
            ':' => {
                let wildcard = text == "*" && !escaped_any;
                fields.push(Field {
                    text: std::mem::take(&mut text),
                    wildcard,
                });
                escaped_any = false;
                if fields.len() == 5 {
                    return fields;
                }
            }
            c => text.push(c),
        }
    }
    fields.push(Field {
        text,
        wildcard: false,
    });
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(host: &'a str, port: &'a str, dbname: &'a str, user: &'a str) -> Key<'a> {
        Key {
            host,
            port,
            dbname,
            user,
        }
    }

    fn pw(text: &str, k: Key<'_>) -> Option<(String, usize)> {
        match find(text, k) {
            Lookup::Found { password, line } => Some((password.expose().to_string(), line)),
            _ => None,
        }
    }

    #[test]
    fn first_match_wins_and_wildcards() {
        let text = "\
# comment line
db1:5432:app:alice:first
*:*:app:alice:second
*:*:*:*:catchall
";
        assert_eq!(
            pw(text, key("db1", "5432", "app", "alice")),
            Some(("first".into(), 2))
        );
        assert_eq!(
            pw(text, key("db2", "5433", "app", "alice")),
            Some(("second".into(), 3))
        );
        assert_eq!(
            pw(text, key("db2", "5433", "other", "bob")),
            Some(("catchall".into(), 4))
        );
        assert_eq!(
            pw("db1:5432:app:alice:x\n", key("db1", "5432", "app", "bob")),
            None
        );
    }

    #[test]
    fn escapes_in_fields_and_password() {
        let text = r"my\:host:5432:d\\b:u:pa\:ss\\wo\rd:ignored
";
        assert_eq!(
            pw(text, key("my:host", "5432", r"d\b", "u")),
            Some((r"pa:ss\word".into(), 1))
        );
        // An escaped star is a literal star, not a wildcard.
        assert_eq!(pw(r"\*:*:*:*:lit", key("h", "1", "d", "u")), None);
        assert_eq!(
            pw(r"\*:*:*:*:lit", key("*", "1", "d", "u")),
            Some(("lit".into(), 1))
        );
        // A star inside a field is literal too.
        assert_eq!(pw("h*:*:*:*:x", key("hx", "1", "d", "u")), None);
    }

    #[test]
    fn short_lines_and_crlf_are_handled() {
        assert_eq!(pw("h:5432:d\n", key("h", "5432", "d", "u")), None);
        assert_eq!(
            pw("h:5432:d:u:pw\r\n", key("h", "5432", "d", "u")),
            Some(("pw".into(), 1))
        );
        assert_eq!(
            pw("h:5432:d:u:\n", key("h", "5432", "d", "u")),
            Some((String::new(), 1))
        );
    }

    #[cfg(unix)]
    #[test]
    fn group_readable_file_is_ignored_with_the_libpq_warning() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pgpass");
        std::fs::write(&f, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
        match lookup(&f, key("h", "1", "d", "u")) {
            Lookup::Ignored(w) => {
                assert!(w.contains("has group or world access"), "{w}");
                assert!(w.contains("u=rw (0600)"), "{w}");
            }
            other => panic!("expected Ignored, got {other:?}"),
        }
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            lookup(&f, key("h", "1", "d", "u")),
            Lookup::Found { line: 1, .. }
        ));
        assert!(matches!(
            lookup(&dir.path().join("none"), key("h", "1", "d", "u")),
            Lookup::NotFound
        ));
        assert!(matches!(
            lookup(dir.path(), key("h", "1", "d", "u")),
            Lookup::Ignored(_)
        ));
    }
}
