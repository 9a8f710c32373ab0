//! Where throwaway servers live and how their leftovers are found: one
//! directory per server under `<temp>/opsdeck-sandbox`, each holding an
//! `owner` file that names the process that started it and the server
//! processes to stop when that owner is gone.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

const OWNER_FILE: &str = "owner";
/// Marks a directory the user asked to keep (`demo --keep`): never cleaned.
const KEPT_FILE: &str = "kept";
/// A directory whose owner file is not written yet is being set up by
/// someone; only after this long is it considered abandoned.
const UNOWNED_GRACE: Duration = Duration::from_secs(120);

static SEQ: AtomicU32 = AtomicU32::new(0);

/// What a sandbox directory holds, so a later run can stop it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A PostgreSQL cluster whose data directory is `<dir>/data`.
    Pg,
    /// redis-server processes, listed in `children`.
    Redis,
    /// A PgBouncer process, listed in `children`.
    Pooler,
    /// Files only (a drill's fresh dump): nothing to stop.
    Files,
}

/// The owner record written into every sandbox directory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Owner {
    pub pid: u32,
    pub kind: Kind,
    #[serde(default)]
    pub children: Vec<u32>,
}

/// `<temp>/opsdeck-sandbox`, shared by every opsdeck process on the machine.
pub fn root() -> PathBuf {
    std::env::temp_dir().join("opsdeck-sandbox")
}

/// Creates a fresh `<root>/<prefix>-<pid>-<n>` directory, readable by other
/// users so a server running as `postgres` can reach it, and records this
/// process as its owner.
pub fn create(prefix: &str, kind: Kind) -> Result<PathBuf> {
    let root = root();
    std::fs::create_dir_all(&root)
        .map_err(|e| Error::io(format!("cannot create {}", root.display()), e))?;
    // The root is shared between users (root and postgres): world-traversable
    // and sticky like /tmp so nobody removes another user's sandbox.
    let _ = std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o1777));
    loop {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let dir = root.join(format!("{prefix}-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
                    .map_err(|e| Error::io(format!("cannot chmod {}", dir.display()), e))?;
                let owner = Owner {
                    pid: std::process::id(),
                    kind,
                    children: Vec::new(),
                };
                write_owner(&dir, &owner)?;
                return Ok(dir);
            }
            // Left over from an earlier process that had the same pid.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(Error::io(format!("cannot create {}", dir.display()), e)),
        }
    }
}

pub fn write_owner(dir: &Path, owner: &Owner) -> Result<()> {
    let path = dir.join(OWNER_FILE);
    let text = serde_json::to_string(owner)
        .map_err(|e| Error::Config(format!("cannot encode the sandbox owner record: {e}")))?;
    std::fs::write(&path, text)
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))
}

/// Marks the directory as kept and forgets its owner, so that stale cleanup
/// leaves it alone.
pub fn keep(dir: &Path) {
    let _ = std::fs::write(dir.join(KEPT_FILE), b"kept by request\n");
    let _ = std::fs::remove_file(dir.join(OWNER_FILE));
}

fn read_owner(dir: &Path) -> Option<Owner> {
    let text = std::fs::read_to_string(dir.join(OWNER_FILE)).ok()?;
    serde_json::from_str(&text).ok()
}

/// A TCP port on 127.0.0.1 that was free a moment ago. Callers retry when a
/// server then fails to bind it.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| Error::io("cannot find a free TCP port on 127.0.0.1", e))?;
    let port = l
        .local_addr()
        .map_err(|e| Error::io("cannot read the bound port", e))?
        .port();
    Ok(port)
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub fn pid_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: signal 0 only checks that the process exists; nothing is sent.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Kills `pid` only when it still runs `program`: a recorded pid may have
/// been reused by an unrelated process since.
pub fn kill_if_named(pid: u32, program: &str) {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    if !comm.trim().starts_with(program) {
        return;
    }
    if let Ok(p) = libc::pid_t::try_from(pid) {
        // SAFETY: plain kill(2) on a pid we just checked runs our server program.
        unsafe {
            libc::kill(p, libc::SIGKILL);
        }
    }
}

/// Runs a PostgreSQL server program, as the `postgres` OS user when we are
/// root (the server refuses to run as root).
pub fn pg_command(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

/// Stops and removes every sandbox whose owner process is gone. Errors are
/// ignored: a leftover that cannot be removed now is retried next time.
pub fn clean_stale() {
    let Ok(entries) = std::fs::read_dir(root()) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !dir.is_dir() {
            continue;
        }
        match read_owner(&dir) {
            Some(owner) if pid_alive(owner.pid) => {}
            Some(owner) => {
                stop_leftover(&dir, &owner);
                let _ = std::fs::remove_dir_all(&dir);
            }
            None => {
                let age = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| SystemTime::now().duration_since(t).ok())
                    .unwrap_or_default();
                if age > UNOWNED_GRACE && !dir.join(KEPT_FILE).exists() {
                    let _ = std::fs::remove_dir_all(&dir);
                }
            }
        }
    }
}

fn stop_leftover(dir: &Path, owner: &Owner) {
    match owner.kind {
        Kind::Pg => {
            let data = dir.join("data");
            let pid_file = data.join("postmaster.pid");
            let Ok(text) = std::fs::read_to_string(&pid_file) else {
                return;
            };
            if let Ok(bin) = super::pg::find_bin_dir() {
                let _ = pg_command(&bin.join("pg_ctl"))
                    .args(["stop", "-m", "immediate", "-w", "-t", "10", "-D"])
                    .arg(&data)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
            if let Some(pid) = text
                .lines()
                .next()
                .and_then(|l| l.trim().parse::<u32>().ok())
            {
                if pid_alive(pid) {
                    kill_if_named(pid, "postgres");
                }
            }
        }
        Kind::Redis => {
            for pid in &owner.children {
                kill_if_named(*pid, "redis-server");
            }
        }
        Kind::Pooler => {
            for pid in &owner.children {
                kill_if_named(*pid, "pgbouncer");
            }
        }
        Kind::Files => {}
    }
}
