//! Resolving a connection spec into what to connect with, in libpq's order:
//! the spec itself, then the service it names (`service=` or PGSERVICE), then
//! the PG* environment, then libpq's defaults. A service file setting beats
//! the environment and loses to the spec, as the libpq docs state.

use super::conninfo::{self, Settings};
use super::secret::Secret;
use super::service;
use super::target::{self, Target};
use crate::error::{Error, Result};
use std::path::PathBuf;
use std::time::Duration;
use tokio_postgres::config::{ChannelBinding, TargetSessionAttrs};

/// Environment lookup, injectable so tests never touch the process env.
pub type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The process environment; empty variables count as unset.
pub fn process_env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.is_empty())
}

/// Environment fallbacks per keyword. PGPASSWORD is kept apart because the
/// credential order puts password_command and the keyring before it.
const ENV_VARS: &[(&str, &str)] = &[
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
    ("passfile", "PGPASSFILE"),
    ("options", "PGOPTIONS"),
    ("application_name", "PGAPPNAME"),
    ("sslmode", "PGSSLMODE"),
    ("sslrootcert", "PGSSLROOTCERT"),
    ("sslnegotiation", "PGSSLNEGOTIATION"),
    ("connect_timeout", "PGCONNECT_TIMEOUT"),
    ("target_session_attrs", "PGTARGETSESSIONATTRS"),
    ("load_balance_hosts", "PGLOADBALANCEHOSTS"),
    ("channel_binding", "PGCHANNELBINDING"),
];

const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<SslMode> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(Error::Usage(format!(
                    "invalid sslmode value: \"{other}\" (use disable, allow, prefer, require, verify-ca or verify-full)"
                )))
            }
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Everything needed to open a session, minus the password sources that are
/// not part of the spec (password_command, keyring, pgpass).
#[derive(Debug, Clone)]
pub struct ConnParams {
    pub targets: Vec<Target>,
    pub user: String,
    pub dbname: String,
    /// From the spec or the service file.
    pub password: Option<Secret>,
    /// From PGPASSWORD.
    pub env_password: Option<Secret>,
    pub passfile: Option<PathBuf>,
    pub home: Option<PathBuf>,
    pub sslmode: SslMode,
    pub sslrootcert: Option<String>,
    pub ssl_direct: bool,
    pub application_name: Option<String>,
    pub fallback_application_name: Option<String>,
    pub options: Option<String>,
    /// None: wait forever (connect_timeout=0).
    pub connect_timeout: Option<Duration>,
    pub target_session_attrs: TargetSessionAttrs,
    pub load_balance: bool,
    pub channel_binding: ChannelBinding,
    pub keepalives: bool,
    pub keepalives_idle: Option<Duration>,
    pub keepalives_interval: Option<Duration>,
    pub keepalives_count: Option<u32>,
    pub tcp_user_timeout: Option<Duration>,
}

/// Resolves a spec (URL, conninfo or empty) against the service file, the
/// environment and the defaults.
pub fn resolve(spec: &str, env: Env<'_>) -> Result<ConnParams> {
    let mut s = conninfo::parse(spec)?;
    let home = env("HOME")
        .map(PathBuf::from)
        .or_else(|| os_account().map(|a| a.1));
    let service = s
        .get("service")
        .map(str::to_string)
        .or_else(|| env("PGSERVICE"));
    if let Some(name) = service {
        let from_service = service::lookup(&name, env, home.as_deref())?;
        for (k, v) in from_service.iter() {
            s.set_default(k, v)?;
        }
    }
    for (keyword, var) in ENV_VARS {
        if let Some(v) = env(var) {
            s.set_default(keyword, v)
                .map_err(|e| Error::Usage(format!("{var}: {e}")))?;
        }
    }
    build(&s, env("PGPASSWORD").map(Secret::new), home)
}

fn build(s: &Settings, env_password: Option<Secret>, home: Option<PathBuf>) -> Result<ConnParams> {
    let user = match s.get("user").filter(|u| !u.is_empty()) {
        Some(u) => u.to_string(),
        None => os_account().map(|a| a.0).ok_or_else(|| {
            Error::Usage("could not look up the local user name; set user= or PGUSER".into())
        })?,
    };
    let dbname = s
        .get("dbname")
        .filter(|d| !d.is_empty())
        .map_or_else(|| user.clone(), str::to_string);
    let (sslmode, sslrootcert) = ssl(s)?;
    Ok(ConnParams {
        targets: target::parse(s)?,
        user,
        dbname,
        password: s.get("password").map(Secret::new),
        env_password,
        passfile: s
            .get("passfile")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".pgpass"))),
        home,
        sslmode,
        sslrootcert,
        ssl_direct: match s.get("sslnegotiation") {
            None | Some("postgres") => false,
            Some("direct") => true,
            Some(o) => return Err(invalid("sslnegotiation", o, "postgres or direct")),
        },
        application_name: s.get("application_name").map(str::to_string),
        fallback_application_name: s.get("fallback_application_name").map(str::to_string),
        options: s
            .get("options")
            .filter(|o| !o.is_empty())
            .map(str::to_string),
        connect_timeout: match s.get("connect_timeout") {
            None | Some("") => Some(DEFAULT_CONNECT_TIMEOUT),
            // libpq: zero or negative waits forever; 1 s is raised to 2 s.
            Some(v) => match int(v, "connect_timeout")? {
                n if n <= 0 => None,
                n => Some(Duration::from_secs(n.max(2).unsigned_abs())),
            },
        },
        target_session_attrs: match s.get("target_session_attrs") {
            None | Some("any") => TargetSessionAttrs::Any,
            Some("read-write") => TargetSessionAttrs::ReadWrite,
            Some("read-only") => TargetSessionAttrs::ReadOnly,
            Some(o) => {
                return Err(invalid(
                    "target_session_attrs",
                    o,
                    "any, read-write or read-only",
                ))
            }
        },
        load_balance: match s.get("load_balance_hosts") {
            None | Some("disable") => false,
            Some("random") => true,
            Some(o) => return Err(invalid("load_balance_hosts", o, "disable or random")),
        },
        channel_binding: match s.get("channel_binding") {
            None | Some("prefer") => ChannelBinding::Prefer,
            Some("disable") => ChannelBinding::Disable,
            Some("require") => ChannelBinding::Require,
            Some(o) => return Err(invalid("channel_binding", o, "disable, prefer or require")),
        },
        keepalives: s
            .get("keepalives")
            .map_or(Ok(true), |v| Ok::<_, Error>(int(v, "keepalives")? != 0))?,
        keepalives_idle: secs(s, "keepalives_idle")?,
        keepalives_interval: secs(s, "keepalives_interval")?,
        keepalives_count: s
            .get("keepalives_count")
            .map(|v| ranged(v, "keepalives_count", 1, MAX_KEEPALIVES_COUNT, "probes"))
            .transpose()?
            .map(|n| n.unsigned_abs() as u32),
        tcp_user_timeout: s
            .get("tcp_user_timeout")
            .map(|v| {
                int(v, "tcp_user_timeout").and_then(|n| {
                    // libpq: a negative value is the system default, like zero.
                    ranged(
                        &n.max(0).to_string(),
                        "tcp_user_timeout",
                        0,
                        i64::from(i32::MAX),
                        "milliseconds",
                    )
                })
            })
            .transpose()?
            .map(|n| Duration::from_millis(n.unsigned_abs())),
    })
}

fn ssl(s: &Settings) -> Result<(SslMode, Option<String>)> {
    let root = s
        .get("sslrootcert")
        .filter(|r| !r.is_empty())
        .map(str::to_string);
    let mode = s.get("sslmode").map(SslMode::parse).transpose()?;
    // libpq 16: sslrootcert=system means the system's roots, which only make
    // sense with a hostname check; it implies verify-full and refuses weaker modes.
    let mode = match (mode, root.as_deref()) {
        (None, Some("system")) => SslMode::VerifyFull,
        (Some(m), Some("system")) if m != SslMode::VerifyFull => {
            return Err(Error::Usage(format!(
                "weak sslmode \"{}\" may not be used with sslrootcert=system (use \"verify-full\")",
                m.as_str()
            )))
        }
        (m, _) => m.unwrap_or(SslMode::Prefer),
    };
    Ok((mode, root))
}

pub(super) fn int(v: &str, keyword: &str) -> Result<i64> {
    v.trim().parse::<i64>().map_err(|_| {
        Error::Usage(format!(
            "invalid integer value \"{v}\" for connection option \"{keyword}\""
        ))
    })
}

/// Linux's limits on the keepalive socket options (`MAX_TCP_KEEPIDLE`,
/// `MAX_TCP_KEEPINTVL`, `MAX_TCP_KEEPCNT`): past them the socket call fails
/// with a bare "Invalid argument" that reads like a network problem.
const MAX_KEEPALIVE_SECS: i64 = 32_767;
const MAX_KEEPALIVES_COUNT: i64 = 127;

fn secs(s: &Settings, keyword: &str) -> Result<Option<Duration>> {
    s.get(keyword)
        .map(|v| {
            ranged(v, keyword, 1, MAX_KEEPALIVE_SECS, "seconds")
                .map(|n| Duration::from_secs(n.unsigned_abs()))
        })
        .transpose()
}

fn ranged(v: &str, keyword: &str, min: i64, max: i64, unit: &str) -> Result<i64> {
    let n = int(v, keyword)?;
    if !(min..=max).contains(&n) {
        return Err(Error::Usage(format!(
            "connection option \"{keyword}\" = {n} is out of range: use {min} to {max} {unit}"
        )));
    }
    Ok(n)
}

fn invalid(keyword: &str, value: &str, valid: &str) -> Error {
    Error::Usage(format!(
        "invalid {keyword} value: \"{value}\" (opsdeck supports {valid})"
    ))
}

/// The effective user's name and home directory, as libpq looks them up.
pub fn os_account() -> Option<(String, PathBuf)> {
    let mut buf = vec![0u8; 16 * 1024];
    // SAFETY: passwd is plain data; zeroed is a valid initial value for getpwuid_r to fill.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the duration of the call and buf's length is passed.
    let rc = unsafe {
        libc::getpwuid_r(
            libc::geteuid(),
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() || pwd.pw_dir.is_null() {
        return None;
    }
    // SAFETY: on success pw_name and pw_dir point to NUL-terminated strings inside buf.
    let (name, dir) = unsafe {
        (
            std::ffi::CStr::from_ptr(pwd.pw_name)
                .to_string_lossy()
                .into_owned(),
            std::ffi::CStr::from_ptr(pwd.pw_dir)
                .to_string_lossy()
                .into_owned(),
        )
    };
    Some((name, PathBuf::from(dir)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::target::{HostKind, DEFAULT_SOCKET_DIR};
    use std::collections::HashMap;
    use std::path::Path;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn defaults_are_libpq_defaults() {
        let p = resolve("", &env_of(&[("HOME", "/h")])).unwrap();
        let (os_user, _) = os_account().unwrap();
        assert_eq!(p.user, os_user);
        assert_eq!(p.dbname, os_user);
        assert_eq!(p.targets.len(), 1);
        assert_eq!(p.targets[0].port, 5432);
        let expected = if Path::new(DEFAULT_SOCKET_DIR).is_dir() {
            HostKind::Unix(DEFAULT_SOCKET_DIR.into())
        } else {
            HostKind::Tcp("localhost".into())
        };
        assert_eq!(p.targets[0].host, Some(expected));
        assert_eq!(p.sslmode, SslMode::Prefer);
        assert_eq!(p.connect_timeout, Some(Duration::from_secs(10)));
        assert_eq!(p.passfile, Some(PathBuf::from("/h/.pgpass")));
    }

    #[test]
    fn env_fills_what_the_spec_leaves_out() {
        let env = env_of(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "6000"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGPASSWORD", "envpw"),
            ("PGSSLMODE", "require"),
            ("PGAPPNAME", "app"),
            ("PGCONNECT_TIMEOUT", "1"),
            ("PGPASSFILE", "/p/pass"),
            ("PGSSLROOTCERT", "/c.pem"),
        ]);
        let p = resolve("user=specuser", &env).unwrap();
        assert_eq!(p.user, "specuser");
        assert_eq!(p.dbname, "envdb");
        assert_eq!(p.targets[0].host, Some(HostKind::Tcp("envhost".into())));
        assert_eq!(p.targets[0].port, 6000);
        assert_eq!(p.sslmode, SslMode::Require);
        assert_eq!(p.application_name.as_deref(), Some("app"));
        assert_eq!(p.connect_timeout, Some(Duration::from_secs(2)));
        assert_eq!(p.passfile, Some(PathBuf::from("/p/pass")));
        assert_eq!(p.sslrootcert.as_deref(), Some("/c.pem"));
        assert!(p.password.is_none());
        assert_eq!(p.env_password.unwrap().expose(), "envpw");
    }

    #[test]
    fn service_beats_env_and_loses_to_the_spec() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("svc.conf");
        std::fs::write(
            &f,
            "[prod]\nhost=svc-host\nport=7000\ndbname=svcdb\nuser=svcuser\npassword=svcpw\n",
        )
        .unwrap();
        let env = env_of(&[
            ("PGSERVICEFILE", f.to_str().unwrap()),
            ("PGSYSCONFDIR", dir.path().to_str().unwrap()),
            ("PGHOST", "envhost"),
            ("PGDATABASE", "envdb"),
        ]);
        let p = resolve("service=prod dbname=specdb", &env).unwrap();
        assert_eq!(p.dbname, "specdb", "spec overrides the service");
        assert_eq!(p.targets[0].host, Some(HostKind::Tcp("svc-host".into())));
        assert_eq!(p.targets[0].port, 7000);
        assert_eq!(p.user, "svcuser");
        assert_eq!(p.password.unwrap().expose(), "svcpw");
        let env2 = env_of(&[
            ("PGSERVICEFILE", f.to_str().unwrap()),
            ("PGSERVICE", "prod"),
        ]);
        let p = resolve("postgres://u@h/d", &env2).unwrap();
        assert_eq!(p.targets[0].host, Some(HostKind::Tcp("h".into())));
        assert_eq!(p.targets[0].port, 7000, "PGSERVICE applies too");
    }

    #[test]
    fn socket_options_past_the_kernel_limits_are_usage_errors() {
        let env = env_of(&[("HOME", "/h")]);
        for (kv, msg) in [
            ("keepalives_idle=32768", "use 1 to 32767 seconds"),
            ("keepalives_idle=0", "use 1 to 32767 seconds"),
            (
                "keepalives_interval=9223372036854775807",
                "use 1 to 32767 seconds",
            ),
            ("keepalives_count=128", "use 1 to 127 probes"),
            (
                "tcp_user_timeout=2147483648",
                "use 0 to 2147483647 milliseconds",
            ),
        ] {
            let err = resolve(&format!("host=h {kv}"), &env).unwrap_err();
            assert!(
                matches!(&err, Error::Usage(m) if m.contains(msg)),
                "{kv}: {err:?}"
            );
        }
        let p = resolve(
            "host=h keepalives_idle=32767 keepalives_count=127 tcp_user_timeout=-5",
            &env,
        )
        .unwrap();
        assert_eq!(p.keepalives_idle, Some(Duration::from_secs(32_767)));
        assert_eq!(p.keepalives_count, Some(127));
        assert_eq!(p.tcp_user_timeout, Some(Duration::ZERO));
    }

    #[test]
    fn multiple_hosts_ports_and_sockets() {
        let p = resolve("host=a,/tmp/sock,,b port=1,2,3,4 user=u", &env_of(&[])).unwrap();
        assert_eq!(p.targets.len(), 4);
        assert_eq!(p.targets[2].port, 3, "an empty host takes the default host");
        let p = resolve(
            "postgres://u@a:1,[::1]:2/d?host=a,/tmp/sock&port=1,2",
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(p.targets[1].host, Some(HostKind::Unix("/tmp/sock".into())));
        let p = resolve("postgres://u@a:1,[::1]:2,b/d", &env_of(&[])).unwrap();
        let shown: Vec<String> = p.targets.iter().map(Target::display).collect();
        assert_eq!(shown, vec!["a:1", "[::1]:2", "b:5432"]);
        let p = resolve("host=a,b port=6543 user=u", &env_of(&[])).unwrap();
        assert!(p.targets.iter().all(|t| t.port == 6543));
        let e = resolve("host=a,b,c port=1,2 user=u", &env_of(&[])).unwrap_err();
        assert!(
            e.to_string()
                .contains("could not match 2 port numbers to 3 hosts"),
            "{e}"
        );
        let p = resolve("hostaddr=127.0.0.1 user=u", &env_of(&[])).unwrap();
        assert_eq!(p.targets[0].host, None);
        assert_eq!(p.targets[0].pgpass_host(), "127.0.0.1");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        let e = |s: &str| resolve(s, &env_of(&[])).unwrap_err().to_string();
        assert!(e("user=u sslmode=sometimes").contains("invalid sslmode value"));
        assert!(e("user=u port=99999").contains("invalid port number"));
        assert!(e("user=u connect_timeout=soon").contains("connect_timeout"));
        assert!(e("user=u sslmode=require sslrootcert=system").contains("weak sslmode"));
        let p = resolve("user=u sslrootcert=system", &env_of(&[])).unwrap();
        assert_eq!(p.sslmode, SslMode::VerifyFull);
        let p = resolve("user=u connect_timeout=0", &env_of(&[])).unwrap();
        assert_eq!(p.connect_timeout, None);
    }
}
