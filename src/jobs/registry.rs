//! The adapters opsdeck knows, one detector each. A detector looks at the
//! schema or key layout (and the context's `[jobs]` section) and answers
//! with a source when its system is there. Adding an adapter is one line in
//! [`DETECTORS`].

use super::source::JobSource;
use crate::config::jobs::JobsConfig;
use crate::conn::{Pg, Redis};
use crate::error::Result;
use futures_util::future::BoxFuture;
use std::sync::Arc;

/// The servers a context names; a detector needing one that is absent
/// answers None.
#[derive(Clone, Default)]
pub struct Backends {
    pub pg: Option<Arc<Pg>>,
    pub redis: Option<Redis>,
}

pub type Found = Option<Box<dyn JobSource>>;

/// `fn detect<'a>(backends: &'a Backends, config: &'a JobsConfig) -> BoxFuture<'a, Result<Found>>`,
/// exposed by every adapter file.
pub type Detector = for<'a> fn(&'a Backends, &'a JobsConfig) -> BoxFuture<'a, Result<Found>>;

/// Every adapter, in the order sources are listed.
pub const DETECTORS: &[Detector] = &[
    super::pgboss::detect,
    super::graphile::detect,
    super::river::detect,
    super::table::detect,
    super::outbox::detect,
];
