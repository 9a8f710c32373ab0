//! Walking a Redis Cluster's keyspace while slots may migrate. Each master's
//! SCAN (all of them concurrently) yields only keys of slots that were
//! stable, and its own, when the walk began. Slots that were migrating then,
//! or that moved or started migrating during the scans, are read afterwards
//! slot by slot: from the node migrating the slot away first, then from the
//! one importing it. MIGRATE only moves keys that way, so a key is seen on
//! one side or on both, never on neither; the slot's keys are deduplicated.
//! Keys of a slot that starts migrating mid-walk may come twice (once from
//! the scan); deleting them twice is harmless, as UNLINK counts only keys it
//! found.

use super::matching::glob_match;
use super::scan::NodeScan;
use crate::conn::redis::{Node, Redis};
use crate::error::Result;
use futures_util::future::{try_join_all, BoxFuture};
use futures_util::stream::{FuturesUnordered, StreamExt};
use futures_util::FutureExt;
use redis::aio::ConnectionManager;
use std::collections::{BTreeSet, HashMap, HashSet};

const SLOTS: u16 = 16384;

/// The slot of a key: CRC16 (XMODEM) of the key, or of its first non-empty
/// `{hash tag}`, modulo 16384, as Redis Cluster computes it.
pub fn key_slot(key: &[u8]) -> u16 {
    let tag = key.iter().position(|&b| b == b'{').and_then(|open| {
        let rest = &key[open + 1..];
        let close = rest.iter().position(|&b| b == b'}')?;
        (close > 0).then(|| &rest[..close])
    });
    crc16(tag.unwrap_or(key)) % SLOTS
}

fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &b in data {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Who owns each slot (by `host:port`), and which slots are migrating or
/// importing somewhere, with the nodes involved.
#[derive(Debug, Default, PartialEq)]
struct SlotMap {
    owner: HashMap<u16, String>,
    moving: HashMap<u16, Vec<String>>,
}

/// Reads `CLUSTER NODES`: masters' slot ranges and `[slot->-id]` /
/// `[slot-<-id]` migration entries.
fn parse_slot_map(text: &str) -> SlotMap {
    let mut map = SlotMap::default();
    let mut by_id = HashMap::new();
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|f| f.len() >= 8)
        .collect();
    for f in &lines {
        by_id.insert(f[0], f[1].split('@').next().unwrap_or_default().to_string());
    }
    for f in lines
        .iter()
        .filter(|f| f[2].split(',').any(|x| x == "master"))
    {
        let addr = &by_id[f[0]];
        for entry in &f[8..] {
            if let Some(inner) = entry.strip_prefix('[').and_then(|e| e.strip_suffix(']')) {
                let (slot, peer) = match (inner.split_once("->-"), inner.split_once("-<-")) {
                    // This node migrates the slot away: it goes first.
                    (Some((s, peer)), _) => (s, vec![addr.clone(), peer_addr(&by_id, peer)]),
                    (_, Some((s, peer))) => (s, vec![peer_addr(&by_id, peer), addr.clone()]),
                    _ => continue,
                };
                if let Ok(slot) = slot.parse::<u16>() {
                    let nodes = map.moving.entry(slot).or_default();
                    for n in peer {
                        if !nodes.contains(&n) {
                            nodes.push(n);
                        }
                    }
                }
                continue;
            }
            let (lo, hi) = entry.split_once('-').unwrap_or((entry, entry));
            if let (Ok(lo), Ok(hi)) = (lo.parse::<u16>(), hi.parse::<u16>()) {
                for s in lo..=hi.min(SLOTS - 1) {
                    map.owner.insert(s, addr.clone());
                }
            }
        }
    }
    map
}

fn peer_addr(by_id: &HashMap<&str, String>, id: &str) -> String {
    by_id.get(id).cloned().unwrap_or_default()
}

/// The slot map as every master sees it. A node shows only its own
/// migrations, so they are gathered from all; a slot whose owner the
/// masters disagree on (a SETSLOT NODE still spreading) counts as moving.
async fn slot_map(masters: &[Node]) -> Result<SlotMap> {
    let views = try_join_all(masters.iter().map(|n| async move {
        let text: String = redis::cmd("CLUSTER")
            .arg("NODES")
            .query_async(&mut n.conn.clone())
            .await?;
        Ok::<_, crate::error::Error>(parse_slot_map(&text))
    }))
    .await?;
    let mut views = views.into_iter();
    let mut map = views.next().unwrap_or_default();
    for view in views {
        for (slot, owner) in &view.owner {
            if map.owner.get(slot) != Some(owner) {
                map.moving.entry(*slot).or_default().push(owner.clone());
            }
        }
        for (slot, nodes) in view.moving {
            let entry = map.moving.entry(slot).or_default();
            for n in nodes {
                if !entry.contains(&n) {
                    entry.push(n);
                }
            }
        }
    }
    Ok(map)
}

/// `host:port` of a master, without the TLS note its address may carry.
fn host_port(node: &Node) -> &str {
    node.addr.split(' ').next().unwrap_or_default()
}

/// Keys found together on one master: one that owned their slots when the
/// walk began (`moving` false), or the node a moving slot was read from
/// first, which redirects to where each key is now.
pub struct Page {
    pub node: ConnectionManager,
    pub moving: bool,
    pub keys: Vec<Vec<u8>>,
}

type Call = BoxFuture<'static, (NodeScan, Result<Option<Vec<Vec<u8>>>>)>;

fn call(mut scan: NodeScan) -> Call {
    async move {
        let r = scan.next_call().await;
        (scan, r)
    }
    .boxed()
}

/// One walk over the keys matching a pattern; pages come from
/// [`ClusterWalk::next_page`].
pub struct ClusterWalk {
    pattern: Vec<u8>,
    masters: Vec<Node>,
    start: SlotMap,
    scans: FuturesUnordered<Call>,
    /// The slots read one by one once the scans are done.
    slots: Option<BTreeSet<u16>>,
}

impl ClusterWalk {
    pub async fn new(redis: &Redis, pattern: &[u8], count: usize) -> Result<ClusterWalk> {
        let masters = redis.masters().to_vec();
        let start = slot_map(&masters).await?;
        let scans = masters
            .iter()
            .map(|n| call(NodeScan::new(n, Some(pattern), count)))
            .collect();
        Ok(ClusterWalk {
            pattern: pattern.to_vec(),
            masters,
            start,
            scans,
            slots: None,
        })
    }

    /// The next non-empty page of matching keys; `None` when the walk is over.
    pub async fn next_page(&mut self) -> Result<Option<Page>> {
        while let Some((scan, page)) = self.scans.next().await {
            let Some(keys) = page? else {
                continue;
            };
            let addr = scan.addr.split(' ').next().unwrap_or_default().to_string();
            let conn = scan.clone_conn();
            self.scans.push(call(scan));
            let keys: Vec<Vec<u8>> = keys
                .into_iter()
                .filter(|k| {
                    let s = key_slot(k);
                    !self.start.moving.contains_key(&s) && self.start.owner.get(&s) == Some(&addr)
                })
                .collect();
            if !keys.is_empty() {
                return Ok(Some(Page {
                    node: conn,
                    moving: false,
                    keys,
                }));
            }
        }
        if self.slots.is_none() {
            self.slots = Some(unsettled(&self.masters, &self.start).await?);
        }
        while let Some(slot) = self.slots.as_mut().and_then(|s| s.pop_first()) {
            if let Some((node, keys)) =
                read_slot(&self.masters, &self.start, &self.pattern, slot).await?
            {
                return Ok(Some(Page {
                    node,
                    moving: true,
                    keys,
                }));
            }
        }
        Ok(None)
    }
}

/// Slots migrating when the walk began (`start`) or now, or owned by
/// another node now than then. (Free functions, not methods: the walk's
/// pending scans are not `Sync`, so its futures must not borrow it whole.)
async fn unsettled(masters: &[Node], start: &SlotMap) -> Result<BTreeSet<u16>> {
    let end = slot_map(masters).await?;
    let mut slots: BTreeSet<u16> = start
        .moving
        .keys()
        .chain(end.moving.keys())
        .copied()
        .collect();
    for s in 0..SLOTS {
        if start.owner.get(&s) != end.owner.get(&s) {
            slots.insert(s);
        }
    }
    Ok(slots)
}

/// A slot's keys matching `pattern`: from the node migrating it away (or
/// its old owner) first, then the importing one (or its new owner), each
/// once; with the first node read, which redirects requests for them.
async fn read_slot(
    masters: &[Node],
    start: &SlotMap,
    pattern: &[u8],
    slot: u16,
) -> Result<Option<(ConnectionManager, Vec<Vec<u8>>)>> {
    let end = slot_map(masters).await?;
    let mut order: Vec<String> = Vec::new();
    for a in start
        .moving
        .get(&slot)
        .into_iter()
        .flatten()
        .chain(start.owner.get(&slot))
        .chain(end.moving.get(&slot).into_iter().flatten())
        .chain(end.owner.get(&slot))
    {
        if !order.contains(a) {
            order.push(a.clone());
        }
    }
    let mut seen = HashSet::new();
    let mut keys = Vec::new();
    let mut first = None;
    // Rounds until one finds nothing new. GETKEYSINSLOT returns at most the
    // count asked for: on the importing side, keys arriving between the
    // count and the read can push keys it already had out of the reply
    // (seen here: 20 keys twice, 20 others missing); the next round has them.
    for _ in 0..SLOT_ROUNDS {
        let before = keys.len();
        for addr in &order {
            let Some(node) = masters.iter().find(|n| host_port(n) == addr) else {
                continue;
            };
            let mut conn = node.conn.clone();
            first.get_or_insert_with(|| conn.clone());
            for k in keys_in_slot(&mut conn, slot).await? {
                if glob_match(pattern, &k) && seen.insert(k.clone()) {
                    keys.push(k);
                }
            }
        }
        if keys.len() == before {
            break;
        }
    }
    Ok(first.filter(|_| !keys.is_empty()).map(|c| (c, keys)))
}

/// Rounds of reading a moving slot from both sides.
const SLOT_ROUNDS: usize = 5;

async fn keys_in_slot(conn: &mut ConnectionManager, slot: u16) -> Result<Vec<Vec<u8>>> {
    let n: u64 = redis::cmd("CLUSTER")
        .arg("COUNTKEYSINSLOT")
        .arg(slot)
        .query_async(conn)
        .await?;
    if n == 0 {
        return Ok(Vec::new());
    }
    // The count is a bound, not a size: keys that arrive between the count
    // and the read (a MIGRATE batch landing on the importing side) would
    // push keys already there out of a reply cut at exactly `n`.
    Ok(redis::cmd("CLUSTER")
        .arg("GETKEYSINSLOT")
        .arg(slot)
        .arg(n.saturating_mul(2).saturating_add(1024))
        .query_async(conn)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_redis() {
        // Values from CLUSTER KEYSLOT and the Redis Cluster specification.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"{user1000}.following"), key_slot(b"user1000"));
        assert_eq!(key_slot(b"foo{}{bar}"), key_slot(b"foo{}{bar}"));
        assert_ne!(key_slot(b"foo{}{bar}"), key_slot(b"bar"));
        assert_eq!(key_slot(b"foo{{bar}}zap"), key_slot(b"{bar"));
    }

    #[test]
    fn slot_map_reads_ranges_and_migrations() {
        let text = "\
a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460 [100->-b2]
b2 127.0.0.1:7002@17002 master - 0 0 2 connected 5461-10922 [100-<-a1]
c3 127.0.0.1:7003@17003 master - 0 0 3 connected 10923-16383
d4 127.0.0.1:7004@17004 slave c3 0 0 3 connected
";
        let m = parse_slot_map(text);
        assert_eq!(m.owner[&0], "127.0.0.1:7001");
        assert_eq!(m.owner[&100], "127.0.0.1:7001");
        assert_eq!(m.owner[&5461], "127.0.0.1:7002");
        assert_eq!(m.owner[&16383], "127.0.0.1:7003");
        assert_eq!(m.owner.len(), 16384);
        assert_eq!(
            m.moving[&100],
            vec!["127.0.0.1:7001".to_string(), "127.0.0.1:7002".to_string()]
        );
        assert_eq!(m.moving.len(), 1);
    }
}
