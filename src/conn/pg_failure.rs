//! Why a connection failed, in one line with what to do: the SQLSTATEs and
//! client errors people meet (passwords, pg_hba, TLS, sockets, poolers).

use super::credentials::{self, Source};
use super::params::{ConnParams, SslMode};
use super::target::{HostKind, Target};
use super::tls::Check;
use crate::error::Error;
use std::time::Duration;

/// Why one host failed.
pub(super) enum Failed {
    Pg(tokio_postgres::Error),
    Timeout(Duration),
}

/// PgBouncer's answer to a startup parameter it does not pass on (its
/// default refuses `options`, which a direct connection uses for the limits).
pub(super) fn refused_startup_options(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| d.message().starts_with("unsupported startup parameter"))
}

/// One error line for all hosts tried.
pub(super) fn failure(
    p: &ConnParams,
    context: &str,
    check: Option<&Check>,
    failures: Vec<(Target, Failed, Option<Source>)>,
) -> Error {
    let hosts: Vec<String> = failures.iter().map(|(t, _, _)| t.display()).collect();
    let target = format!("postgres {}@{}/{}", p.user, hosts.join(","), p.dbname);
    let many = failures.len() > 1;
    let mut details = Vec::new();
    let mut hint = None;
    for (t, failed, source) in &failures {
        let why = Why {
            target: Some(t),
            sslmode: p.sslmode,
            passfile: p.passfile.as_deref(),
            context,
            check,
            source: source.as_ref(),
        };
        let (detail, h) = why.explain(failed);
        details.push(if many {
            format!("{}: {detail}", t.display())
        } else {
            detail
        });
        hint = Some(h);
    }
    Error::Connect {
        target,
        detail: details.join("; "),
        hint,
    }
}

/// What an explanation needs to know besides the error.
struct Why<'a> {
    target: Option<&'a Target>,
    sslmode: SslMode,
    passfile: Option<&'a std::path::Path>,
    context: &'a str,
    check: Option<&'a Check>,
    source: Option<&'a Source>,
}

impl Why<'_> {
    fn explain(&self, failed: &Failed) -> (String, String) {
        let e = match failed {
            Failed::Timeout(d) => {
                return (
                    format!("no answer within connect_timeout ({} s)", d.as_secs()),
                    "check the host, port and firewall; raise connect_timeout if the server is just slow".into(),
                )
            }
            Failed::Pg(e) => e,
        };
        if let Some(db) = e.as_db_error() {
            let hint = match db.code().code() {
                "28P01" => match self.source {
                    Some(s) => format!("the password came from {s}; opsdeck looks in order at: {}", credentials::ORDER),
                    None => format!("no password was found; opsdeck looks in order at: {}", credentials::ORDER),
                },
                "28000" if !db.message().contains("pg_hba.conf") => {
                    "check the user name: user= in the spec, or PGUSER".into()
                }
                "28000" => format!(
                    "the server's pg_hba.conf does not admit this host, user and database with sslmode={}; ask the DBA, or try another sslmode",
                    self.sslmode.as_str()
                ),
                "3D000" => "the database does not exist; check dbname".into(),
                "53300" => "the server has no free connection slots; retry later or ask the DBA".into(),
                "57P03" => "the server is starting up or shutting down; retry shortly".into(),
                _ => db.hint().unwrap_or("see the server log for details").to_string(),
            };
            return (db.message().to_string(), hint);
        }
        let text = e.to_string();
        let cause = std::error::Error::source(e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| text.clone());
        if cause.contains("password missing") {
            return (
                "the server asks for a password and none was found".into(),
                format!(
                    "store one with `opsdeck login {}`, or set password_command, PGPASSWORD or a line in {}; opsdeck looks in order at: {}",
                    self.context,
                    self.passfile
                        .map_or_else(|| "~/.pgpass".into(), |f| f.display().to_string()),
                    credentials::ORDER
                ),
            );
        }
        if text.starts_with("error performing TLS handshake") {
            return (format!("TLS failed: {cause}"), self.tls_hint(&cause));
        }
        let hint = match self.target.map(|t| (&t.host, t.port)) {
            Some((Some(HostKind::Unix(dir)), port)) => format!(
                "check that the server runs on this machine with a socket in {} (unix_socket_directories) for port {port}",
                dir.display()
            ),
            _ => "check that the server is running and accepts TCP connections on that host and port".into(),
        };
        (cause, hint)
    }

    fn tls_hint(&self, cause: &str) -> String {
        let mode = self.sslmode.as_str();
        if cause.contains("does not support TLS") {
            return format!(
                "sslmode={mode} needs TLS but the server has ssl=off; use sslmode=prefer or disable, or enable ssl on the server"
            );
        }
        match self.check {
            Some(Check::Full(root)) => format!(
                "sslmode={mode} with sslrootcert {root}: the certificate must chain to that root and name the host \"{}\"; connect by the name in the certificate, or use sslmode=verify-ca to skip the host name check",
                self.target.map(Target::pgpass_host).unwrap_or_default()
            ),
            Some(Check::Chain(root)) => format!(
                "sslmode={mode} with sslrootcert {root}: the server certificate does not chain to that root; check sslrootcert"
            ),
            _ => format!("sslmode={mode}: check that the server speaks TLS on this port"),
        }
    }
}

/// One line for a connection error when only the target text is known.
pub fn connect_error(target: &str, e: tokio_postgres::Error) -> Error {
    let why = Why {
        target: None,
        sslmode: SslMode::Prefer,
        passfile: None,
        context: "CONTEXT",
        check: None,
        source: None,
    };
    let (detail, hint) = why.explain(&Failed::Pg(e));
    Error::Connect {
        target: format!("postgres {target}"),
        detail,
        hint: Some(hint),
    }
}
