//! BullMQ's key layout: `<prefix>:<queue>:<suffix>` for the state sets and
//! `<prefix>:<queue>:<id>` for a job's hash; which versions opsdeck can
//! write; qualified job ids; and whether a queue's keys share one Cluster
//! slot, which atomic scripts need.

use crate::cache::cluster::key_slot;
use crate::cache::keyname::glob_escape;
use crate::error::{Error, Result};

/// The major versions whose layout (marker zset, `wait` kept while paused,
/// prioritized with the `pc` counter) the scripts follow.
pub const WRITABLE_MAJORS: [u32; 2] = [5, 6];

/// What a script's version check matches in the meta hash's `version`.
pub const VERSION_PATTERN: &str = "^bullmq:[56]%.";

/// The keys of one queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueKeys {
    pub queue: String,
    /// `<prefix>:<queue>:`, what a job id or a suffix is appended to.
    pub base: String,
}

impl QueueKeys {
    pub fn new(prefix: &str, queue: &str) -> QueueKeys {
        QueueKeys {
            queue: queue.to_string(),
            base: format!("{prefix}:{queue}:"),
        }
    }

    pub fn key(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.base)
    }

    pub fn job(&self, id: &str) -> String {
        self.key(id)
    }

    /// True when every key of the queue hashes to one Cluster slot: a
    /// non-empty `{tag}` that opens and closes inside `<prefix>:<queue>:`
    /// (a tagged prefix like `{bull}`, or a queue named `{emails}`).
    pub fn one_slot(&self) -> bool {
        let b = self.base.as_bytes();
        let Some(open) = b.iter().position(|&c| c == b'{') else {
            return false;
        };
        match b[open + 1..].iter().position(|&c| c == b'}') {
            Some(close) => close > 0,
            None => false,
        }
    }

    /// The slot every key of the queue is in, when they share one.
    pub fn slot(&self) -> Option<u16> {
        self.one_slot()
            .then(|| key_slot(self.key("meta").as_bytes()))
    }
}

/// SCAN MATCH glob for every queue's meta hash under `prefix`.
pub fn meta_glob(prefix: &str) -> String {
    format!("{}:*:meta", glob_escape(prefix))
}

/// The queue of a meta key `<prefix>:<queue>:meta`; None for keys that only
/// look like one (BullMQ refuses ':' in queue names).
pub fn queue_of_meta<'a>(prefix: &str, key: &'a str) -> Option<&'a str> {
    let queue = key
        .strip_prefix(prefix)?
        .strip_prefix(':')?
        .strip_suffix(":meta")?;
    (!queue.is_empty() && !queue.contains(':')).then_some(queue)
}

/// Whether opsdeck's scripts follow the layout of this `version` field.
pub fn writable(version: Option<&str>) -> bool {
    major(version).is_some_and(|m| WRITABLE_MAJORS.contains(&m))
}

fn major(version: Option<&str>) -> Option<u32> {
    version?
        .strip_prefix("bullmq:")?
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The refusal for a queue whose layout opsdeck does not write.
pub fn unwritable(queue: &str, version: Option<&str>) -> Error {
    let seen = match version {
        Some(v) => format!("its meta hash says version '{v}'"),
        None => "its meta hash has no version (Bull 3 or a BullMQ before 2)".to_string(),
    };
    Error::refused(format!(
        "BullMQ queue '{queue}': {seen}; opsdeck writes only the layout of BullMQ 5 and 6 \
         (bullmq:5.x, bullmq:6.x): retry or discard these jobs with the library itself"
    ))
}

/// A job named across queues: `QUEUE:ID`, the form lists print. BullMQ ids
/// are per queue; queue names hold no ':', so the first one ends the queue
/// (ids of repeatable jobs, `repeat:KEY:MILLIS`, hold two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRef<'a> {
    pub queue: Option<&'a str>,
    pub id: &'a str,
}

pub fn qualified(queue: &str, id: &str) -> String {
    format!("{queue}:{id}")
}

pub fn parse_ref(text: &str) -> Result<JobRef<'_>> {
    let text = text.trim();
    let (queue, id) = match text.split_once(':') {
        Some((q, id)) => (Some(q), id),
        None => (None, text),
    };
    if id.is_empty() || queue.is_some_and(str::is_empty) {
        return Err(Error::Usage(format!(
            "'{text}' is not a BullMQ job id: write QUEUE:ID (as `opsdeck jobs list` prints it) or the bare ID"
        )));
    }
    Ok(JobRef { queue, id })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_keys_name_their_queue() {
        assert_eq!(queue_of_meta("bull", "bull:emails:meta"), Some("emails"));
        assert_eq!(queue_of_meta("{bull}", "{bull}:e:meta"), Some("e"));
        assert_eq!(queue_of_meta("bull", "bull:a:b:meta"), None);
        assert_eq!(queue_of_meta("bull", "bull::meta"), None);
        assert_eq!(queue_of_meta("bull", "bullx:a:meta"), None);
        assert_eq!(meta_glob("my[app]"), "my\\[app\\]:*:meta");
    }

    #[test]
    fn versions_opsdeck_writes() {
        assert!(writable(Some("bullmq:6.7.0")));
        assert!(writable(Some("bullmq:5.1.12")));
        assert!(!writable(Some("bullmq:4.17.0")));
        assert!(!writable(Some("bullmq:7.0.0")));
        assert!(!writable(Some("6.7.0")));
        assert!(!writable(None));
        assert!(unwritable("q", None).to_string().contains("no version"));
    }

    #[test]
    fn slots_shared_only_with_a_tag() {
        assert!(!QueueKeys::new("bull", "emails").one_slot());
        assert!(QueueKeys::new("{bull}", "emails").one_slot());
        assert!(QueueKeys::new("bull", "{emails}").one_slot());
        assert!(!QueueKeys::new("bull", "{}x").one_slot());
        let k = QueueKeys::new("{bull}", "emails");
        assert_eq!(k.slot(), Some(key_slot(k.job("17").as_bytes())));
    }

    #[test]
    fn job_refs() {
        let r = parse_ref("emails:17").unwrap();
        assert_eq!((r.queue, r.id), (Some("emails"), "17"));
        let r = parse_ref("17").unwrap();
        assert_eq!((r.queue, r.id), (None, "17"));
        let r = parse_ref("emails:repeat:k1:1796000000000").unwrap();
        assert_eq!((r.queue, r.id), (Some("emails"), "repeat:k1:1796000000000"));
        assert!(parse_ref(":1").is_err());
        assert!(parse_ref("q:").is_err());
        assert_eq!(qualified("emails", "17"), "emails:17");
    }
}
