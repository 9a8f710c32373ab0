//! Deleting keys with UNLINK (the value is freed off the main thread, so a big
//! key does not stall Redis), batched the way each topology allows.

use super::support::{as_error, as_int, pipeline_values};
use crate::conn::redis::Redis;
use crate::error::Result;
use futures_util::future::try_join_all;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::Value;
use std::collections::HashMap;

/// Deletes keys that live on the node behind `conn`. A single node takes one
/// multi-key UNLINK; a cluster node rejects keys of different slots in one
/// command (CROSSSLOT), so there it gets one UNLINK per key in a pipeline.
pub async fn unlink_on_node<C: ConnectionLike>(
    conn: &mut C,
    keys: &[Vec<u8>],
    cluster: bool,
) -> Result<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    if !cluster {
        let n: u64 = redis::cmd("UNLINK").arg(keys).query_async(conn).await?;
        return Ok(n);
    }
    let mut pipe = redis::pipe();
    for k in keys {
        pipe.cmd("UNLINK").arg(k);
    }
    let counts: Vec<u64> = pipe.query_async(conn).await?;
    Ok(counts.iter().sum())
}

/// Deletes keys found on a cluster master, one UNLINK per key pipelined on
/// `conn`, following the replies that say a key's slot is moving (ASK) or
/// has moved (MOVED) to the node they name. A followed key is sent with
/// ASKING: while a migration ends, the new owner may not know yet that the
/// slot is its own and would send a plain request back. Each key is counted
/// where it was found; keys still bouncing after a few rounds are an error,
/// never silently left.
pub async fn unlink_following(
    redis: &Redis,
    conn: &mut ConnectionManager,
    keys: &[Vec<u8>],
) -> Result<u64> {
    let mut deleted = 0;
    // (connection, whether to send ASKING, keys), per node redirected to.
    let mut groups = vec![(conn.clone(), false, keys.to_vec())];
    for _ in 0..FOLLOW_ROUNDS {
        let mut redirected: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for (mut at, asking, pending) in groups.drain(..) {
            let mut pipe = redis::pipe();
            for k in &pending {
                if asking {
                    pipe.cmd("ASKING").ignore();
                }
                pipe.cmd("UNLINK").arg(k);
            }
            let replies = pipeline_values(&mut at, &pipe).await?;
            let unlinks = replies.iter().filter(|v| !matches!(v, Value::Okay));
            for (k, r) in pending.into_iter().zip(unlinks) {
                match as_error(r) {
                    None => deleted += as_int(r).unwrap_or(0) as u64,
                    Some(e) => match e.redirect_node() {
                        Some((addr, _)) => redirected.entry(addr.to_string()).or_default().push(k),
                        None => return Err(e.into()),
                    },
                }
            }
        }
        for (addr, keys) in redirected {
            let node = redis
                .masters()
                .iter()
                .find(|n| n.addr.split(' ').next() == Some(addr.as_str()))
                .ok_or_else(|| {
                    crate::error::Error::server(format!(
                        "redis sent keys to {addr}, which is not one of the cluster's masters; run the command again"
                    ))
                })?;
            groups.push((node.conn.clone(), true, keys));
        }
        if groups.is_empty() {
            return Ok(deleted);
        }
    }
    let left: usize = groups.iter().map(|g| g.2.len()).sum();
    Err(crate::error::Error::Server {
        detail: format!(
            "{left} keys kept moving between cluster nodes (a slot migration) after {deleted} were deleted"
        ),
        hint: Some("run the same invalidation again once the migration has settled".into()),
    })
}

/// How many redirects a key is followed through.
const FOLLOW_ROUNDS: usize = 5;

/// Deletes keys that may live on any node (tag members, `cache del` args).
pub async fn unlink_routed(redis: &Redis, keys: &[Vec<u8>]) -> Result<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let conn = redis.routed();
    if !redis.is_cluster() {
        return unlink_on_node(&mut conn.clone(), keys, false).await;
    }
    // The cluster connection routes each command to its slot's master and
    // multiplexes them, so concurrent single-key commands cost one round trip.
    let counts = try_join_all(keys.iter().map(|k| {
        let mut c = conn.clone();
        async move { redis::cmd("UNLINK").arg(k).query_async::<u64>(&mut c).await }
    }))
    .await?;
    Ok(counts.iter().sum())
}

/// How many of `keys` exist, routed like [`unlink_routed`]. Unobserved:
/// EXISTS counts a keyspace hit or miss per key, which must not show in the
/// hit ratio opsdeck reports.
pub async fn count_existing(redis: &Redis, keys: &[Vec<u8>]) -> Result<u64> {
    super::window::unobserved(redis, exists(redis, keys)).await
}

async fn exists(redis: &Redis, keys: &[Vec<u8>]) -> Result<u64> {
    if keys.is_empty() {
        return Ok(0);
    }
    let conn = redis.routed();
    if !redis.is_cluster() {
        let n: u64 = redis::cmd("EXISTS")
            .arg(keys)
            .query_async(&mut conn.clone())
            .await?;
        return Ok(n);
    }
    let counts = try_join_all(keys.iter().map(|k| {
        let mut c = conn.clone();
        async move { redis::cmd("EXISTS").arg(k).query_async::<u64>(&mut c).await }
    }))
    .await?;
    Ok(counts.iter().sum())
}
