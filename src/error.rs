//! Typed errors for the core. Each variant knows its exit code (DESIGN.md section 3)
//! and carries a hint that tells the operator what to do next.

use std::fmt;

/// Exit codes are a contract with scripts: never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Ok = 0,
    Problems = 1,
    Usage = 2,
    Refused = 3,
    Connect = 4,
    Server = 5,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{path}:{line}:{column}: {message}")]
    ConfigSyntax {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("config: {0}")]
    Config(String),
    /// The command needs a server the context does not name.
    #[error("no {what} configured: {hint}")]
    NotConfigured {
        what: &'static str,
        hint: &'static str,
    },
    #[error("refused: {reason}")]
    Refused { reason: String },
    #[error("cannot connect to {target}: {detail}{}", hint_suffix(.hint))]
    Connect {
        target: String,
        detail: String,
        hint: Option<String>,
    },
    #[error("server rejected the operation: {detail}{}", hint_suffix(.hint))]
    Server {
        detail: String,
        hint: Option<String>,
    },
    #[error("not found: {0}")]
    NotFound(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// How to name a Postgres: shared by the error and by `doctor`.
pub const NO_POSTGRES_HINT: &str = "pass --pg URL, set OPSDECK_PG_URL (or PGHOST, PGDATABASE or PGSERVICE), or add pg = \"…\" to the context";

pub const NO_REDIS_HINT: &str =
    "pass --redis URL, set OPSDECK_REDIS_URL or REDIS_URL, or add redis = \"…\" to the context";

fn hint_suffix(hint: &Option<String>) -> String {
    match hint {
        Some(h) => format!(" ({h})"),
        None => String::new(),
    }
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_)
            | Error::ConfigSyntax { .. }
            | Error::Config(_)
            | Error::NotConfigured { .. } => ExitCode::Usage,
            Error::Refused { .. } | Error::Cancelled => ExitCode::Refused,
            Error::Connect { .. } => ExitCode::Connect,
            Error::Server { .. } => ExitCode::Server,
            Error::NotFound(_) => ExitCode::Problems,
            Error::Io { .. } => ExitCode::Usage,
        }
    }

    /// No `--pg`, OPSDECK_PG_URL, context `pg` or libpq variable naming a server.
    pub fn no_postgres() -> Self {
        Error::NotConfigured {
            what: "Postgres",
            hint: NO_POSTGRES_HINT,
        }
    }

    pub fn no_redis() -> Self {
        Error::NotConfigured {
            what: "Redis",
            hint: NO_REDIS_HINT,
        }
    }

    /// Names the server in a connection error raised after connecting, which
    /// only knew it was "postgres" or "redis".
    pub fn at(self, target: &str) -> Self {
        match self {
            Error::Connect {
                target: generic,
                detail,
                hint,
            } if generic == "postgres" || generic == "redis" => Error::Connect {
                target: format!("{generic} {target}"),
                detail,
                hint,
            },
            other => other,
        }
    }

    /// Adds what was done before the error struck, for work that fails
    /// part way (an invalidation that lost its server after N keys).
    pub fn with_progress(self, done: &str) -> Self {
        match self {
            Error::Connect {
                target,
                detail,
                hint,
            } => Error::Connect {
                target,
                detail: format!("{detail}; {done}"),
                hint,
            },
            Error::Server { detail, hint } => Error::Server {
                detail: format!("{detail}; {done}"),
                hint,
            },
            other => other,
        }
    }

    pub fn refused(reason: impl Into<String>) -> Self {
        Error::Refused {
            reason: reason.into(),
        }
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn server(detail: impl fmt::Display) -> Self {
        Error::Server {
            detail: detail.to_string(),
            hint: None,
        }
    }

    /// Turns a tokio-postgres error raised after the connection was up into a
    /// server error with the SQLSTATE-specific advice an operator needs.
    pub fn from_pg(e: tokio_postgres::Error) -> Self {
        if let Some(db) = e.as_db_error() {
            let code = db.code().code();
            let hint = match code {
                "57014" => Some("the statement hit statement_timeout or was cancelled; raise statement_timeout_ms in the context if this is expected".to_string()),
                "55P03" => Some("could not take a lock within lock_timeout; another session holds it: `opsdeck queries locks` shows which, or retry later".to_string()),
                "25006" => Some("the session is read-only; use a context without read_only".to_string()),
                "42501" => Some("the role lacks a privilege for this; connect as a role that has it".to_string()),
                _ => db.hint().map(str::to_string),
            };
            return Error::Server {
                detail: format!("{} (SQLSTATE {code})", db.message()),
                hint,
            };
        }
        if e.is_closed() {
            return Error::Connect {
                target: "postgres".into(),
                detail: "the connection was closed".into(),
                hint: Some("check that the server is up and reachable".into()),
            };
        }
        Error::server(e)
    }

    /// The SQLSTATE of a server error made by [`Error::from_pg`], which
    /// ends its detail with it.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            Error::Server { detail, .. } => detail
                .strip_suffix(')')
                .and_then(|d| d.rsplit_once("(SQLSTATE "))
                .map(|(_, code)| code),
            _ => None,
        }
    }

    pub fn from_redis(e: redis::RedisError) -> Self {
        if e.is_connection_refusal() || e.is_io_error() || e.is_connection_dropped() {
            Error::Connect {
                target: "redis".into(),
                detail: e.to_string(),
                hint: Some("check the redis URL and that the server is up".into()),
            }
        } else if e.kind() == redis::ErrorKind::AuthenticationFailed {
            Error::Connect {
                target: "redis".into(),
                detail: "authentication failed".into(),
                hint: Some("check the ACL user and password in the redis URL".into()),
            }
        } else if e.is_timeout() {
            Error::Server {
                detail: e.to_string(),
                hint: Some("redis did not answer in time".into()),
            }
        } else {
            Error::server(e)
        }
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::from_pg(e)
    }
}

impl From<redis::RedisError> for Error {
    fn from(e: redis::RedisError) -> Self {
        Error::from_redis(e)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
