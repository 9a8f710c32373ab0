//! A Postgres session opened the way opsdeck needs it: application_name,
//! statement/lock/idle timeouts and, for read-only contexts,
//! default_transaction_read_only, all set in the startup packet.

use crate::config::ResolvedContext;
use crate::error::{Error, Result};
use std::time::Duration;
use tokio_postgres::{CancelToken, Client, NoTls};

/// Per-session settings derived from the context.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub application_name: String,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    pub read_only: bool,
}

impl SessionSettings {
    pub fn for_context(ctx: &ResolvedContext) -> SessionSettings {
        SessionSettings {
            application_name: format!("opsdeck/{}", ctx.name),
            statement_timeout: ctx.statement_timeout,
            lock_timeout: ctx.lock_timeout,
            idle_in_transaction_timeout: ctx.idle_in_transaction_timeout,
            read_only: ctx.read_only,
        }
    }

    /// The `options` startup parameter carrying the GUCs.
    pub fn options(&self) -> String {
        let mut o = format!(
            "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={}",
            self.statement_timeout.as_millis(),
            self.lock_timeout.as_millis(),
            self.idle_in_transaction_timeout.as_millis()
        );
        if self.read_only {
            o.push_str(" -c default_transaction_read_only=on");
        }
        o
    }
}

/// An open session plus what the UI shows about it.
pub struct Pg {
    client: Client,
    cancel: CancelToken,
    /// `user@host:port/db`, never with a password.
    pub target: String,
    pub server_version: String,
    pub role: String,
}

impl Pg {
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }
}

/// Connects for a context. `spec` resolution follows libpq (URL or conninfo,
/// then PG* env vars, service file and pgpass).
pub async fn connect_pg(ctx: &ResolvedContext) -> Result<Pg> {
    let spec = ctx.pg.clone().unwrap_or_default();
    let mut cfg: tokio_postgres::Config = if spec.is_empty() {
        tokio_postgres::Config::new()
    } else {
        spec.parse()
            .map_err(|e| Error::Usage(format!("invalid Postgres connection string: {e}")))?
    };
    let session = SessionSettings::for_context(ctx);
    cfg.application_name(&session.application_name);
    cfg.options(session.options());
    if cfg.get_connect_timeout().is_none() {
        cfg.connect_timeout(Duration::from_secs(10));
    }
    let target = describe(&cfg);
    let (client, connection) = cfg
        .connect(NoTls)
        .await
        .map_err(|e| connect_error(&target, e))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!("postgres connection ended: {e}");
        }
    });
    let cancel = client.cancel_token();
    let row = client
        .query_one(
            "SELECT current_setting('server_version'), current_user::text",
            &[],
        )
        .await?;
    Ok(Pg {
        server_version: row.get(0),
        role: row.get(1),
        client,
        cancel,
        target,
    })
}

fn describe(cfg: &tokio_postgres::Config) -> String {
    let host = cfg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(s) => s.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        cfg.get_user().unwrap_or("?"),
        cfg.get_dbname().unwrap_or("?")
    )
}

/// One line: where, what failed, what to try.
pub fn connect_error(target: &str, e: tokio_postgres::Error) -> Error {
    let (detail, hint) = if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        let hint = match code {
            "28P01" | "28000" => {
                "check the password (pgpass, PGPASSWORD, password_command or `opsdeck login`)"
            }
            "3D000" => "the database does not exist; check the dbname",
            "53300" => "the server has no free connection slots",
            _ => "see the server log for details",
        };
        (db.message().to_string(), hint)
    } else {
        let msg = std::error::Error::source(&e)
            .map(|s| s.to_string())
            .unwrap_or_else(|| e.to_string());
        (
            msg,
            "check that the server is running and accepts TCP connections on that host and port",
        )
    };
    Error::Connect {
        target: format!("postgres {target}"),
        detail,
        hint: Some(hint.to_string()),
    }
}
