//! A throwaway Redis Cluster: N masters without replicas, joined with
//! `redis-cli --cluster create`, for tests of per-master scans and routing.

use super::dirs::{self, Kind};
use super::redis::{record_children, Server};
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct RedisClusterSandbox {
    dir: PathBuf,
    servers: Vec<Server>,
}

impl RedisClusterSandbox {
    /// Starts `masters` (at least 3, as Redis Cluster requires) nodes and
    /// waits until every node reports `cluster_state:ok`.
    pub async fn start(masters: usize) -> Result<RedisClusterSandbox> {
        if masters < 3 {
            return Err(Error::Usage(format!(
                "a Redis Cluster needs at least 3 masters, not {masters}"
            )));
        }
        dirs::clean_stale();
        let dir = dirs::create("redis-cluster", Kind::Redis)?;
        let mut sb = RedisClusterSandbox {
            dir,
            servers: Vec::with_capacity(masters),
        };
        for i in 0..masters {
            let node_dir = sb.dir.join(format!("node-{i}"));
            std::fs::create_dir(&node_dir)
                .map_err(|e| Error::io(format!("cannot create {}", node_dir.display()), e))?;
            let server = Server::spawn(
                &node_dir,
                true,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    "nodes.conf",
                    "--cluster-node-timeout",
                    "5000",
                ],
            )
            .await?;
            sb.servers.push(server);
            record_children(&sb.dir, &sb.servers)?;
        }
        sb.create_cluster().await?;
        sb.wait_ok().await?;
        Ok(sb)
    }

    /// One `redis://127.0.0.1:PORT/0` per master.
    pub fn urls(&self) -> Vec<String> {
        self.servers.iter().map(Server::url).collect()
    }

    /// The URL to give a cluster client; it discovers the other nodes.
    pub fn seed_url(&self) -> String {
        self.servers.first().map(Server::url).unwrap_or_default()
    }

    pub fn ports(&self) -> Vec<u16> {
        self.servers.iter().map(|s| s.port).collect()
    }

    pub fn pids(&self) -> Vec<u32> {
        self.servers.iter().map(Server::pid).collect()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    async fn create_cluster(&self) -> Result<()> {
        let out = tokio::process::Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(self.servers.iter().map(|s| format!("127.0.0.1:{}", s.port)))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .await
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::Usage("redis-cli not found on PATH; install it with `apt-get install redis-tools`".into())
                } else {
                    Error::io("cannot run redis-cli", e)
                }
            })?;
        if out.status.success() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        Err(Error::Server {
            detail: format!(
                "redis-cli --cluster create failed: {}",
                tail[tail.len().saturating_sub(3)..].join(" | ")
            ),
            hint: None,
        })
    }

    async fn wait_ok(&self) -> Result<()> {
        let started = Instant::now();
        for server in &self.servers {
            loop {
                if cluster_ok(&server.url()).await {
                    break;
                }
                if started.elapsed() > READY_TIMEOUT {
                    return Err(Error::Server {
                        detail: format!(
                            "the sandbox Redis Cluster did not reach cluster_state:ok within {READY_TIMEOUT:?} (node 127.0.0.1:{})",
                            server.port
                        ),
                        hint: Some(format!("see the node logs under {}", self.dir.display())),
                    });
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }
}

async fn cluster_ok(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut conn) = client.get_multiplexed_async_connection().await else {
        return false;
    };
    let info: String = match redis::cmd("CLUSTER")
        .arg("INFO")
        .query_async(&mut conn)
        .await
    {
        Ok(s) => s,
        Err(_) => return false,
    };
    info.lines().any(|l| l.trim() == "cluster_state:ok")
}

impl Drop for RedisClusterSandbox {
    fn drop(&mut self) {
        for s in &mut self.servers {
            s.stop();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
