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

impl Backends {
    /// The servers `session`'s context names, connected; one it names but
    /// cannot reach is an error, one it does not name is left out.
    pub async fn of(session: &crate::session::Session) -> Result<Backends> {
        let pg = session.has_pg().then(|| session.pg());
        let redis = session.ctx.redis.is_some().then(|| session.redis());
        let (pg, redis) = futures_util::future::join(
            async {
                match pg {
                    Some(f) => f.await.map(Some),
                    None => Ok(None),
                }
            },
            async {
                match redis {
                    Some(f) => f.await.map(Some),
                    None => Ok(None),
                }
            },
        )
        .await;
        Ok(Backends {
            pg: pg?,
            redis: redis?,
        })
    }
}

pub type Found = Option<Box<dyn JobSource>>;

/// `fn detect<'a>(backends: &'a Backends, config: &'a JobsConfig) -> BoxFuture<'a, Result<Found>>`,
/// exposed by every adapter file.
pub type Detector = for<'a> fn(&'a Backends, &'a JobsConfig) -> BoxFuture<'a, Result<Found>>;

/// Every adapter, in the order sources are listed.
pub const DETECTORS: &[Detector] = &[
    super::bullmq::detect,
    super::pgboss::detect,
    super::graphile::detect,
    super::river::detect,
    super::table::detect,
    super::outbox::detect,
];

/// Every source detected in a context, asked concurrently (the Postgres
/// detectors' queries share one round trip's worth of latency).
pub async fn detect_all(b: &Backends, cfg: &JobsConfig) -> Result<Vec<Box<dyn JobSource>>> {
    let found = futures_util::future::join_all(DETECTORS.iter().map(|d| d(b, cfg))).await;
    let mut out = Vec::new();
    for f in found {
        out.extend(f?);
    }
    Ok(out)
}

/// The one source a command names, or the only one detected.
pub fn pick(
    sources: &[Box<dyn JobSource>],
    kind: Option<super::SourceKind>,
) -> Result<&dyn JobSource> {
    let names = || {
        let v: Vec<&str> = sources.iter().map(|s| s.kind().as_str()).collect();
        v.join(", ")
    };
    match kind {
        Some(k) => sources
            .iter()
            .find(|s| s.kind() == k)
            .map(|s| s.as_ref())
            .ok_or_else(|| {
                crate::error::Error::Usage(if sources.is_empty() {
                    format!("no {k} jobs found in this context; `opsdeck jobs queues` lists what is detected")
                } else {
                    format!("no {k} jobs found in this context (found: {}); check [contexts.NAME.jobs] in the config", names())
                })
            }),
        None => match sources {
            [] => Err(none_found()),
            [one] => Ok(one.as_ref()),
            _ => Err(crate::error::Error::Usage(format!(
                "several job systems found ({}): pass --source",
                names()
            ))),
        },
    }
}

pub fn none_found() -> crate::error::Error {
    crate::error::Error::NotFound(
        "no job system found in this context (pg-boss, graphile-worker, River, BullMQ or a configured jobs table); set [contexts.NAME.jobs] in the config if they live elsewhere".into(),
    )
}
