//! Hit ratio and ops/s over a window between two INFO samples instead of
//! since server start, with opsdeck's own traffic left out.
//!
//! opsdeck's reads move the very counters it reports: on Redis 7 TYPE, PTTL,
//! TTL, EXISTS, OBJECT and STRLEN each count a keyspace hit or miss (measured
//! with INFO stats around each command; MEMORY USAGE and SCAN count none),
//! and no other command gives a key's TTL or type. So every opsdeck read runs
//! through [`unobserved`], which measures what it added to each master's
//! counters, and a window subtracts those measurements from the server's
//! deltas. The tally is per process and per node address, because any
//! connection this process opens to a node is opsdeck's own, including one
//! opened again after the server was lost.

use super::info::info_fields;
use crate::conn::redis::Redis;
use crate::error::Result;
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The three counters a window is made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub hits: u64,
    pub misses: u64,
    pub commands: u64,
}

impl Counters {
    pub fn from_info(text: &str) -> Option<Counters> {
        let f = info_fields(text);
        let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
        Some(Counters {
            hits: num("keyspace_hits")?,
            misses: num("keyspace_misses")?,
            commands: num("total_commands_processed")?,
        })
    }

    /// None when a counter went backwards: the server restarted or ran
    /// CONFIG RESETSTAT, and the difference means nothing.
    fn minus(self, earlier: Counters) -> Option<Counters> {
        Some(Counters {
            hits: self.hits.checked_sub(earlier.hits)?,
            misses: self.misses.checked_sub(earlier.misses)?,
            commands: self.commands.checked_sub(earlier.commands)?,
        })
    }

    fn add(&mut self, other: Counters) {
        self.hits += other.hits;
        self.misses += other.misses;
        self.commands += other.commands;
    }
}

/// What opsdeck's own commands have added to each node's counters so far.
fn own() -> &'static Mutex<HashMap<String, Counters>> {
    static OWN: OnceLock<Mutex<HashMap<String, Counters>>> = OnceLock::new();
    OWN.get_or_init(Default::default)
}

fn own_of(addr: &str) -> Counters {
    own()
        .lock()
        .map(|m| m.get(addr).copied().unwrap_or_default())
        .unwrap_or_default()
}

fn add_own(addr: &str, c: Counters) {
    if let Ok(mut m) = own().lock() {
        m.entry(addr.to_string()).or_default().add(c);
    }
}

/// The server's counters on one node and opsdeck's own tally at that moment.
#[derive(Debug, Clone)]
struct NodeSample {
    addr: String,
    server: Option<Counters>,
    own: Counters,
}

/// One INFO on every master.
#[derive(Debug, Clone)]
pub struct Sample {
    at: Instant,
    nodes: Vec<NodeSample>,
}

/// Figures over the time between two samples, opsdeck's own commands excluded.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Window {
    pub window_ms: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    /// hits / (hits + misses) in the window; null when nothing looked a key up.
    pub hit_ratio: Option<f64>,
    pub commands: u64,
    pub ops_per_sec: f64,
}

impl Sample {
    /// Runs `INFO` on every master and returns the sample with each master's
    /// address and INFO text, for the callers that show more of it.
    pub async fn take(redis: &Redis) -> Result<(Sample, Vec<(String, String)>)> {
        let mut nodes = Vec::new();
        let mut texts = Vec::new();
        for node in redis.masters() {
            let text: String = redis::cmd("INFO")
                .query_async(&mut node.conn.clone())
                .await?;
            // The server counts this INFO once it has answered, so the next
            // sample sees it; it is opsdeck's, so it goes on the tally.
            add_own(
                &node.addr,
                Counters {
                    commands: 1,
                    ..Counters::default()
                },
            );
            nodes.push(NodeSample {
                addr: node.addr.clone(),
                server: Counters::from_info(&text),
                own: own_of(&node.addr),
            });
            texts.push((node.addr.clone(), text));
        }
        Ok((
            Sample {
                at: Instant::now(),
                nodes,
            },
            texts,
        ))
    }

    /// The window from `earlier` to this sample; None when they cover
    /// different nodes or a node's counters went backwards.
    pub fn since(&self, earlier: &Sample) -> Option<Window> {
        if self.nodes.len() != earlier.nodes.len() {
            return None;
        }
        let mut total = Counters::default();
        for (now, before) in self.nodes.iter().zip(&earlier.nodes) {
            if now.addr != before.addr {
                return None;
            }
            let server = now.server?.minus(before.server?)?;
            let own = now.own.minus(before.own)?;
            // Traffic by others that overlapped an opsdeck read was measured
            // as opsdeck's; clamp rather than report a negative count.
            total.add(Counters {
                hits: server.hits.saturating_sub(own.hits),
                misses: server.misses.saturating_sub(own.misses),
                commands: server.commands.saturating_sub(own.commands),
            });
        }
        let elapsed = self.at.saturating_duration_since(earlier.at);
        Some(window(total, elapsed))
    }
}

fn window(c: Counters, elapsed: Duration) -> Window {
    let lookups = c.hits + c.misses;
    let secs = elapsed.as_secs_f64();
    Window {
        window_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        keyspace_hits: c.hits,
        keyspace_misses: c.misses,
        hit_ratio: (lookups > 0).then(|| c.hits as f64 / lookups as f64),
        commands: c.commands,
        ops_per_sec: if secs > 0.0 {
            c.commands as f64 / secs
        } else {
            0.0
        },
    }
}

/// Runs one of opsdeck's own reads and puts what it added to each master's
/// counters on the tally, so that windows leave it out. Runs must not nest:
/// the outer one would put the inner one's commands on the tally twice.
pub async fn unobserved<T, F>(redis: &Redis, op: F) -> Result<T>
where
    F: Future<Output = Result<T>>,
{
    let before = stats(redis).await?;
    let out = op.await;
    let after = stats(redis).await?;
    for ((addr, b), (_, a)) in before.iter().zip(&after) {
        if let Some(mut d) = a.zip(*b).and_then(|(a, b)| a.minus(b)) {
            // The closing INFO is counted after it answers: opsdeck's too.
            d.commands += 1;
            add_own(addr, d);
        }
    }
    out
}

async fn stats(redis: &Redis) -> Result<Vec<(String, Option<Counters>)>> {
    let mut out = Vec::new();
    for node in redis.masters() {
        let text: String = redis::cmd("INFO")
            .arg("stats")
            .query_async(&mut node.conn.clone())
            .await?;
        out.push((node.addr.clone(), Counters::from_info(&text)));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at: Instant, server: Counters, own: Counters) -> Sample {
        Sample {
            at,
            nodes: vec![NodeSample {
                addr: "h:1".into(),
                server: Some(server),
                own,
            }],
        }
    }

    fn c(hits: u64, misses: u64, commands: u64) -> Counters {
        Counters {
            hits,
            misses,
            commands,
        }
    }

    #[test]
    fn own_traffic_is_left_out() {
        let t0 = Instant::now();
        let a = sample(t0, c(100, 10, 1000), c(0, 0, 1));
        let b = sample(
            t0 + Duration::from_secs(2),
            c(10_130, 20, 21_100),
            c(10_000, 0, 20_001),
        );
        let w = b.since(&a).unwrap();
        assert_eq!((w.keyspace_hits, w.keyspace_misses), (30, 10));
        assert_eq!(w.hit_ratio, Some(0.75));
        assert_eq!(w.commands, 100);
        assert_eq!(w.ops_per_sec, 50.0);
        assert_eq!(w.window_ms, 2000);
    }

    #[test]
    fn no_lookups_is_no_ratio_and_a_restart_no_window() {
        let t0 = Instant::now();
        let a = sample(t0, c(5, 5, 50), c(0, 0, 1));
        let b = sample(t0, c(5, 5, 51), c(0, 0, 2));
        assert_eq!(b.since(&a).unwrap().hit_ratio, None);
        let restarted = sample(t0, c(0, 0, 3), c(0, 0, 2));
        assert_eq!(restarted.since(&a), None);
    }

    #[test]
    fn counters_from_info() {
        let text =
            "# Stats\r\ntotal_commands_processed:7\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\n";
        assert_eq!(Counters::from_info(text), Some(c(3, 1, 7)));
        assert_eq!(Counters::from_info("keyspace_hits:3\r\n"), None);
    }
}
