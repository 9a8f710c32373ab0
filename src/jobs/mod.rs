//! Background jobs across job systems (DESIGN.md section 5): one normalized
//! model, one adapter per system behind [`JobSource`], detection per
//! context, grouping of failures, and retry/discard through the safety layer.

pub mod bulk;
pub mod bullmq;
pub mod graphile;
pub mod group;
pub mod health;
pub mod model;
pub mod outbox;
mod page;
pub mod pgboss;
pub mod plan;
pub mod registry;
pub mod river;
pub mod source;
pub mod table;

pub use model::{
    Filter, HistoryEntry, Job, QueueSummary, SourceKind, State, StateCounts, WriteReport,
};
pub use registry::{detect_all, pick, Backends, Detector, Found, DETECTORS};
pub use source::JobSource;
