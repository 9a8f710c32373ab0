//! A Postgres session opened the way libpq would open it (spec, service file,
//! PG* env, pgpass, sslmode), plus what opsdeck needs on every session:
//! application_name, statement/lock/idle timeouts and, for read-only
//! contexts, default_transaction_read_only, all set in the startup packet.

use super::credentials::{self, Password, Source, Sources};
use super::params::{self, ConnParams, Env, SslMode};
use super::pgpass;
use super::target::{HostKind, Target};
use super::tls::{Check, Tls};
use crate::config::ResolvedContext;
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use std::time::Duration;
use tokio_postgres::config::SslMode as WireSsl;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{CancelToken, Client, NoTls, Row, Socket};

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
        // TimeZone=UTC: timestamps without time zone are read as UTC and every
        // timestamp opsdeck prints is RFC 3339 UTC, whatever the server's zone.
        let mut o = format!(
            "-c statement_timeout={} -c lock_timeout={} -c idle_in_transaction_session_timeout={} -c TimeZone=UTC",
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
    /// The TLS connector the session was opened with (None: plain), which a
    /// cancel request must use too.
    tls: Option<Tls>,
    /// `user@host:port/db` of the host that answered, never with a password.
    pub target: String,
    pub server_version: String,
    pub role: String,
    /// Where the password came from (None: the server asked for none).
    pub password_source: Option<Source>,
}

impl Pg {
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn cancel_token(&self) -> CancelToken {
        self.cancel.clone()
    }

    /// What cancels the query this session runs, from outside it.
    pub fn canceller(&self) -> PgCancel {
        PgCancel {
            token: self.cancel.clone(),
            tls: self.tls.clone(),
            target: self.target.clone(),
        }
    }

    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Runs `sql` with text parameters (`$n` is text: cast it in the SQL) as
    /// one unnamed statement: one round trip where a prepared statement
    /// takes two, which over a 50 ms VPN is the difference that counts.
    pub async fn rows(&self, sql: &str, params: &[&str]) -> Result<Vec<Row>> {
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
            .iter()
            .map(|p| (p as &(dyn ToSql + Sync), Type::TEXT))
            .collect();
        Ok(self.client.query_typed(sql, &typed).await?)
    }

    /// [`Pg::rows`] for at most one row.
    pub async fn row_opt(&self, sql: &str, params: &[&str]) -> Result<Option<Row>> {
        Ok(self.rows(sql, params).await?.into_iter().next())
    }

    /// [`Pg::rows`] for exactly one row (a statement that always returns one).
    pub async fn row(&self, sql: &str, params: &[&str]) -> Result<Row> {
        self.row_opt(sql, params)
            .await?
            .ok_or_else(|| Error::server(format!("the server returned no row for: {sql}")))
    }
}

/// Cancels whatever query one session runs at that moment, the way libpq's
/// PQcancel does: a cancel request on a new connection to the same host,
/// over TLS when the session used TLS (sslmode=require refuses a plain one).
#[derive(Clone)]
pub struct PgCancel {
    token: CancelToken,
    tls: Option<Tls>,
    /// `user@host:port/db` of the session, for messages.
    pub target: String,
}

impl PgCancel {
    /// Sends the cancel request. The server does not answer it, so success
    /// means it was delivered; cancelling an idle or ended session does nothing.
    pub async fn cancel(&self) -> Result<()> {
        let sent = match &self.tls {
            Some(tls) => self.token.cancel_query(tls.clone()).await,
            None => self.token.cancel_query(NoTls).await,
        };
        sent.map_err(|e| connect_error(&self.target, e))
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
    let session = SessionSettings::for_context(ctx);
    let mut targets = p.targets.clone();
    if p.load_balance {
        targets.shuffle(&mut rand::thread_rng());
    }
    let mut failures = Vec::new();
    for t in &targets {
        let password = common.clone().or_else(|| pgpass_password(&p, t));
        let cfg = config_for(&p, t, &session, password.as_ref());
        match attempt(&cfg, &p, t, tls.as_ref()).await {
            Ok((client, used)) => {
                return finish(client, used, describe(&p, t), password.map(|pw| pw.source)).await
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
    // The context's settings come last so they win over `-c` in the spec:
    // a read-only context must stay read-only whatever the URL says.
    cfg.options(match &p.options {
        Some(o) => format!("{o} {}", session.options()),
        None => session.options(),
    });
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

/// Why one host failed.
enum Failed {
    Pg(tokio_postgres::Error),
    Timeout(Duration),
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
        if let Err(e) = connection.await {
            tracing::warn!("postgres connection ended: {e}");
        }
    });
    Ok(client)
}

async fn finish(
    client: Client,
    tls: Option<Tls>,
    target: String,
    password_source: Option<Source>,
) -> Result<Pg> {
    let cancel = client.cancel_token();
    // Unnamed, like Pg::rows: one round trip on every connect.
    let row = client
        .query_typed_one(
            "SELECT current_setting('server_version'), current_user::text",
            &[],
        )
        .await?;
    Ok(Pg {
        server_version: row.get(0),
        role: row.get(1),
        client,
        cancel,
        tls,
        target,
        password_source,
    })
}

fn describe(p: &ConnParams, t: &Target) -> String {
    format!("{}@{}/{}", p.user, t.display(), p.dbname)
}

/// One error line for all hosts tried.
fn failure(
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
