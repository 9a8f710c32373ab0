//! The status line's life: a result line goes after a few seconds or at the
//! next key; an error stays until a key says it was read. Both are kept in a
//! short log that `:messages` shows.

use super::{App, Status};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long a result line stays when nothing else happens.
pub const STATUS_TTL: Duration = Duration::from_secs(5);

/// Messages `:messages` keeps.
pub const KEPT: usize = 50;

/// The recent status lines, oldest first.
#[derive(Debug, Default)]
pub struct Messages(VecDeque<Status>);

impl Messages {
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Status> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn push(&mut self, s: Status) {
        if self.0.len() == KEPT {
            self.0.pop_front();
        }
        self.0.push_back(s);
    }
}

impl App {
    pub(super) fn set_status(&mut self, r: std::result::Result<String, String>) {
        let (text, error) = match r {
            Ok(t) => (t, false),
            Err(t) => (t, true),
        };
        let s = Status {
            text,
            error,
            at: self.now,
        };
        self.messages.push(s.clone());
        self.status = Some(s);
    }

    /// A key was pressed: what the status line said has been seen.
    pub(super) fn status_read(&mut self) {
        self.status = None;
    }

    /// A result line older than [`STATUS_TTL`] goes; errors stay.
    pub(super) fn status_expire(&mut self, now: Instant) {
        if self
            .status
            .as_ref()
            .is_some_and(|s| !s.error && now.saturating_duration_since(s.at) >= STATUS_TTL)
        {
            self.status = None;
        }
    }
}
