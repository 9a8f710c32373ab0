//! Parsing `INFO` and `SLOWLOG GET` replies into typed figures. Pure, so the
//! parsers are tested without a server.

use super::keyname::escape;
use redis::Value;
use serde::Serialize;
use std::collections::HashMap;

/// Figures of one master node from `INFO`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct NodeStats {
    pub addr: String,
    pub redis_version: Option<String>,
    pub role: Option<String>,
    pub uptime_ms: Option<u64>,
    pub used_memory_bytes: Option<u64>,
    pub used_memory_peak_bytes: Option<u64>,
    /// 0 means no limit.
    pub maxmemory_bytes: Option<u64>,
    pub maxmemory_policy: Option<String>,
    pub mem_fragmentation_ratio: Option<f64>,
    pub keyspace_hits: Option<u64>,
    pub keyspace_misses: Option<u64>,
    /// hits / (hits + misses); `null` before the first lookup.
    pub hit_ratio: Option<f64>,
    pub evicted_keys: Option<u64>,
    pub expired_keys: Option<u64>,
    pub instantaneous_ops_per_sec: Option<u64>,
    pub connected_clients: Option<u64>,
    pub dbs: Vec<DbKeys>,
}

/// One line of the `# Keyspace` section.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct DbKeys {
    pub db: u32,
    pub keys: u64,
    pub expires: u64,
    pub avg_ttl_ms: u64,
}

/// `key:value` pairs of every section.
pub fn info_fields(text: &str) -> HashMap<&str, &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(':'))
        .collect()
}

pub fn parse_info(addr: &str, text: &str) -> NodeStats {
    let f = info_fields(text);
    let num = |k: &str| f.get(k).and_then(|v| v.parse::<u64>().ok());
    let hits = num("keyspace_hits");
    let misses = num("keyspace_misses");
    let hit_ratio = match (hits, misses) {
        (Some(h), Some(m)) if h + m > 0 => Some(h as f64 / (h + m) as f64),
        _ => None,
    };
    let mut dbs: Vec<DbKeys> = f
        .iter()
        .filter_map(|(k, v)| {
            let db = k.strip_prefix("db")?.parse().ok()?;
            Some(parse_db(db, v))
        })
        .collect();
    dbs.sort_by_key(|d| d.db);
    NodeStats {
        addr: addr.to_string(),
        redis_version: f.get("redis_version").map(|s| s.to_string()),
        role: f.get("role").map(|s| s.to_string()),
        uptime_ms: num("uptime_in_seconds").map(|s| s * 1000),
        used_memory_bytes: num("used_memory"),
        used_memory_peak_bytes: num("used_memory_peak"),
        maxmemory_bytes: num("maxmemory"),
        maxmemory_policy: f.get("maxmemory_policy").map(|s| s.to_string()),
        mem_fragmentation_ratio: f
            .get("mem_fragmentation_ratio")
            .and_then(|v| v.parse().ok()),
        keyspace_hits: hits,
        keyspace_misses: misses,
        hit_ratio,
        evicted_keys: num("evicted_keys"),
        expired_keys: num("expired_keys"),
        instantaneous_ops_per_sec: num("instantaneous_ops_per_sec"),
        connected_clients: num("connected_clients"),
        dbs,
    }
}

fn parse_db(db: u32, v: &str) -> DbKeys {
    let mut d = DbKeys {
        db,
        ..DbKeys::default()
    };
    for part in v.split(',') {
        if let Some((k, n)) = part.split_once('=') {
            let n = n.parse().unwrap_or(0);
            match k {
                "keys" => d.keys = n,
                "expires" => d.expires = n,
                "avg_ttl" => d.avg_ttl_ms = n,
                _ => {}
            }
        }
    }
    d
}

/// One `SLOWLOG GET` entry.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SlowEntry {
    pub node: String,
    pub id: i64,
    pub started_at: chrono::DateTime<chrono::Utc>,
    pub duration_ms: f64,
    /// Arguments escaped and shortened; Redis itself hides AUTH secrets.
    pub command: String,
    pub client: Option<String>,
}

const ARG_MAX: usize = 48;
const COMMAND_MAX: usize = 160;

pub fn parse_slowlog(node: &str, reply: &Value) -> Vec<SlowEntry> {
    let Value::Array(entries) = reply else {
        return Vec::new();
    };
    entries
        .iter()
        .filter_map(|e| {
            let Value::Array(f) = e else { return None };
            let int = |i: usize| match f.get(i) {
                Some(Value::Int(n)) => Some(*n),
                _ => None,
            };
            let args = match f.get(3) {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| match v {
                        Value::BulkString(b) => Some(shorten(&escape(b), ARG_MAX)),
                        Value::SimpleString(s) => Some(shorten(s, ARG_MAX)),
                        _ => None,
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            let client = match f.get(4) {
                Some(Value::BulkString(b)) if !b.is_empty() => Some(escape(b)),
                _ => None,
            };
            Some(SlowEntry {
                node: node.to_string(),
                id: int(0)?,
                started_at: chrono::DateTime::from_timestamp(int(1)?, 0)?,
                duration_ms: int(2)? as f64 / 1000.0,
                command: shorten(&args, COMMAND_MAX),
                client,
            })
        })
        .collect()
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "# Server\r\nredis_version:7.0.15\r\nuptime_in_seconds:10\r\n\r\n# Clients\r\nconnected_clients:3\r\n\r\n# Memory\r\nused_memory:1048576\r\nused_memory_peak:2097152\r\nmaxmemory:0\r\nmaxmemory_policy:allkeys-lru\r\nmem_fragmentation_ratio:1.25\r\n\r\n# Stats\r\ninstantaneous_ops_per_sec:42\r\nkeyspace_hits:90\r\nkeyspace_misses:10\r\nexpired_keys:7\r\nevicted_keys:1\r\n\r\n# Replication\r\nrole:master\r\n\r\n# Keyspace\r\ndb0:keys=100,expires=40,avg_ttl=5000\r\ndb3:keys=2,expires=0,avg_ttl=0\r\n";

    #[test]
    fn parses_info() {
        let s = parse_info("h:1", INFO);
        assert_eq!(s.redis_version.as_deref(), Some("7.0.15"));
        assert_eq!(s.used_memory_bytes, Some(1_048_576));
        assert_eq!(s.used_memory_peak_bytes, Some(2_097_152));
        assert_eq!(s.mem_fragmentation_ratio, Some(1.25));
        assert_eq!(s.hit_ratio, Some(0.9));
        assert_eq!(s.evicted_keys, Some(1));
        assert_eq!(s.expired_keys, Some(7));
        assert_eq!(s.instantaneous_ops_per_sec, Some(42));
        assert_eq!(s.connected_clients, Some(3));
        assert_eq!(s.uptime_ms, Some(10_000));
        assert_eq!(
            s.dbs,
            vec![
                DbKeys {
                    db: 0,
                    keys: 100,
                    expires: 40,
                    avg_ttl_ms: 5000
                },
                DbKeys {
                    db: 3,
                    keys: 2,
                    expires: 0,
                    avg_ttl_ms: 0
                }
            ]
        );
    }

    #[test]
    fn no_lookups_means_no_ratio() {
        let s = parse_info("h:1", "keyspace_hits:0\nkeyspace_misses:0\n");
        assert_eq!(s.hit_ratio, None);
    }

    #[test]
    fn parses_slowlog() {
        let reply = Value::Array(vec![Value::Array(vec![
            Value::Int(7),
            Value::Int(1_700_000_000),
            Value::Int(12_500),
            Value::Array(vec![
                Value::BulkString(b"KEYS".to_vec()),
                Value::BulkString(b"t:\x00*".to_vec()),
            ]),
            Value::BulkString(b"127.0.0.1:5000".to_vec()),
            Value::BulkString(b"".to_vec()),
        ])]);
        let e = parse_slowlog("h:1", &reply);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].id, 7);
        assert_eq!(e[0].duration_ms, 12.5);
        assert_eq!(e[0].command, "KEYS t:\\x00*");
        assert_eq!(e[0].client.as_deref(), Some("127.0.0.1:5000"));
        assert_eq!(e[0].started_at.timestamp(), 1_700_000_000);
    }

    #[test]
    fn shortens_long_text() {
        assert_eq!(shorten("abcdef", 4), "abc…");
        assert_eq!(shorten("abc", 4), "abc");
    }
}
