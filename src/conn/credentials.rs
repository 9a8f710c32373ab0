//! Where the Postgres password comes from, in this order: the connection spec
//! (or its service file), the context's `password_command`, the OS keyring
//! entry written by `opsdeck login`, PGPASSWORD, then the pgpass file (per
//! host, in pg.rs). A missing keyring is reported once and skipped.

use super::pgpass;
use super::secret::Secret;
use crate::error::{Error, Result};
use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// Keyring service name; the account is the context name.
pub const KEYRING_SERVICE: &str = "opsdeck";

/// Where a password came from; shown in errors, never with the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Spec,
    Command,
    Keyring,
    Env,
    Pgpass { path: PathBuf, line: usize },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Spec => f.write_str("the connection string or service file"),
            Source::Command => f.write_str("password_command"),
            Source::Keyring => f.write_str("the OS keyring (opsdeck login)"),
            Source::Env => f.write_str("PGPASSWORD"),
            Source::Pgpass { path, line } => write!(f, "{} line {line}", path.display()),
        }
    }
}

/// The order, for error hints.
pub const ORDER: &str =
    "connection string, password_command, OS keyring (`opsdeck login CONTEXT`), PGPASSWORD, pgpass";

#[derive(Debug, Clone)]
pub struct Password {
    pub secret: Secret,
    pub source: Source,
}

/// What the keyring said.
#[derive(Debug)]
pub enum KeyLookup {
    Found(Secret),
    Missing,
    Unavailable(String),
}

/// Inputs that do not depend on the host being tried.
pub struct Sources<'a> {
    pub context: &'a str,
    pub spec: Option<Secret>,
    pub command: Option<&'a str>,
    pub env: Option<Secret>,
}

/// The first password among spec, command, keyring and env. `keyring` is
/// only called when the earlier sources gave nothing.
pub async fn resolve(
    s: Sources<'_>,
    keyring: impl FnOnce(&str) -> KeyLookup,
) -> Result<Option<Password>> {
    if let Some(secret) = s.spec {
        return Ok(Some(Password {
            secret,
            source: Source::Spec,
        }));
    }
    if let Some(cmd) = s.command {
        return Ok(Some(Password {
            secret: run_command(cmd).await?,
            source: Source::Command,
        }));
    }
    match keyring(s.context) {
        KeyLookup::Found(secret) => {
            return Ok(Some(Password {
                secret,
                source: Source::Keyring,
            }))
        }
        KeyLookup::Missing => {}
        KeyLookup::Unavailable(why) => warn_keyring_once(&why),
    }
    Ok(s.env.map(|secret| Password {
        secret,
        source: Source::Env,
    }))
}

/// The pgpass password for one host, warning (as libpq does) about a file it ignores.
pub fn from_pgpass(path: &std::path::Path, key: pgpass::Key<'_>) -> Option<Password> {
    match pgpass::lookup(path, key) {
        pgpass::Lookup::Found { password, line } => Some(Password {
            secret: password,
            source: Source::Pgpass {
                path: path.to_path_buf(),
                line,
            },
        }),
        pgpass::Lookup::NotFound => None,
        pgpass::Lookup::Ignored(warning) => {
            tracing::warn!("{warning}");
            None
        }
    }
}

static KEYRING_WARNED: AtomicBool = AtomicBool::new(false);

fn warn_keyring_once(why: &str) {
    if !KEYRING_WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            "no OS keyring is reachable ({why}); skipping passwords stored by `opsdeck login`"
        );
    }
}

/// How long `password_command` may run before it is killed, unless the
/// config's `password_command_timeout_secs` says otherwise.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// The most a password command may print: any real secret fits, while a
/// command that streams (a pager, `yes`) is stopped instead of buffered.
pub const MAX_COMMAND_OUTPUT: u64 = 64 * 1024;

/// The timeout in milliseconds; 0 until the config sets one.
static COMMAND_TIMEOUT_MS: AtomicU64 = AtomicU64::new(0);

/// Sets the process's `password_command` timeout from the config file's
/// top-level setting (one per process, as the config file is).
pub fn set_command_timeout(timeout: Duration) {
    let ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
    COMMAND_TIMEOUT_MS.store(ms, Ordering::Relaxed);
}

fn command_timeout() -> Duration {
    match COMMAND_TIMEOUT_MS.load(Ordering::Relaxed) {
        0 => DEFAULT_COMMAND_TIMEOUT,
        ms => Duration::from_millis(ms),
    }
}

/// Runs `password_command` through `sh -c`; stdout, trimmed, is the password.
/// Its output never reaches an error: a failure names the command and status only.
/// A command that outlives the timeout or prints more than
/// [`MAX_COMMAND_OUTPUT`] is killed.
pub async fn run_command(cmd: &str) -> Result<Secret> {
    run_command_within(cmd, command_timeout()).await
}

async fn run_command_within(cmd: &str, timeout: Duration) -> Result<Secret> {
    let fail = |what: String| Error::Connect {
        target: "postgres".into(),
        detail: format!("password_command `{cmd}` {what}"),
        hint: Some(
            "run the command in a shell to see why, or fix password_command in the context".into(),
        ),
    };
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(std::process::Stdio::inherit())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| fail(format!("could not be started: {e}")))?;
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| fail("could not be started: no stdout".into()))?;
    let ran = tokio::time::timeout(timeout, async {
        let mut out = Vec::new();
        (&mut stdout)
            .take(MAX_COMMAND_OUTPUT + 1)
            .read_to_end(&mut out)
            .await?;
        if out.len() as u64 > MAX_COMMAND_OUTPUT {
            return Ok((out, None));
        }
        child.wait().await.map(|status| (out, Some(status)))
    })
    .await;
    let (out, status) = match ran {
        Err(_) => {
            return Err(Error::Connect {
                target: "postgres".into(),
                detail: format!(
                    "password_command `{cmd}` did not finish within {} s and was stopped",
                    timeout.as_secs_f64()
                ),
                hint: Some("check that the command does not wait for input (an unlocked agent, a prompt), or raise password_command_timeout_secs in the config".into()),
            })
        }
        Ok(Err(e)) => return Err(fail(format!("could not be read: {e}"))),
        Ok(Ok(ran)) => ran,
    };
    let Some(status) = status else {
        return Err(fail(format!(
            "printed more than {} KiB and was stopped; it must print only the password",
            MAX_COMMAND_OUTPUT / 1024
        )));
    };
    if !status.success() {
        return Err(fail(format!("failed with {status}")));
    }
    let text =
        String::from_utf8(out).map_err(|_| fail("printed something that is not UTF-8".into()))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(fail("printed nothing".into()));
    }
    Ok(Secret::new(trimmed))
}

fn entry(context: &str) -> keyring::Result<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, context)
}

/// Whether `opsdeck login` could store a password in this process.
pub fn keyring_usable() -> bool {
    has_session_keyring()
}

/// The password `opsdeck login` stored for a context.
pub fn keyring_get(context: &str) -> KeyLookup {
    match entry(context).and_then(|e| e.get_password()) {
        Ok(p) => KeyLookup::Found(Secret::new(p)),
        // keyring 3 reports "no session keyring" as NoEntry too; tell them apart.
        Err(keyring::Error::NoEntry) if !has_session_keyring() => {
            KeyLookup::Unavailable("this process has no session keyring".into())
        }
        Err(keyring::Error::NoEntry) => KeyLookup::Missing,
        Err(e) => KeyLookup::Unavailable(e.to_string()),
    }
}

/// Whether this process has a session keyring of its own. Without one (a
/// process started outside a login session, e.g. by cron or a bare `ssh host
/// cmd` without pam_keyinit), "@s" falls back to the shared user-session
/// keyring, where keyring 3 can neither store nor find entries.
#[cfg(target_os = "linux")]
fn has_session_keyring() -> bool {
    const KEYCTL_GET_KEYRING_ID: libc::c_long = 0;
    const KEY_SPEC_SESSION_KEYRING: libc::c_long = -3;
    const KEY_SPEC_USER_SESSION_KEYRING: libc::c_long = -5;
    // SAFETY: KEYCTL_GET_KEYRING_ID with create=0 only reads the caller's keyring ids.
    let id = |spec: libc::c_long| unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            spec,
            0 as libc::c_long,
        )
    };
    let session = id(KEY_SPEC_SESSION_KEYRING);
    session > 0 && session != id(KEY_SPEC_USER_SESSION_KEYRING)
}

#[cfg(not(target_os = "linux"))]
fn has_session_keyring() -> bool {
    true
}

/// Why storing failed when no keyring is usable, and what to do instead.
fn unavailable(why: &str) -> Error {
    Error::Usage(format!(
        "no OS keyring is usable in this session ({why}); set password_command in the context instead (e.g. `pass show db/prod`, `vault kv get -field=password secret/db`, `op read op://vault/db/password`): a kernel session keyring only lives as long as the login session"
    ))
}

/// Stores a context's password and reads it back: a key written to a keyring
/// this process cannot search again (no session keyring) is no store at all.
pub fn keyring_set(context: &str, password: &Secret) -> Result<()> {
    // Without a session keyring of its own, keyring 3 writes into the user's
    // shared user-session keyring and cannot find the entry again: the
    // password would be left behind where every process of the user sees it.
    if !has_session_keyring() {
        return Err(unavailable("this process has no session keyring"));
    }
    let e = entry(context).map_err(|e| unavailable(&e.to_string()))?;
    e.set_password(password.expose()).map_err(|e| match e {
        keyring::Error::NoEntry => unavailable("this process has no usable session keyring"),
        other => unavailable(&other.to_string()),
    })?;
    match keyring_get(context) {
        KeyLookup::Found(back) if back == *password => Ok(()),
        KeyLookup::Found(_) | KeyLookup::Missing => Err(unavailable(
            "the stored entry cannot be read back: this process has no usable session keyring",
        )),
        KeyLookup::Unavailable(why) => Err(unavailable(&why)),
    }
}

/// Removes a context's stored password; false when there was none.
pub fn keyring_delete(context: &str) -> Result<bool> {
    let e = entry(context).map_err(|e| unavailable(&e.to_string()))?;
    match e.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(e) => Err(unavailable(&e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources<'a>(spec: Option<&str>, command: Option<&'a str>, env: Option<&str>) -> Sources<'a> {
        Sources {
            context: "ctx",
            spec: spec.map(Secret::new),
            command,
            env: env.map(Secret::new),
        }
    }

    async fn source(s: Sources<'_>, k: KeyLookup) -> Option<(String, Source)> {
        resolve(s, |_| k)
            .await
            .unwrap()
            .map(|p| (p.secret.expose().to_string(), p.source))
    }

    #[tokio::test]
    async fn order_is_spec_command_keyring_env() {
        let kr = || KeyLookup::Found(Secret::new("kr"));
        assert_eq!(
            source(sources(Some("spec"), Some("echo cmd"), Some("env")), kr()).await,
            Some(("spec".into(), Source::Spec))
        );
        assert_eq!(
            source(
                sources(None, Some("printf '  cmd\\n\\n'"), Some("env")),
                kr()
            )
            .await,
            Some(("cmd".into(), Source::Command))
        );
        assert_eq!(
            source(sources(None, None, Some("env")), kr()).await,
            Some(("kr".into(), Source::Keyring))
        );
        assert_eq!(
            source(sources(None, None, Some("env")), KeyLookup::Missing).await,
            Some(("env".into(), Source::Env))
        );
        assert_eq!(
            source(
                sources(None, None, Some("env")),
                KeyLookup::Unavailable("no session keyring".into())
            )
            .await,
            Some(("env".into(), Source::Env)),
            "an unusable keyring falls through"
        );
        assert_eq!(
            source(sources(None, None, None), KeyLookup::Missing).await,
            None
        );
    }

    #[tokio::test]
    async fn failing_command_names_command_and_status_not_output() {
        let cmd = "printf 'out-%s' zz; printf 'err-%s' yy >&2; exit 7";
        let err = run_command(cmd).await.unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("exit status: 7"), "{msg}");
        assert!(msg.contains(cmd), "names the command: {msg}");
        assert!(!msg.contains("out-zz") && !msg.contains("err-yy"), "{msg}");
        assert_eq!(err.exit_code(), crate::ExitCode::Connect);
        let empty = run_command("true").await.unwrap_err().to_string();
        assert!(empty.contains("printed nothing"), "{empty}");
    }

    #[tokio::test]
    async fn a_hanging_command_is_stopped_at_the_timeout() {
        let started = std::time::Instant::now();
        let err = run_command_within(
            "printf 'p%s' art; exec sleep 30",
            Duration::from_millis(300),
        )
        .await
        .unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let msg = err.to_string();
        assert!(
            msg.contains("did not finish within 0.3 s")
                && msg.contains("password_command_timeout_secs"),
            "{msg}"
        );
        assert!(!msg.contains("part"), "never the output: {msg}");
        assert_eq!(err.exit_code(), crate::ExitCode::Connect);
    }

    #[tokio::test]
    async fn endless_output_is_cut_and_refused() {
        let err = run_command_within(
            "head -c 1000000 /dev/zero | base64",
            Duration::from_secs(10),
        )
        .await
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("printed more than 64 KiB"), "{msg}");
        assert!(!msg.contains("AAAA"), "never the output: {msg}");
        let big = format!("head -c {} /dev/zero | tr '\\0' x", MAX_COMMAND_OUTPUT);
        let ok = run_command_within(&big, Duration::from_secs(10))
            .await
            .unwrap();
        assert_eq!(ok.expose().len() as u64, MAX_COMMAND_OUTPUT);
    }
}
