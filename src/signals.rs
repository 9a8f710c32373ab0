//! The signals that end or interrupt opsdeck: SIGINT (Ctrl-C), SIGTERM, and
//! SIGHUP when the SSH session drops. The console, the demo and every CLI
//! change listen to the same three.

use tokio::signal::unix::{signal, Signal, SignalKind};

pub struct Signals {
    term: Signal,
    hup: Signal,
    int: Signal,
}

impl Signals {
    /// Starts listening; from here on these signals no longer kill the process.
    pub fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for one and returns its number.
    pub async fn recv(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => libc::SIGTERM,
            _ = self.hup.recv() => libc::SIGHUP,
            _ = self.int.recv() => libc::SIGINT,
        }
    }
}

/// How a signal is named in messages.
pub fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "interrupted",
        libc::SIGTERM => "terminated",
        libc::SIGHUP => "hangup",
        _ => "signalled",
    }
}
