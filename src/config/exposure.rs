//! A config file is as secret as the passwords it holds, and one with a
//! `password_command` decides what runs as the operator: like ssh with its
//! config, opsdeck refuses such a command from a file others may write, and
//! warns on every command about secrets in a file others may read.

use super::Config;
use crate::error::{Error, Result};
use std::path::Path;

impl Config {
    /// Whether any context holds a password (in a URL or conninfo).
    fn holds_passwords(&self) -> bool {
        self.contexts.values().any(|c| {
            c.pg.as_deref()
                .is_some_and(|s| s.contains("password=") || url_has_password(s))
                || c.redis.as_deref().is_some_and(url_has_password)
        })
    }

    fn has_password_command(&self) -> bool {
        self.contexts.values().any(|c| c.password_command.is_some())
    }

    /// Refuses a `password_command` from a file that someone else could
    /// have written: writable by group or others, or owned by another user.
    pub(super) fn check_command_source(&self, path: &Path) -> Result<()> {
        if !self.has_password_command() {
            return Ok(());
        }
        let Some(stat) = Stat::of(path) else {
            return Ok(());
        };
        let why = if stat.mode & 0o022 != 0 {
            format!("is writable by group or others (mode {:03o})", stat.mode)
        } else if stat.uid != stat.me && stat.uid != 0 {
            format!("belongs to another user (uid {})", stat.uid)
        } else {
            return Ok(());
        };
        Err(Error::Config(format!(
            "refusing password_command from {}: the file {why}, so someone else could choose the command opsdeck runs as you; chmod 600 {} (and chown it to yourself)",
            path.display(),
            path.display()
        )))
    }

    /// A one-line warning when the file holds passwords or a
    /// `password_command` and group or others may read it.
    pub fn exposure_warning(&self) -> Option<String> {
        let path = self.source.as_deref()?;
        if !self.holds_passwords() && !self.has_password_command() {
            return None;
        }
        let stat = Stat::of(path)?;
        if stat.mode & 0o044 == 0 {
            return None;
        }
        let what = if self.holds_passwords() {
            "passwords"
        } else {
            "a password_command"
        };
        Some(format!(
            "{} holds {what} and is readable by others (mode {:03o}); chmod 600 {}",
            path.display(),
            stat.mode,
            path.display()
        ))
    }
}

fn url_has_password(s: &str) -> bool {
    s.split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

struct Stat {
    mode: u32,
    uid: u32,
    me: u32,
}

impl Stat {
    #[cfg(unix)]
    fn of(path: &Path) -> Option<Stat> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path).ok()?;
        Some(Stat {
            mode: meta.mode() & 0o777,
            uid: meta.uid(),
            // SAFETY: geteuid has no preconditions and cannot fail.
            me: unsafe { libc::geteuid() },
        })
    }

    #[cfg(not(unix))]
    fn of(_: &Path) -> Option<Stat> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn load(text: &str, mode: u32) -> (tempfile::TempDir, Result<Config>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let paths = super::super::Paths::under(dir.path().to_path_buf());
        let cfg = Config::load(Some(&path), &paths);
        (dir, cfg)
    }

    const COMMAND: &str =
        "[contexts.a]\npg = \"postgres://u@h/db\"\npassword_command = \"pass x\"\n";
    const PASSWORD: &str = "[contexts.a]\npg = \"postgres://u:pw@h/db\"\n";
    const PLAIN: &str = "[contexts.a]\npg = \"postgres://u@h/db\"\n";

    #[test]
    fn a_password_command_from_a_file_others_may_write_is_refused() {
        for mode in [0o620, 0o602, 0o666, 0o775] {
            let (_d, cfg) = load(COMMAND, mode);
            let err = cfg
                .err()
                .unwrap_or_else(|| panic!("mode {mode:o} accepted"));
            assert_eq!(err.exit_code(), crate::ExitCode::Usage);
            let msg = err.to_string();
            assert!(
                msg.contains("refusing password_command")
                    && msg.contains(&format!("mode {mode:03o}"))
                    && msg.contains("chmod 600"),
                "{msg}"
            );
        }
        for mode in [0o600, 0o400, 0o644] {
            assert!(load(COMMAND, mode).1.is_ok(), "mode {mode:o} refused");
        }
        assert!(
            load(PASSWORD, 0o666).1.is_ok(),
            "no command: only a warning"
        );
    }

    #[test]
    fn password_in_url() {
        assert!(url_has_password("postgres://u:p@h/db"));
        assert!(!url_has_password("postgres://u@h/db"));
        assert!(!url_has_password("redis://h:6379"));
    }

    #[test]
    fn secrets_readable_by_others_draw_a_warning() {
        let warning = |text: &str, mode: u32| load(text, mode).1.unwrap().exposure_warning();
        let w = warning(PASSWORD, 0o644).expect("a warning");
        assert!(
            w.contains("holds passwords") && w.contains("mode 644"),
            "{w}"
        );
        let w = warning(COMMAND, 0o640).expect("a warning");
        assert!(w.contains("a password_command"), "{w}");
        assert_eq!(warning(PASSWORD, 0o600), None);
        assert_eq!(warning(PLAIN, 0o644), None);
    }
}
