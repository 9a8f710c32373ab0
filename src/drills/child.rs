//! pg_dump and pg_restore run as child processes in their own process group
//! (pg_restore's parallel workers are its children): stderr is read line by
//! line, and a stop kills the whole group so nothing keeps writing into a
//! target that is about to be removed.

use crate::error::{Error, Result};
use crate::stop::Stop;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

/// Runs `cmd` to its end (its exit code, None when killed by a signal), or
/// until `stop`, which kills it and returns `Error::Cancelled`.
pub async fn run(
    mut cmd: tokio::process::Command,
    what: &str,
    stop: &Stop,
    mut on_line: impl FnMut(&str),
) -> Result<Option<i32>> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| Error::io(format!("cannot run {what}"), e))?;
    let pgid = child.id();
    let stderr = child
        .stderr
        .take()
        .ok_or_else(|| Error::server(format!("{what}'s stderr was not captured")))?;
    let mut lines = BufReader::new(stderr).lines();
    let read = async {
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|e| Error::io(format!("reading {what}'s output"), e))?
        {
            on_line(&line);
        }
        child
            .wait()
            .await
            .map_err(|e| Error::io(format!("waiting for {what}"), e))
    };
    tokio::select! {
        status = read => Ok(status?.code()),
        () = stop.wait() => {
            kill_group(pgid);
            Err(Error::Cancelled)
        }
    }
}

fn kill_group(pgid: Option<u32>) {
    let Some(pid) = pgid.and_then(|p| libc::pid_t::try_from(p).ok()) else {
        return;
    };
    // SAFETY: killpg on the process group we created for our own child.
    unsafe {
        libc::killpg(pid, libc::SIGKILL);
    }
}
