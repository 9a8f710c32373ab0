//! Deleting keys with UNLINK (the value is freed off the main thread, so a big
//! key does not stall Redis), batched the way each topology allows.

use super::support::{as_error, as_int, pipeline_values};
use crate::conn::redis::Redis;
use crate::error::Result;
use futures_util::future::try_join_all;
use redis::aio::{ConnectionLike, ConnectionManager};
use redis::Value;

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
/// `conn`, following the replies that say a key's slot is moving (ASK: to
/// the importing node, after ASKING) or has moved (MOVED) to the node they
/// name, as a cluster client would. Each key is counted where it was found.
pub async fn unlink_following(
    redis: &Redis,
    conn: &mut ConnectionManager,
    keys: &[Vec<u8>],
) -> Result<u64> {
    let mut deleted = 0;
    let mut pending: Vec<Vec<u8>> = keys.to_vec();
    let mut at = conn.clone();
    let mut asking = false;
    // A key can move at most once more while it is being followed.
    for _ in 0..3 {
        if pending.is_empty() {
            break;
        }
        let mut pipe = redis::pipe();
        for k in &pending {
            if asking {
                pipe.cmd("ASKING").ignore();
            }
            pipe.cmd("UNLINK").arg(k);
        }
        let replies = pipeline_values(&mut at, &pipe).await?;
        let mut redirected: Option<(String, bool)> = None;
        let mut next = Vec::new();
        for (k, r) in pending
            .iter()
            .zip(replies.iter().filter(|v| !matches!(v, Value::Okay)))
        {
            match as_error(r) {
                None => deleted += as_int(r).unwrap_or(0) as u64,
                Some(e) => match e.redirect_node() {
                    Some((addr, _)) => {
                        redirected = Some((addr.to_string(), e.kind() == redis::ErrorKind::Ask));
                        next.push(k.clone());
                    }
                    None => return Err(e.into()),
                },
            }
        }
        let Some((addr, ask)) = redirected else {
            break;
        };
        let node = redis
            .masters()
            .iter()
            .find(|n| n.addr.split(' ').next() == Some(addr.as_str()))
            .ok_or_else(|| {
                crate::error::Error::server(format!(
                    "redis sent a key to {addr}, which is not one of the cluster's masters; run the command again"
                ))
            })?;
        at = node.conn.clone();
        asking = ask;
        pending = next;
    }
    Ok(deleted)
}

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
