//! Redis: one node or a Cluster (configured, or detected from `INFO cluster`).
//! Keyed commands go through [`Redis::routed`]; scans and invalidations run on
//! every master through [`Redis::masters`].
//!
//! TLS (`rediss://`) verifies the server against the public web roots, or
//! against a private CA bundle (`redis_ca`) when one is configured; the URL
//! fragment `#insecure` skips verification on the operator's explicit request.

use crate::config::ResolvedContext;
use crate::error::{Error, Result};
use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{
    Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisFuture,
    TlsCertificates, Value,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::CertificateError;
use std::path::Path;
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection that routes by key (cluster) or talks to one node.
#[derive(Clone)]
pub enum Conn {
    Node(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Node(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Node(c) => c.req_packed_commands(cmd, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Node(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// One master node and a connection to it.
#[derive(Clone)]
pub struct Node {
    pub addr: String,
    pub conn: ConnectionManager,
}

#[derive(Clone)]
pub struct Redis {
    /// `host:port/db` (or `cluster host:port`), never with a password.
    pub target: String,
    routed: Conn,
    masters: Vec<Node>,
}

impl Redis {
    pub fn is_cluster(&self) -> bool {
        matches!(self.routed, Conn::Cluster(_))
    }

    /// A connection for keyed commands (GET, UNLINK key, TTL ...).
    pub fn routed(&self) -> Conn {
        self.routed.clone()
    }

    /// Every master node: where SCAN, INFO and DBSIZE must run.
    pub fn masters(&self) -> &[Node] {
        &self.masters
    }
}

pub async fn connect_redis(ctx: &ResolvedContext) -> Result<Redis> {
    let url = ctx.redis.clone().ok_or_else(Error::no_redis)?;
    connect_url_with_ca(&url, ctx.redis_cluster, ctx.redis_ca.as_deref()).await
}

/// Connects with the public web roots for `rediss://` URLs.
pub async fn connect_url(url: &str, cluster: Option<bool>) -> Result<Redis> {
    connect_url_with_ca(url, cluster, None).await
}

/// Connects; a `rediss://` server must present a certificate signed by a CA in
/// the PEM bundle `ca` (when given) instead of the public web roots.
pub async fn connect_url_with_ca(
    url: &str,
    cluster: Option<bool>,
    ca: Option<&Path>,
) -> Result<Redis> {
    let mut info = parse_url(url)?;
    let certs = ca.map(read_ca).transpose()?;
    let seed_addr = addr_string(&info.addr);
    let verified_tls = matches!(
        info.addr,
        ConnectionAddr::TcpTls {
            insecure: false,
            ..
        }
    );
    // Only a verified rediss:// connection has a use for the CA: redis://
    // has no TLS and #insecure checks nothing.
    let certs = certs.filter(|_| verified_tls);
    if let (Some(certs), Some(path)) = (&certs, ca) {
        // The TLS parameters ride in the connection info, so the per-master
        // connections derived from it below verify against the same CA.
        info = redis::Client::build_with_tls(info, certs.clone())
            .map_err(|e| {
                Error::Usage(format!(
                    "the Redis CA file {} cannot be used: {e}",
                    path.display()
                ))
            })?
            .get_connection_info()
            .clone();
    }
    let seed = node(info.clone()).await?;
    let cluster = match cluster {
        Some(c) => c,
        None => {
            let text: String = redis::cmd("INFO")
                .arg("cluster")
                .query_async(&mut seed.conn.clone())
                .await
                .map_err(|e| fail(&seed_addr, e))?;
            text.lines().any(|l| l.trim() == "cluster_enabled:1")
        }
    };
    if !cluster {
        return Ok(Redis {
            target: format!("{seed_addr}/{}", info.redis.db),
            routed: Conn::Node(seed.conn.clone()),
            masters: vec![seed],
        });
    }
    let nodes_text: String = redis::cmd("CLUSTER")
        .arg("NODES")
        .query_async(&mut seed.conn.clone())
        .await
        .map_err(|e| fail(&seed_addr, e))?;
    let mut masters = Vec::new();
    for (host, port) in parse_masters(&nodes_text) {
        let mut ni = info.clone();
        ni.addr = match &info.addr {
            ConnectionAddr::TcpTls {
                insecure,
                tls_params,
                ..
            } => ConnectionAddr::TcpTls {
                host: host.clone(),
                port,
                insecure: *insecure,
                tls_params: tls_params.clone(),
            },
            _ => ConnectionAddr::Tcp(host.clone(), port),
        };
        masters.push(node(ni).await?);
    }
    // The cluster client takes its TLS mode from the seed URL but its CA only
    // from the builder.
    let mut builder = redis::cluster::ClusterClientBuilder::new(vec![info])
        .connection_timeout(CONNECT_TIMEOUT)
        .response_timeout(RESPONSE_TIMEOUT);
    if let Some(certs) = certs {
        builder = builder.certs(certs);
    }
    let client = builder.build().map_err(|e| fail(&seed_addr, e))?;
    let conn = client
        .get_async_connection()
        .await
        .map_err(|e| fail(&seed_addr, e))?;
    Ok(Redis {
        target: format!("cluster {seed_addr} ({} masters)", masters.len()),
        routed: Conn::Cluster(conn),
        masters,
    })
}

async fn node(info: ConnectionInfo) -> Result<Node> {
    let addr = addr_string(&info.addr);
    let client = redis::Client::open(info).map_err(|e| fail(&addr, e))?;
    // The connection manager retries a refused first connection with backoff
    // for minutes; probe once directly so a wrong address fails at once.
    let probe = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(CONNECT_TIMEOUT);
    let mut first = client
        .get_multiplexed_async_connection_with_config(&probe)
        .await
        .map_err(|e| fail(&addr, e))?;
    redis::cmd("PING")
        .query_async::<()>(&mut first)
        .await
        .map_err(|e| fail(&addr, e))?;
    let cfg = ConnectionManagerConfig::new()
        .set_connection_timeout(CONNECT_TIMEOUT)
        .set_response_timeout(RESPONSE_TIMEOUT)
        .set_number_of_retries(2);
    let conn = client
        .get_connection_manager_with_config(cfg)
        .await
        .map_err(|e| fail(&addr, e))?;
    Ok(Node { addr, conn })
}

/// URL schemes the redis crate connects with (valkey ones are aliases).
const SCHEMES: [&str; 7] = [
    "redis",
    "rediss",
    "unix",
    "redis+unix",
    "valkey",
    "valkeys",
    "valkey+unix",
];

const URL_FORMS: &str =
    "redis://[USER:PASSWORD@]HOST[:PORT][/DB], rediss://… for TLS, or unix:///PATH/TO/redis.sock";

/// The URL as connection info, or one readable line naming the forms that
/// work; never the URL itself, which may hold a password.
fn parse_url(url: &str) -> Result<ConnectionInfo> {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    match scheme {
        Some(s) if SCHEMES.contains(&s.as_str()) => url.into_connection_info().map_err(|_| {
            Error::Usage(format!(
                "invalid Redis URL: it does not parse as {URL_FORMS}"
            ))
        }),
        Some(s) => Err(Error::Usage(format!(
            "invalid Redis URL: scheme '{s}://' is not one Redis speaks; use {URL_FORMS}"
        ))),
        None => Err(Error::Usage(format!(
            "invalid Redis URL: no scheme; use {URL_FORMS}"
        ))),
    }
}

fn addr_string(a: &ConnectionAddr) -> String {
    match a {
        ConnectionAddr::Tcp(h, p) => format!("{h}:{p}"),
        ConnectionAddr::TcpTls {
            host,
            port,
            insecure: true,
            ..
        } => format!("{host}:{port} (tls, unverified)"),
        ConnectionAddr::TcpTls { host, port, .. } => format!("{host}:{port} (tls)"),
        ConnectionAddr::Unix(p) => p.display().to_string(),
    }
}

/// Reads the CA bundle; a file that is missing or holds no certificate is a
/// configuration mistake, not a connection failure.
fn read_ca(path: &Path) -> Result<TlsCertificates> {
    let pem = std::fs::read(path).map_err(|e| {
        Error::Usage(format!(
            "cannot read the Redis CA file {}: {e}; fix redis_ca in the context or OPSDECK_REDIS_CA",
            path.display()
        ))
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::Usage(format!(
                "the Redis CA file {} is not valid PEM: {e}",
                path.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(Error::Usage(format!(
            "the Redis CA file {} holds no PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    Ok(TlsCertificates {
        client_tls: None,
        root_cert: Some(pem),
    })
}

/// The rustls error inside a failed connection attempt, if TLS is what failed.
fn tls_error(e: &redis::RedisError) -> Option<&rustls::Error> {
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if let Some(tls) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Some(tls);
            }
        }
        source = err.source();
    }
    None
}

fn tls_fail(addr: &str, e: &rustls::Error) -> Error {
    let hint = match e {
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => "the server certificate does not name this host: connect by a name it lists, or add #insecure to the URL to skip verification",
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => "the server certificate is not signed by a trusted CA: set redis_ca in the context (or OPSDECK_REDIS_CA) to the PEM CA bundle that signs it, or add #insecure to the URL to skip verification",
        rustls::Error::InvalidCertificate(_) => "the server certificate was rejected: check its validity dates and usage, set redis_ca to the CA that signs it, or add #insecure to the URL to skip verification",
        _ => "check that the server speaks TLS on this port (rediss:// needs tls-port), or use redis:// for a plain server",
    };
    Error::Connect {
        target: format!("redis {addr}"),
        detail: format!("TLS handshake failed: {e}"),
        hint: Some(hint.into()),
    }
}

fn fail(addr: &str, e: redis::RedisError) -> Error {
    if let Some(tls) = tls_error(&e) {
        return tls_fail(addr, tls);
    }
    // A port that was reached but hung up or stayed silent is often a scheme
    // mismatch: a TLS-only port drops plain RESP, a plain port never answers
    // a TLS hello. `addr` comes from addr_string, which marks TLS.
    let mismatch = if e.is_connection_refusal() {
        None
    } else if addr.contains("(tls") {
        Some("; if that port does not speak TLS, use redis://")
    } else {
        Some("; if that port speaks only TLS, use rediss://")
    };
    match Error::from_redis(e) {
        Error::Connect { detail, hint, .. } => Error::Connect {
            target: format!("redis {addr}"),
            detail,
            hint: match (hint, mismatch) {
                (Some(h), Some(m)) => Some(format!("{h}{m}")),
                (hint, _) => hint,
            },
        },
        Error::Server { detail, hint } => Error::Connect {
            target: format!("redis {addr}"),
            detail,
            hint: hint.or(Some("check the redis URL, user and password".into())),
        },
        other => other,
    }
}

/// Masters from `CLUSTER NODES`: skips replicas, failed nodes and nodes without slots.
pub fn parse_masters(text: &str) -> Vec<(String, u16)> {
    let mut out = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 8 {
            continue;
        }
        let flags = f[2];
        if !flags.split(',').any(|x| x == "master")
            || flags.contains("fail")
            || flags.contains("noaddr")
        {
            continue;
        }
        if f.len() < 9 {
            continue;
        }
        let addr = f[1].split('@').next().unwrap_or("");
        if let Some((host, port)) = addr.rsplit_once(':') {
            if let Ok(port) = port.parse() {
                out.push((host.trim_matches(['[', ']']).to_string(), port));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn masters_from_cluster_nodes() {
        let text = "\
07c3 127.0.0.1:30004@40004 slave e7d1 0 1426238317239 4 connected
67ed 127.0.0.1:30002@40002 master - 0 1426238316232 2 connected 5461-10922
292f 127.0.0.1:30003@40003 master - 0 1426238318243 3 connected 10923-16383
6ec2 127.0.0.1:30005@40005 master,fail - 0 1426238316232 5 connected 1-2
e7d1 127.0.0.1:30001@40001 myself,master - 0 0 1 connected 0-5460
aaaa 127.0.0.1:30006@40006 master - 0 0 6 connected
";
        let m = super::parse_masters(text);
        assert_eq!(
            m,
            vec![
                ("127.0.0.1".to_string(), 30002),
                ("127.0.0.1".to_string(), 30003),
                ("127.0.0.1".to_string(), 30001)
            ]
        );
    }
}
