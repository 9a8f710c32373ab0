//! Pipelined reads that also work on Redis Cluster, where one pipeline may
//! only touch one slot: commands are grouped by their key's slot there, one
//! pipeline per slot, several in flight at once, answers put back in order.
//! A hash-tagged prefix keeps a queue in one slot, so one pipeline still.

use crate::cache::cluster::key_slot;
use crate::conn::redis::Redis;
use crate::error::Result;
use futures_util::stream::{self, StreamExt, TryStreamExt};
use redis::{Cmd, ErrorKind, FromRedisValue, RedisResult, Script, Value};
use std::collections::BTreeMap;

/// Slot pipelines in flight at once on a Cluster.
const IN_FLIGHT: usize = 16;

/// Commands, each with the key it routes by.
#[derive(Default)]
pub struct Batch {
    cmds: Vec<(String, Cmd)>,
}

impl Batch {
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Adds a command whose first key is `key`.
    pub fn add(&mut self, key: String, cmd: Cmd) -> &mut Batch {
        self.cmds.push((key, cmd));
        self
    }

    /// Every answer, in the order the commands were added.
    pub async fn query<T: FromRedisValue>(self, redis: &Redis) -> Result<Vec<T>> {
        if self.cmds.is_empty() {
            return Ok(Vec::new());
        }
        let values = if redis.is_cluster() {
            by_slot(redis, self.cmds).await?
        } else {
            let mut pipe = redis::pipe();
            for (_, c) in &self.cmds {
                pipe.add_command(c.clone());
            }
            pipe.query_async::<Vec<Value>>(&mut redis.routed()).await?
        };
        values
            .iter()
            .map(|v| redis::from_redis_value(v).map_err(Into::into))
            .collect()
    }
}

async fn by_slot(redis: &Redis, cmds: Vec<(String, Cmd)>) -> Result<Vec<Value>> {
    let n = cmds.len();
    let mut groups: BTreeMap<u16, Vec<(usize, Cmd)>> = BTreeMap::new();
    for (i, (key, cmd)) in cmds.into_iter().enumerate() {
        groups
            .entry(key_slot(key.as_bytes()))
            .or_default()
            .push((i, cmd));
    }
    let answered: Vec<Vec<(usize, Value)>> = stream::iter(groups.into_values())
        .map(|group| async move {
            let mut pipe = redis::pipe();
            for (_, c) in &group {
                pipe.add_command(c.clone());
            }
            let values: Vec<Value> = pipe.query_async(&mut redis.routed()).await?;
            Ok::<_, crate::error::Error>(group.into_iter().map(|(i, _)| i).zip(values).collect())
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    let mut out = vec![Value::Nil; n];
    for (i, v) in answered.into_iter().flatten() {
        out[i] = v;
    }
    Ok(out)
}

/// Runs a script by its SHA1 and sends its text (EVAL) when the server
/// answers NOSCRIPT. Never SCRIPT LOAD: on a Cluster that would reach a
/// node other than the one owning the keys.
pub async fn eval<T: FromRedisValue>(
    redis: &Redis,
    script: &Script,
    body: &str,
    keys: &[String],
    args: &[&str],
) -> RedisResult<T> {
    let build = |name: &str, first: &str| {
        let mut c = redis::cmd(name);
        c.arg(first).arg(keys.len()).arg(keys).arg(args);
        c
    };
    let mut conn = redis.routed();
    match build("EVALSHA", script.get_hash())
        .query_async(&mut conn)
        .await
    {
        Err(e) if e.kind() == ErrorKind::NoScriptError => {
            build("EVAL", body).query_async(&mut conn).await
        }
        other => other,
    }
}
