//! How the libpq programs opsdeck runs (pg_dump, pg_restore) log in as the
//! context does: the connection settings without the password on their
//! command line, where `ps` shows it to every user of the machine, and the
//! password opsdeck resolved (spec, password_command, keyring, PGPASSWORD)
//! in their environment instead. pgpass and service files they read
//! themselves, as libpq does.

use super::conninfo;
use super::credentials::{self, Sources};
use super::secret::Secret;
use crate::config::ResolvedContext;
use crate::error::Result;

/// What a child program is given to connect.
pub struct ChildLogin {
    /// A keyword/value conninfo without a password; empty for libpq's defaults.
    pub conninfo: String,
    pub password: Option<Secret>,
}

impl ChildLogin {
    /// The login for a spec alone (a scratch target's URL): its own password.
    pub fn for_spec(spec: &str) -> Result<ChildLogin> {
        let (conninfo, password) = split(spec)?;
        Ok(ChildLogin { conninfo, password })
    }

    /// The login for a context's database: its password found the way
    /// opsdeck's own connection finds it.
    pub async fn for_context(ctx: &ResolvedContext) -> Result<ChildLogin> {
        let (conninfo, spec_password) = split(ctx.pg.as_deref().unwrap_or(""))?;
        let password = credentials::resolve(
            Sources {
                context: &ctx.name,
                spec: spec_password,
                command: ctx.password_command.as_deref(),
                env: std::env::var("PGPASSWORD").ok().map(Secret::new),
            },
            credentials::keyring_get,
        )
        .await?
        .map(|p| p.secret);
        Ok(ChildLogin { conninfo, password })
    }

    /// `--dbname` (when settings were given) and PGPASSWORD (when a password
    /// was found) for `cmd`.
    pub fn apply(&self, cmd: &mut tokio::process::Command) {
        if !self.conninfo.is_empty() {
            cmd.arg("--dbname").arg(&self.conninfo);
        }
        if let Some(p) = &self.password {
            cmd.env("PGPASSWORD", p.expose());
        }
    }
}

/// The spec as conninfo without its password, and the password.
fn split(spec: &str) -> Result<(String, Option<Secret>)> {
    let mut settings = conninfo::parse(spec)?;
    let password = settings.remove("password").map(Secret::new);
    Ok((settings.to_conninfo(), password))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_command_line_and_odd_values_survive() {
        let (info, pw) =
            split("postgres://u%27s:s3cr%20t@db.example:6543/my%20db?sslmode=require").unwrap();
        assert_eq!(pw.unwrap().expose(), "s3cr t");
        assert!(!info.contains("s3cr"), "{info}");
        let back = conninfo::parse(&info).unwrap();
        assert_eq!(back.get("user"), Some("u's"));
        assert_eq!(back.get("dbname"), Some("my db"));
        assert_eq!(back.get("port"), Some("6543"));
        assert_eq!(back.get("sslmode"), Some("require"));
        assert_eq!(back.get("password"), None);
    }

    #[test]
    fn an_empty_spec_leaves_libpq_its_defaults() {
        let (info, pw) = split("").unwrap();
        assert!(info.is_empty() && pw.is_none());
    }
}
