//! Connections: Postgres the libpq way, Redis single node or Cluster, and the
//! credentials they need. Knows nothing of domains or screens.

pub mod pg;
pub mod redis;
pub mod secret;

pub use pg::{connect_pg, Pg, SessionSettings};
pub use redis::{connect_redis, Redis};
pub use secret::Secret;
