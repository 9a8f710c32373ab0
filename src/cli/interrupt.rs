//! Signals during a change. From the moment a change is approved until it
//! has written its end record, SIGINT, SIGTERM and SIGHUP do not kill the
//! process: they ask the change to stop (it cancels its statement on the
//! server, rolls back or stops between batches, and audits what it did),
//! and the command then exits 128 + the signal's number (DESIGN.md section 3).
//! A long read (an export, a key listing) stops at the signal between rows,
//! keeps what it wrote whole, and exits the same way.

use crate::error::{Error, Result};
use crate::safety::{Approval, Authorized, Mutation, Safety};
use crate::signals::{self, Signals};
use crate::stop::Stop;
use std::future::Future;
use std::io::Write;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use tokio::task::JoinHandle;

pub struct Interrupts {
    stop: Stop,
    caught: Arc<AtomicI32>,
    listener: JoinHandle<()>,
}

impl Interrupts {
    /// Starts listening; call it before the change is authorized, so no
    /// signal can fall between its start record and its end record.
    pub fn listen() -> Result<Interrupts> {
        let mut signals = Signals::new().map_err(|e| Error::io("cannot listen for signals", e))?;
        let stop = Stop::new();
        let caught = Arc::new(AtomicI32::new(0));
        let listener = tokio::spawn({
            let (stop, caught) = (stop.clone(), caught.clone());
            async move {
                loop {
                    let sig = signals.recv().await;
                    if caught.swap(sig, Ordering::SeqCst) == 0 {
                        // Not eprintln!: stderr may be gone with the SSH session.
                        let _ = writeln!(
                            std::io::stderr(),
                            "opsdeck: {}: stopping the change and recording what was done…",
                            signals::name(sig)
                        );
                    }
                    stop.trigger();
                }
            }
        });
        Ok(Interrupts {
            stop,
            caught,
            listener,
        })
    }

    /// Authorizes `plan` and runs `change` with the stop signals drive, for
    /// a change whose result is printed after it ends.
    pub async fn run<P, T, F, Fut>(
        safety: &Safety,
        plan: P,
        approval: Approval,
        change: F,
    ) -> Result<T>
    where
        P: Mutation,
        F: FnOnce(Authorized<P>, Stop) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let interrupts = Interrupts::listen()?;
        let result = match safety.authorize(plan, approval).await {
            Ok(approved) => change(approved, interrupts.stop().clone()).await,
            Err(e) => Err(e),
        };
        interrupts.finish(result)
    }

    pub fn stop(&self) -> &Stop {
        &self.stop
    }

    /// Stops listening and hands back `result`. When a signal stopped the
    /// change, the process ends here instead, with 128 + its number, after
    /// saying how it ended; the caller prints any result before calling this.
    pub fn finish<T>(self, result: Result<T>) -> Result<T> {
        self.listener.abort();
        let sig = self.caught.load(Ordering::SeqCst);
        if sig == 0 {
            return result;
        }
        match &result {
            Err(Error::Cancelled) | Ok(_) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "opsdeck: {}: the change stopped; `opsdeck audit list` shows what was done",
                    signals::name(sig)
                );
            }
            Err(e) => super::report(e),
        }
        let _ = std::io::stdout().flush();
        std::process::exit(128 + sig);
    }
}

/// Runs `read`, a listing that streams to stdout, until it ends or one of
/// the signals comes (`Err(n)`). Dropped at an await, the read has written
/// whole rows only: its writers flush complete rows on drop.
pub async fn until_signal<T>(read: impl Future<Output = T>) -> Result<std::result::Result<T, i32>> {
    let mut signals = Signals::new().map_err(|e| Error::io("cannot listen for signals", e))?;
    Ok(tokio::select! {
        biased;
        sig = signals.recv() => Err(sig),
        r = read => Ok(r),
    })
}

/// Ends a listing stopped by a signal: stdout flushed, one line saying the
/// output is incomplete, and 128 + the signal's number.
pub fn exit_stopped_read(sig: i32) -> ! {
    let _ = std::io::stdout().flush();
    let _ = writeln!(
        std::io::stderr(),
        "opsdeck: {}: stopped; the output so far is complete rows but not the whole listing",
        signals::name(sig)
    );
    std::process::exit(128 + sig);
}
