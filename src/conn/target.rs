//! The hosts of a connection: TCP names, Unix socket directories and
//! hostaddr IPs, one port each, in libpq's list rules.

use super::conninfo::Settings;
use crate::error::{Error, Result};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Debian's libpq default socket directory.
pub const DEFAULT_SOCKET_DIR: &str = "/var/run/postgresql";
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostKind {
    Tcp(String),
    /// A socket directory; the server's socket is `<dir>/.s.PGSQL.<port>`.
    Unix(PathBuf),
}

/// One host to try.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: Option<HostKind>,
    pub hostaddr: Option<IpAddr>,
    pub port: u16,
}

impl Target {
    pub fn is_unix(&self) -> bool {
        matches!(self.host, Some(HostKind::Unix(_)))
    }

    /// `host:port` (or `/socket/dir:port`) for messages.
    pub fn display(&self) -> String {
        let host = match (&self.host, self.hostaddr) {
            (Some(HostKind::Tcp(h)), _) => h.clone(),
            (Some(HostKind::Unix(d)), _) => d.display().to_string(),
            (None, Some(a)) => a.to_string(),
            (None, None) => "localhost".into(),
        };
        if host.contains(':') {
            format!("[{host}]:{}", self.port)
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// The host field pgpass lines are matched against (libpq's rule: the
    /// host, else the hostaddr, and `localhost` for the default socket dir).
    pub fn pgpass_host(&self) -> String {
        match (&self.host, self.hostaddr) {
            (Some(HostKind::Unix(d)), _) if d == Path::new(DEFAULT_SOCKET_DIR) => {
                "localhost".into()
            }
            (Some(HostKind::Unix(d)), _) => d.display().to_string(),
            (Some(HostKind::Tcp(h)), _) => h.clone(),
            (None, Some(a)) => a.to_string(),
            (None, None) => "localhost".into(),
        }
    }
}

/// The hosts to try, from host, hostaddr and port (comma-separated lists,
/// one port for all or one per host; empty entries take the default).
pub fn parse(s: &Settings) -> Result<Vec<Target>> {
    let split = |k: &str| -> Vec<String> {
        s.get(k)
            .filter(|v| !v.is_empty())
            .map(|v| v.split(',').map(|p| p.trim().to_string()).collect())
            .unwrap_or_default()
    };
    let hosts = split("host");
    let addrs = split("hostaddr");
    let ports = split("port");
    if !hosts.is_empty() && !addrs.is_empty() && hosts.len() != addrs.len() {
        return Err(Error::Usage(format!(
            "could not match {} host names to {} hostaddr values",
            hosts.len(),
            addrs.len()
        )));
    }
    let n = hosts.len().max(addrs.len()).max(1);
    if ports.len() > 1 && ports.len() != n {
        return Err(Error::Usage(format!(
            "could not match {} port numbers to {n} hosts",
            ports.len()
        )));
    }
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let host = hosts.get(i).filter(|h| !h.is_empty());
        let hostaddr = match addrs.get(i).filter(|a| !a.is_empty()) {
            Some(a) => Some(a.parse::<IpAddr>().map_err(|_| {
                Error::Usage(format!(
                    "could not parse network address \"{a}\" (hostaddr takes an IP address)"
                ))
            })?),
            None => None,
        };
        let port = match ports.get(i).or(if ports.len() == 1 {
            ports.first()
        } else {
            None
        }) {
            Some(p) if !p.is_empty() => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| Error::Usage(format!("invalid port number: \"{p}\"")))?,
            _ => 5432,
        };
        let host = match host {
            Some(h) if h.starts_with('/') => Some(HostKind::Unix(PathBuf::from(h))),
            Some(h) if h.starts_with('@') => {
                return Err(Error::Usage(format!(
                    "host \"{h}\": abstract Unix sockets are not supported; use a socket directory or a TCP host"
                )))
            }
            Some(h) => Some(HostKind::Tcp(h.clone())),
            None if hostaddr.is_some() => None,
            None if Path::new(DEFAULT_SOCKET_DIR).is_dir() => {
                Some(HostKind::Unix(PathBuf::from(DEFAULT_SOCKET_DIR)))
            }
            None => Some(HostKind::Tcp("localhost".into())),
        };
        out.push(Target {
            host,
            hostaddr,
            port,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_host_for_the_default_socket_dir_is_localhost() {
        let t = Target {
            host: Some(HostKind::Unix(DEFAULT_SOCKET_DIR.into())),
            hostaddr: None,
            port: 5432,
        };
        assert_eq!(t.pgpass_host(), "localhost");
        let t = Target {
            host: Some(HostKind::Unix("/tmp".into())),
            ..t
        };
        assert_eq!(t.pgpass_host(), "/tmp");
    }
}
