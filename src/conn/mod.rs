//! Connections: Postgres the libpq way, Redis single node or Cluster, and the
//! credentials they need. Knows nothing of domains or screens.

pub mod conninfo;
pub mod credentials;
pub mod params;
pub mod pg;
pub mod pgpass;
pub mod redis;
pub mod secret;
pub mod service;
pub mod sql;
pub mod target;
pub mod tls;

pub use pg::{connect_pg, connect_pg_with, Pg, SessionSettings};
pub use redis::{connect_redis, Redis};
pub use secret::Secret;
