//! Connections: Postgres the libpq way, Redis single node or Cluster, and the
//! credentials they need. Knows nothing of domains or screens.

mod cancel;
pub mod caps;
pub mod child;
pub mod conninfo;
pub mod credentials;
pub mod limits;
pub mod mark;
pub mod params;
pub mod pg;
mod pg_failure;
pub mod pgpass;
pub mod redis;
pub mod secret;
pub mod service;
pub mod sql;
mod statements;
pub mod target;
pub mod tls;

pub use limits::{Pooler, SessionSettings};
pub use pg::{connect_pg, connect_pg_with, Limits, Pg};
pub use redis::{connect_redis, Redis};
pub use secret::Secret;
pub use statements::Tx;
