//! A Postgres session opened the way libpq would open it (spec, service file,
//! PG* env, pgpass, sslmode), under opsdeck's limits (see [`super::limits`]):
//! sent at startup on a direct connection, per transaction behind a pooler
//! or wherever the server turned the startup options down.

pub use super::cancel::PgCancel;
use super::caps::Caps;
use super::credentials::{self, Password, Source, Sources};
use super::limits::{Pooler, SessionSettings};
use super::params::{self, ConnParams, Env, SslMode};
pub use super::pg_failure::connect_error;
use super::pg_failure::{failure, refused_startup_options, Failed};
use super::pgpass;
use super::statements::begin_for;
use super::target::{HostKind, Target};
use super::tls::Tls;
use crate::config::ResolvedContext;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use tokio_postgres::config::SslMode as WireSsl;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{CancelToken, Client, NoTls, Socket};

/// Where a session's limits come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limits {
    /// Sent once in the startup packet's `options`, and verified.
    Startup,
    /// `SET LOCAL` at the start of every transaction, and why.
    PerTransaction(PerTransaction),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerTransaction {
    /// The context says `pooler = "transaction"`.
    Configured,
    /// The server refused the `options` startup parameter (PgBouncer's default).
    OptionsRefused,
    /// The server accepted `options` but the limits did not apply
    /// (PgBouncer's `ignore_startup_parameters = options`).
    OptionsIgnored,
}

impl Limits {
    /// What `doctor` and the warnings say about it.
    pub fn describe(&self) -> &'static str {
        match self {
            Limits::Startup => "set at connect (startup options)",
            Limits::PerTransaction(PerTransaction::Configured) => {
                "set in every transaction (pooler = \"transaction\")"
            }
            Limits::PerTransaction(PerTransaction::OptionsRefused) => {
                "set in every transaction: the server refused startup options, as a transaction pooler does"
            }
            Limits::PerTransaction(PerTransaction::OptionsIgnored) => {
                "set in every transaction: the server ignored the startup options, as a pooler with ignore_startup_parameters does"
            }
        }
    }
}

/// An open session plus what the UI shows about it.
pub struct Pg {
    pub(super) client: Client,
    cancel: CancelToken,
    /// The TLS connector the session was opened with (None: plain), which a
    /// cancel request must use too.
    tls: Option<Tls>,
    /// The host that answered, where a cancel request goes.
    host: Target,
    pub(super) settings: SessionSettings,
    pub limits: Limits,
    /// How each transaction opens under `limits` (see `statements::begin_for`).
    pub(super) begin: String,
    /// `user@host:port/db` of the host that answered, never with a password.
    pub target: String,
    pub server_version: String,
    /// What the server can do (version, extension versions).
    pub caps: Caps,
    pub role: String,
    /// Where the password came from (None: the server asked for none).
    pub password_source: Option<Source>,
}

impl Pg {
    /// What cancels the query this session runs, from outside it.
    pub fn canceller(&self) -> PgCancel {
        PgCancel::new(
            self.cancel.clone(),
            self.tls.clone(),
            self.host.clone(),
            self.target.clone(),
        )
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The limits this session runs under.
    pub fn settings(&self) -> &SessionSettings {
        &self.settings
    }
}

/// Connects for a context, resolving the spec the libpq way against the
/// process environment.
pub async fn connect_pg(ctx: &ResolvedContext) -> Result<Pg> {
    connect_pg_with(ctx, &params::process_env).await
}

/// libpq variables that name a server, database, service or role.
const NAMING: [&str; 6] = [
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGSERVICE",
];

/// Whether a Postgres is configured: a spec (`--pg`, OPSDECK_PG_URL, the
/// context's `pg`) or a libpq variable naming one. libpq's bare defaults (the
/// local socket as the OS user) are not a choice anyone made, so without
/// either every Postgres command stops with [`Error::no_postgres`] instead
/// of connecting to whatever answers there.
pub fn configured(ctx: &ResolvedContext, env: Env<'_>) -> bool {
    ctx.pg.as_deref().is_some_and(|s| !s.trim().is_empty())
        || NAMING.iter().any(|k| env(k).is_some())
}

/// [`connect_pg`] with an injected environment (tests, and callers that
/// resolve for another user's env).
pub async fn connect_pg_with(ctx: &ResolvedContext, env: Env<'_>) -> Result<Pg> {
    if !configured(ctx, env) {
        return Err(Error::no_postgres());
    }
    let p = params::resolve(ctx.pg.as_deref().unwrap_or(""), env)?;
    // Unix sockets never use TLS, so a socket-only spec needs no certificates (as libpq).
    let tls = if p.targets.iter().any(|t| !t.is_unix()) {
        Tls::for_params(&p)?
    } else {
        None
    };
    let common = credentials::resolve(
        Sources {
            context: &ctx.name,
            spec: p.password.clone(),
            command: ctx.password_command.as_deref(),
            env: p.env_password.clone(),
        },
        credentials::keyring_get,
    )
    .await
    .map_err(|e| {
        let hosts: Vec<String> = p.targets.iter().map(Target::display).collect();
        e.at(&format!("{}@{}/{}", p.user, hosts.join(","), p.dbname))
    })?;
    let session = SessionSettings::for_context(ctx).with_spec_options(p.options.as_deref())?;
    for o in &session.overridden {
        tracing::warn!("the connection's options set {o}; opsdeck overrides it");
    }
    let mut targets = p.targets.clone();
    if p.load_balance {
        targets.shuffle(&mut rand::thread_rng());
    }
    let configured = match ctx.pooler {
        Pooler::Transaction => Limits::PerTransaction(PerTransaction::Configured),
        Pooler::None => Limits::Startup,
    };
    let mut failures = Vec::new();
    for t in &targets {
        let password = common.clone().or_else(|| pgpass_password(&p, t));
        let mut limits = configured;
        let mut opened = attempt(
            &config_for(&p, t, &session, limits, password.as_ref()),
            &p,
            t,
            tls.as_ref(),
        )
        .await;
        if matches!(&opened, Err(Failed::Pg(e)) if limits == Limits::Startup && refused_startup_options(e))
        {
            limits = Limits::PerTransaction(PerTransaction::OptionsRefused);
            tracing::warn!(
                "postgres {} refused startup options (a transaction pooler such as PgBouncer?): limits are set in every transaction instead; set pooler = \"transaction\" in [contexts.{}] to skip this retry",
                t.display(),
                ctx.name
            );
            opened = attempt(
                &config_for(&p, t, &session, limits, password.as_ref()),
                &p,
                t,
                tls.as_ref(),
            )
            .await;
        }
        match opened {
            Ok((client, used)) => {
                let pg = Pg {
                    cancel: client.cancel_token(),
                    client,
                    tls: used,
                    host: t.clone(),
                    begin: begin_for(limits, &session)?,
                    settings: session,
                    limits,
                    target: describe(&p, t),
                    server_version: String::new(),
                    caps: Caps {
                        version_num: 0,
                        stat_statements: None,
                    },
                    role: String::new(),
                    password_source: password.map(|pw| pw.source),
                };
                return finish(pg, &ctx.name).await;
            }
            Err(e) => failures.push((t.clone(), e, password.map(|pw| pw.source))),
        }
    }
    Err(failure(
        &p,
        &ctx.name,
        tls.as_ref().map(|t| &t.check),
        failures,
    ))
}

fn pgpass_password(p: &ConnParams, t: &Target) -> Option<Password> {
    let path = p.passfile.as_ref()?;
    let host = t.pgpass_host();
    let port = t.port.to_string();
    credentials::from_pgpass(
        path,
        pgpass::Key {
            host: &host,
            port: &port,
            dbname: &p.dbname,
            user: &p.user,
        },
    )
}

fn config_for(
    p: &ConnParams,
    t: &Target,
    session: &SessionSettings,
    limits: Limits,
    password: Option<&Password>,
) -> tokio_postgres::Config {
    let mut cfg = tokio_postgres::Config::new();
    cfg.user(&p.user).dbname(&p.dbname).port(t.port);
    match (&t.host, t.hostaddr) {
        (Some(HostKind::Tcp(h)), _) => {
            cfg.host(h);
        }
        (Some(HostKind::Unix(dir)), _) => {
            cfg.host_path(dir);
        }
        // A bare hostaddr doubles as the TLS name, as libpq checks it then.
        (None, Some(a)) => {
            cfg.host(a.to_string());
        }
        (None, None) => {
            cfg.host("localhost");
        }
    }
    if let Some(a) = t.hostaddr {
        cfg.hostaddr(a);
    }
    if let Some(pw) = password {
        cfg.password(pw.secret.expose());
    }
    cfg.application_name(
        p.application_name
            .as_deref()
            .or(p.fallback_application_name.as_deref())
            .unwrap_or(&session.application_name),
    );
    // The spec's own options are folded into the session settings (see
    // SessionSettings::with_spec_options); behind a pooler none are sent.
    if limits == Limits::Startup {
        cfg.options(session.options());
    }
    if let Some(ct) = p.connect_timeout {
        cfg.connect_timeout(ct);
    }
    cfg.target_session_attrs(p.target_session_attrs)
        .channel_binding(p.channel_binding)
        .keepalives(p.keepalives);
    if let Some(d) = p.keepalives_idle {
        cfg.keepalives_idle(d);
    }
    if let Some(d) = p.keepalives_interval {
        cfg.keepalives_interval(d);
    }
    if let Some(n) = p.keepalives_count {
        cfg.keepalives_retries(n);
    }
    if let Some(d) = p.tcp_user_timeout {
        cfg.tcp_user_timeout(d);
    }
    if p.ssl_direct {
        cfg.ssl_negotiation(tokio_postgres::config::SslNegotiation::Direct);
    }
    cfg
}

/// One host, with libpq's sslmode behaviour; the whole attempt (TCP, TLS,
/// authentication) is bounded by connect_timeout, as in libpq. Gives the
/// TLS connector the session may use (None when it was opened plain).
async fn attempt(
    cfg: &tokio_postgres::Config,
    p: &ConnParams,
    t: &Target,
    tls: Option<&Tls>,
) -> std::result::Result<(Client, Option<Tls>), Failed> {
    // libpq never uses TLS on Unix sockets, whatever sslmode says.
    let mode = if t.is_unix() {
        SslMode::Disable
    } else {
        p.sslmode
    };
    let with = |tls: &Tls| {
        let tls = tls.clone();
        move |c: Client| (c, Some(tls))
    };
    let plain = |c: Client| (c, None);
    let fut = async {
        match (mode, tls) {
            (SslMode::Disable, _) | (_, None) => {
                open(cfg, WireSsl::Disable, NoTls).await.map(plain)
            }
            (SslMode::Allow, Some(tls)) => match open(cfg, WireSsl::Disable, NoTls).await {
                // The server refused a plain session (pg_hba hostssl): try TLS.
                Err(e) if e.as_db_error().is_some_and(|d| d.code().code() == "28000") => {
                    open(cfg, WireSsl::Require, tls.clone())
                        .await
                        .map(with(tls))
                }
                other => other.map(plain),
            },
            (SslMode::Prefer, Some(tls)) => {
                open(cfg, WireSsl::Prefer, tls.clone()).await.map(with(tls))
            }
            (_, Some(tls)) => open(cfg, WireSsl::Require, tls.clone())
                .await
                .map(with(tls)),
        }
    };
    match p.connect_timeout {
        Some(limit) => match tokio::time::timeout(limit, fut).await {
            Ok(r) => r.map_err(Failed::Pg),
            Err(_) => Err(Failed::Timeout(limit)),
        },
        None => fut.await.map_err(Failed::Pg),
    }
}

async fn open<T>(
    cfg: &tokio_postgres::Config,
    ssl: WireSsl,
    tls: T,
) -> std::result::Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket> + Send + 'static,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let mut cfg = cfg.clone();
    cfg.ssl_mode(ssl);
    let (client, connection) = cfg.connect(tls).await?;
    tokio::spawn(async move {
        // Debug, not a warning: the statement that needed the connection
        // fails with the error and says so once; a second line on stderr,
        // racing with that one, would only repeat it.
        if let Err(e) = connection.await {
            tracing::debug!("postgres connection ended: {e}");
        }
    });
    Ok(client)
}

/// Reads what the UI shows about the session and checks that the limits
/// really apply: a pooler that drops startup options silently would leave
/// every statement unbounded, so then they are set per transaction.
async fn finish(mut pg: Pg, context: &str) -> Result<Pg> {
    let row = pg
        .row(
            "SELECT current_setting('server_version'), current_user::text,
                    (SELECT setting FROM pg_settings WHERE name = 'statement_timeout'),
                    (SELECT setting FROM pg_settings WHERE name = 'lock_timeout'),
                    current_setting('server_version_num')::int,
                    (SELECT extversion FROM pg_extension WHERE extname = 'pg_stat_statements')",
            &[],
        )
        .await?;
    pg.server_version = row.get(0);
    pg.role = row.get(1);
    pg.caps = Caps {
        version_num: row.get::<_, i32>(4).max(0) as u32,
        stat_statements: row.get(5),
    };
    let applied = pg
        .settings
        .expected()
        .iter()
        .zip([row.get::<_, String>(2), row.get::<_, String>(3)])
        .all(|((_, want), got)| got == want.to_string());
    if !applied {
        if pg.limits != Limits::Startup {
            return Err(Error::server(format!(
                "postgres {} did not apply statement_timeout and lock_timeout even with SET LOCAL; opsdeck will not run without them",
                pg.target
            )));
        }
        pg.limits = Limits::PerTransaction(PerTransaction::OptionsIgnored);
        pg.begin = begin_for(pg.limits, &pg.settings)?;
        tracing::warn!(
            "postgres {} ignored the startup options (a pooler with ignore_startup_parameters = options?): limits are set in every transaction instead; set pooler = \"transaction\" in [contexts.{context}] to say so",
            pg.target
        );
    }
    Ok(pg)
}

fn describe(p: &ConnParams, t: &Target) -> String {
    format!("{}@{}/{}", p.user, t.display(), p.dbname)
}
