//! A throwaway redis-server: a child process on a free port with persistence
//! off, killed and its directory removed on drop.

use super::dirs::{self, Kind, Owner};
use crate::error::{Error, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PORT_ATTEMPTS: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// One redis-server child process.
#[derive(Debug)]
pub(super) struct Server {
    pub port: u16,
    child: Child,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts redis-server in `dir` with `extra` arguments, on a free port
    /// (and a free cluster bus port when `bus` is set), and waits for PING.
    pub async fn spawn(dir: &Path, bus: bool, extra: &[&str]) -> Result<Server> {
        let log = dir.join("log");
        for _ in 0..PORT_ATTEMPTS {
            let port = dirs::free_port()?;
            let mut cmd = Command::new("redis-server");
            cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
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
                    Error::Usage("redis-server not found on PATH; install it with `apt-get install redis-server`".into())
                } else {
                    Error::io("cannot start redis-server", e)
                }
            })?;
            let mut server = Server { port, child };
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
            if ping(&self.url()).await {
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

async fn ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
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
        dirs::clean_stale();
        let dir = dirs::create("redis", Kind::Redis)?;
        let server = match Server::spawn(&dir, false, &[]).await {
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

    /// `redis://127.0.0.1:PORT/0`
    pub fn url(&self) -> String {
        self.server.url()
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
