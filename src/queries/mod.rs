//! What the database is doing and what has been expensive: pg_stat_statements
//! ([`stat_statements`]), live sessions ([`activity`]), the blocking tree
//! ([`locks`]), generic plans ([`explain`], [`plan`]), cancel/terminate
//! through the safety layer ([`signal`]). opsdeck's own sessions and
//! statements are left out of everything reported ([`own`]); the overview's
//! "costing most now" pane reads its sessions through `health::hot`.

pub mod activity;
pub mod explain;
pub mod locks;
pub mod own;
pub mod plan;
pub mod reset;
pub mod signal;
pub mod stat_statements;

pub use activity::{active, ActiveQuery, SessionRow};
pub use explain::{explain, ExplainTarget, Explained};
pub use locks::{lock_tree, LockNode};
pub use plan::PlanNode;
pub use signal::{Signal, SignalPlan, Signalled};
pub use stat_statements::{Pss, SlowQuery, SortKey, Statement};
