//! A throwaway redis-server: a child process on a free port with persistence
//! off, killed and its directory removed on drop. Opt-in TLS mode serves
//! `rediss://` with a certificate from a private CA made for the sandbox.

use super::dirs::{self, Kind, Owner};
use crate::error::{Error, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PORT_ATTEMPTS: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// Long enough for any test run or demo, short enough that a leaked key is useless.
const CERT_DAYS: &str = "7";

/// A private CA and a server certificate it signs for 127.0.0.1 and localhost;
/// the certificate is good for client auth too, which a TLS cluster bus needs.
#[derive(Debug, Clone)]
struct TlsFiles {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    /// Makes the CA and the server certificate in `dir` with the openssl CLI.
    fn generate(dir: &Path) -> Result<TlsFiles> {
        let files = TlsFiles {
            ca: dir.join("ca.crt"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        };
        let ca_key = dir.join("ca.key");
        let csr = dir.join("server.csr");
        let ext = dir.join("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName = IP:127.0.0.1, DNS:localhost\n\
             basicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature, keyEncipherment\n\
             extendedKeyUsage = serverAuth, clientAuth\n",
        )
        .map_err(|e| Error::io(format!("cannot write {}", ext.display()), e))?;
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        openssl(
            Command::new("openssl")
                .args(["req", "-x509"])
                .args(ec)
                .arg("-keyout")
                .arg(&ca_key)
                .arg("-out")
                .arg(&files.ca)
                .args(["-days", CERT_DAYS, "-subj", "/CN=opsdeck sandbox CA"])
                .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]),
        )?;
        openssl(
            Command::new("openssl")
                .args(["req", "-new"])
                .args(ec)
                .arg("-keyout")
                .arg(&files.key)
                .arg("-out")
                .arg(&csr)
                .args(["-subj", "/CN=127.0.0.1"]),
        )?;
        openssl(
            Command::new("openssl")
                .args(["x509", "-req", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(&files.ca)
                .arg("-CAkey")
                .arg(&ca_key)
                .args(["-CAcreateserial", "-days", CERT_DAYS, "-out"])
                .arg(&files.cert)
                .arg("-extfile")
                .arg(&ext),
        )?;
        Ok(files)
    }

    /// redis-server arguments: TLS only on `port`, clients need no certificate.
    fn server_args(&self, port: u16) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = ["--port", "0", "--tls-port"]
            .iter()
            .map(Into::into)
            .collect();
        args.push(port.to_string().into());
        for (flag, path) in [
            ("--tls-cert-file", &self.cert),
            ("--tls-key-file", &self.key),
            ("--tls-ca-cert-file", &self.ca),
        ] {
            args.push(flag.into());
            args.push(path.into());
        }
        args.extend(["--tls-auth-clients", "no"].iter().map(Into::into));
        args
    }
}

fn openssl(cmd: &mut Command) -> Result<()> {
    let out = cmd.stdin(Stdio::null()).output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::Usage(
                "openssl not found on PATH; install it with `apt-get install openssl`".into(),
            )
        } else {
            Error::io("cannot run openssl", e)
        }
    })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Server {
        detail: format!(
            "openssl could not make the sandbox certificates: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        hint: None,
    })
}

/// The server program: OPSDECK_REDIS_SERVER (a redis-server or
/// valkey-server binary) or redis-server from PATH.
fn program() -> PathBuf {
    std::env::var_os("OPSDECK_REDIS_SERVER")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("redis-server"))
}

/// One redis-server child process.
#[derive(Debug)]
pub(super) struct Server {
    pub port: u16,
    child: Child,
    tls: Option<TlsFiles>,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        format!("{scheme}://127.0.0.1:{}/0", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts redis-server in `dir` with `extra` arguments, on a free port
    /// (and a free cluster bus port when `bus` is set), and waits for PING.
    pub async fn spawn(dir: &Path, bus: bool, extra: &[&str]) -> Result<Server> {
        Server::spawn_with(&program(), dir, bus, extra, None).await
    }

    /// As [`Server::spawn`]; with `tls` the port speaks only TLS.
    async fn spawn_with(
        program: &Path,
        dir: &Path,
        bus: bool,
        extra: &[&str],
        tls: Option<&TlsFiles>,
    ) -> Result<Server> {
        let log = dir.join("log");
        for _ in 0..PORT_ATTEMPTS {
            let port = dirs::free_port()?;
            let mut cmd = Command::new(program);
            match tls {
                Some(files) => cmd.args(files.server_args(port)),
                None => cmd.args(["--port", &port.to_string()]),
            };
            cmd.args(["--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir)
                .arg("--logfile")
                .arg(&log)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Its own process group: Ctrl-C in the terminal reaches only
                // opsdeck, which then stops the server in order.
                .process_group(0);
            if bus {
                cmd.args(["--cluster-port", &dirs::free_port()?.to_string()]);
            }
            let child = cmd.spawn().map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::Usage(format!("{} not found; install it with `apt-get install redis-server`, or set OPSDECK_REDIS_SERVER to a redis-server or valkey-server", program.display()))
                } else {
                    Error::io(format!("cannot start {}", program.display()), e)
                }
            })?;
            let mut server = Server {
                port,
                child,
                tls: tls.cloned(),
            };
            match server.wait_ready(&log).await {
                Ok(()) => return Ok(server),
                Err(tail) if tail.contains("already in use") => server.stop(),
                Err(tail) => {
                    server.stop();
                    return Err(Error::Server {
                        detail: format!(
                            "the sandbox redis-server in {} did not start: {tail}",
                            dir.display()
                        ),
                        hint: Some("check the redis-server log in that directory".into()),
                    });
                }
            }
        }
        Err(Error::Server {
            detail: "the sandbox redis-server found no free port after several attempts".into(),
            hint: None,
        })
    }

    /// Ok once PING answers; Err(log tail) when the process exits or the
    /// timeout passes.
    async fn wait_ready(&mut self, log: &Path) -> std::result::Result<(), String> {
        let started = Instant::now();
        let tail = || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(5)..].join(" | ")
        };
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}: {}", tail()));
            }
            if ping(&self.url(), self.tls.as_ref().map(|t| t.ca.as_path())).await {
                return Ok(());
            }
            if started.elapsed() > READY_TIMEOUT {
                return Err(format!(
                    "no answer to PING within {READY_TIMEOUT:?}: {}",
                    tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn ping(url: &str, ca: Option<&Path>) -> bool {
    let client = match ca {
        Some(ca) => {
            let Ok(pem) = std::fs::read(ca) else {
                return false;
            };
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(pem),
            };
            redis::Client::build_with_tls(url, certs)
        }
        None => redis::Client::open(url),
    };
    let Ok(client) = client else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    redis::cmd("PING")
        .query_async::<String>(&mut conn)
        .await
        .is_ok()
}

/// Records the server pids so that a later run can kill them if we die.
pub(super) fn record_children(dir: &Path, servers: &[Server]) -> Result<()> {
    dirs::write_owner(
        dir,
        &Owner {
            pid: std::process::id(),
            kind: Kind::Redis,
            children: servers.iter().map(Server::pid).collect(),
        },
    )
}

#[derive(Debug)]
pub struct RedisSandbox {
    dir: PathBuf,
    server: Server,
}

impl RedisSandbox {
    pub async fn start() -> Result<RedisSandbox> {
        RedisSandbox::start_with(&program(), false).await
    }

    /// A server from this program (a redis-server or valkey-server binary).
    pub async fn start_program(program: &Path) -> Result<RedisSandbox> {
        RedisSandbox::start_with(program, false).await
    }

    /// A server that speaks only TLS, with a certificate for 127.0.0.1 and
    /// localhost signed by a CA made for it ([`RedisSandbox::ca_file`]).
    pub async fn start_tls() -> Result<RedisSandbox> {
        RedisSandbox::start_with(&program(), true).await
    }

    async fn start_with(program: &Path, tls: bool) -> Result<RedisSandbox> {
        dirs::clean_stale();
        let dir = dirs::create("redis", Kind::Redis)?;
        let started = async {
            let files = if tls {
                Some(TlsFiles::generate(&dir)?)
            } else {
                None
            };
            Server::spawn_with(program, &dir, false, &[], files.as_ref()).await
        };
        let server = match started.await {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                return Err(e);
            }
        };
        let sb = RedisSandbox { dir, server };
        record_children(&sb.dir, std::slice::from_ref(&sb.server))?;
        Ok(sb)
    }

    /// `redis://127.0.0.1:PORT/0`, or `rediss://…` for a TLS sandbox.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The PEM CA that signs a TLS sandbox's certificate.
    pub fn ca_file(&self) -> Option<&Path> {
        self.server.tls.as_ref().map(|t| t.ca.as_path())
    }

    /// A TLS sandbox's server certificate and key (PEM), for more servers
    /// that the same CA should vouch for.
    pub fn server_cert_files(&self) -> Option<(&Path, &Path)> {
        self.server
            .tls
            .as_ref()
            .map(|t| (t.cert.as_path(), t.key.as_path()))
    }

    pub fn port(&self) -> u16 {
        self.server.port
    }

    pub fn pid(&self) -> u32 {
        self.server.pid()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for RedisSandbox {
    fn drop(&mut self) {
        self.server.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
