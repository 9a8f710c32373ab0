//! Throwaway servers for the demo, restore drills and tests: PostgreSQL
//! clusters and Redis servers (single or Cluster) on free ports in temp dirs,
//! stopped and removed on drop, with leftovers of dead owners cleaned up at
//! the next start.

mod cluster;
pub mod dirs;
mod pg;
mod pgbouncer;
mod redis;
pub mod seed;

pub use cluster::RedisClusterSandbox;
pub use dirs::clean_stale;
pub use pg::{find_bin_dir, server_cache, PgOptions, PgSandbox};
pub use pgbouncer::{PgBouncerOptions, PgBouncerSandbox};
pub use redis::RedisSandbox;
