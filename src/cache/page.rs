//! One page of a key listing that can go on later: the keys of the next
//! SCAN calls until enough are found, and the position (master, cursor) to
//! resume from, so a browser can page through millions of keys holding only
//! what it shows. Keys can be kept or dropped on the client side (a
//! substring filter, keys without a separator) without ending the listing.

use super::keyname::escape;
use super::scan::{sized, KeyEntry, NodeScan};
use super::window::unobserved;
use crate::conn::redis::Redis;
use crate::error::Result;

/// Where a paged listing stands: the master (in `Redis::masters` order)
/// and that master's SCAN cursor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanPos {
    pub node: usize,
    pub cursor: u64,
}

#[derive(Debug, Clone, Default)]
pub struct KeysPage {
    pub entries: Vec<KeyEntry>,
    /// Where the next page starts; `None` when the keyspace is covered.
    pub next: Option<ScanPos>,
    /// SCAN calls this page took.
    pub calls: u64,
    pub notes: Vec<String>,
}

/// At most this many SCAN calls per page, so a filter that matches little
/// answers with what it has (and a position) instead of scanning on and on.
pub const CALLS_PER_PAGE: u64 = 50;

/// Keys from `from` on, `want` or a little more (a SCAN call's keys are
/// never split, or the cursor would skip the rest; each call's COUNT hint is
/// `want`, so a page holds about that many), each with type, TTL and
/// memory; `keep` drops keys on the client side. Unobserved, like every
/// opsdeck read: TYPE and PTTL must not show in the hit ratio.
pub async fn keys_page(
    redis: &Redis,
    pattern: Option<&[u8]>,
    keep: &(dyn Fn(&[u8]) -> bool + Sync),
    from: ScanPos,
    want: usize,
) -> Result<KeysPage> {
    unobserved(redis, page(redis, pattern, keep, from, want)).await
}

async fn page(
    redis: &Redis,
    pattern: Option<&[u8]>,
    keep: &(dyn Fn(&[u8]) -> bool + Sync),
    from: ScanPos,
    want: usize,
) -> Result<KeysPage> {
    let mut out = KeysPage::default();
    let masters = redis.masters();
    let mut at = from;
    let mut memory_ok = true;
    while let Some(node) = masters.get(at.node) {
        let mut scan = NodeScan::new(node, pattern, want).resume(at.cursor);
        while let Some(keys) = scan.next_call().await? {
            out.calls += 1;
            let kept: Vec<Vec<u8>> = keys.into_iter().filter(|k| keep(k)).collect();
            if !kept.is_empty() {
                let addr = scan.addr.clone();
                let entries =
                    sized(scan.conn(), &addr, kept, &mut memory_ok, &mut out.notes).await?;
                out.entries.extend(entries);
            }
            if out.entries.len() >= want || out.calls >= CALLS_PER_PAGE {
                out.next = match scan.position() {
                    Some(cursor) => Some(ScanPos { cursor, ..at }),
                    None => (at.node + 1 < masters.len()).then_some(ScanPos {
                        node: at.node + 1,
                        cursor: 0,
                    }),
                };
                return Ok(out);
            }
        }
        at = ScanPos {
            node: at.node + 1,
            cursor: 0,
        };
    }
    Ok(out)
}

/// Whether a key has no `sep` in it: the `(none)` group of the prefix tree.
pub fn has_no_separator(key: &[u8], sep: &str) -> bool {
    !sep.is_empty() && !escape(key).contains(sep)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_without_the_separator() {
        assert!(has_no_separator(b"counter", ":"));
        assert!(!has_no_separator(b"t:1", ":"));
        assert!(!has_no_separator(b"counter", ""), "no separator, no group");
    }
}
