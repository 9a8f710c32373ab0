//! Redis caches: server and data statistics, a SCAN-based keyspace browser,
//! values of any type, deletes and invalidation by pattern, tag or tenant.
//! Works the same on one node and on a Cluster (scans run on every master).
//! Returns plain data; never prints.

pub mod cluster;
pub mod delete;
pub mod info;
pub mod invalidate;
pub mod keyname;
pub mod matching;
pub mod page;
pub mod prefix;
pub mod scan;
pub mod stats;
mod support;
pub mod tenant;
mod unlink;
pub mod value;
pub mod window;

pub use delete::{del, Deleted, Deletion};
pub use info::{DbKeys, NodeStats, SlowEntry};
pub use invalidate::{
    dry_run, DryRun, Invalidated, Invalidation, Plan, Progress, Selector, Throttle,
};
pub use keyname::{escape, unescape};
pub use prefix::PrefixNode;
pub use scan::{keys, KeyEntry, KeySizes, KeysOptions, KeysSummary};
pub use stats::{stats, stats_over, stats_since, CacheStats};
pub use value::{get, KeyValue};
