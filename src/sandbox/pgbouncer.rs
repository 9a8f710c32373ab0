//! A throwaway PgBouncer in front of a Postgres: the pooler opsdeck must
//! survive (transaction mode, a small pool), on a free port, killed and its
//! directory removed on drop.

use super::dirs::{self, Kind, Owner};
use crate::error::{Error, Result};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PORT_ATTEMPTS: usize = 5;
const READY_TIMEOUT: Duration = Duration::from_secs(15);

/// How the pooler is set up.
#[derive(Debug, Clone)]
pub struct PgBouncerOptions {
    /// `transaction`, `session` or `statement`.
    pub pool_mode: String,
    pub pool_size: u32,
    /// PgBouncer's `ignore_startup_parameters`; empty is its default, which
    /// refuses `options`.
    pub ignore_startup_parameters: String,
}

impl Default for PgBouncerOptions {
    fn default() -> Self {
        PgBouncerOptions {
            pool_mode: "transaction".into(),
            pool_size: 2,
            ignore_startup_parameters: String::new(),
        }
    }
}

pub struct PgBouncerSandbox {
    dir: PathBuf,
    port: u16,
    child: Child,
}

impl PgBouncerSandbox {
    /// Starts PgBouncer forwarding every database to the Postgres at
    /// `127.0.0.1:upstream_port`, authenticating nobody (the upstream's trust
    /// rules decide), and waits until it accepts connections.
    pub async fn start(upstream_port: u16, opts: PgBouncerOptions) -> Result<PgBouncerSandbox> {
        dirs::clean_stale();
        let bin = find_pgbouncer()?;
        let dir = dirs::create("pgbouncer", Kind::Pooler)?;
        let result = spawn(&bin, &dir, upstream_port, &opts).await;
        match result {
            Ok((port, child)) => {
                dirs::write_owner(
                    &dir,
                    &Owner {
                        pid: std::process::id(),
                        kind: Kind::Pooler,
                        children: vec![child.id()],
                    },
                )?;
                Ok(PgBouncerSandbox { dir, port, child })
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `postgres://USER@127.0.0.1:PORT/DB` through the pooler.
    pub fn url_for(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What PgBouncer logged so far, for a failing test to show.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for PgBouncerSandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn find_pgbouncer() -> Result<PathBuf> {
    [
        "/usr/sbin/pgbouncer",
        "/usr/bin/pgbouncer",
        "/usr/local/bin/pgbouncer",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.exists())
    .ok_or_else(|| {
        Error::Usage("pgbouncer not found; install it with `apt-get install pgbouncer`".into())
    })
}

fn ini(port: u16, upstream: u16, opts: &PgBouncerOptions, users: &Path) -> String {
    format!(
        "[databases]\n\
         * = host=127.0.0.1 port={upstream}\n\
         [pgbouncer]\n\
         listen_addr = 127.0.0.1\n\
         listen_port = {port}\n\
         unix_socket_dir =\n\
         auth_type = trust\n\
         auth_file = {users}\n\
         pool_mode = {mode}\n\
         default_pool_size = {size}\n\
         max_client_conn = 200\n\
         ignore_startup_parameters = {ignore}\n",
        users = users.display(),
        mode = opts.pool_mode,
        size = opts.pool_size,
        ignore = opts.ignore_startup_parameters,
    )
}

async fn spawn(
    bin: &Path,
    dir: &Path,
    upstream: u16,
    opts: &PgBouncerOptions,
) -> Result<(u16, Child)> {
    let users = dir.join("users.txt");
    // trust still needs each user listed; these are the roles tests use.
    std::fs::write(&users, "\"postgres\" \"\"\n\"root\" \"\"\n")
        .map_err(|e| Error::io(format!("cannot write {}", users.display()), e))?;
    let log = dir.join("log");
    for _ in 0..PORT_ATTEMPTS {
        let port = dirs::free_port()?;
        let conf = dir.join("pgbouncer.ini");
        std::fs::write(&conf, ini(port, upstream, opts, &users))
            .map_err(|e| Error::io(format!("cannot write {}", conf.display()), e))?;
        let out = std::fs::File::create(&log)
            .map_err(|e| Error::io(format!("cannot create {}", log.display()), e))?;
        let mut cmd = Command::new(bin);
        // PgBouncer refuses to run as root; -u drops to postgres itself, so
        // the child is PgBouncer and not a wrapper around it.
        if dirs::is_root() {
            cmd.args(["-u", "postgres"]);
        }
        let mut child = cmd
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(out)
            .process_group(0)
            .spawn()
            .map_err(|e| Error::io("cannot start pgbouncer", e))?;
        match wait_ready(&mut child, port, &log).await {
            Ok(()) => return Ok((port, child)),
            Err(tail) => {
                let _ = child.kill();
                let _ = child.wait();
                if !tail.contains("in use") {
                    return Err(Error::Server {
                        detail: format!("the sandbox pgbouncer did not start: {tail}"),
                        hint: Some(format!("check its log in {}", dir.display())),
                    });
                }
            }
        }
    }
    Err(Error::Server {
        detail: "the sandbox pgbouncer found no free port after several attempts".into(),
        hint: None,
    })
}

async fn wait_ready(child: &mut Child, port: u16, log: &Path) -> std::result::Result<(), String> {
    let started = Instant::now();
    let tail = || {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(5)..].join(" | ")
    };
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited with {status}: {}", tail()));
        }
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return Ok(());
        }
        if started.elapsed() > READY_TIMEOUT {
            return Err(format!("not listening after {READY_TIMEOUT:?}: {}", tail()));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
