//! Grouping keys by prefix. Id-like segments (numbers, UUIDs, long hex) are
//! collapsed to `*` so that `t:1:user:5` and `t:2:user:9` count as `t:*:user`.

use serde::Serialize;
use std::collections::BTreeMap;

/// Segments that identify one record rather than a kind of record.
pub fn is_id(segment: &str) -> bool {
    if segment.is_empty() {
        return false;
    }
    if segment.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    let hexish = segment.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    hexish && segment.len() >= 16 && segment.bytes().any(|b| b.is_ascii_digit())
}

/// The group of a key: its segments except the last, ids collapsed, cut after
/// the second named segment. A key without a separator falls in `(none)`.
pub fn group(key: &str, sep: &str) -> String {
    if sep.is_empty() {
        return NO_PREFIX.to_string();
    }
    let segs: Vec<&str> = key.split(sep).collect();
    if segs.len() < 2 {
        return NO_PREFIX.to_string();
    }
    let mut out: Vec<&str> = Vec::new();
    let mut named = 0;
    for s in &segs[..segs.len() - 1] {
        if is_id(s) {
            out.push("*");
        } else {
            out.push(s);
            named += 1;
            if named == 2 {
                break;
            }
        }
    }
    out.join(sep)
}

pub const NO_PREFIX: &str = "(none)";

/// How deep the prefix tree goes; deeper segments are summed into their parent.
pub const TREE_DEPTH: usize = 4;

/// One node of the prefix tree shown by the TUI: totals of every sampled key below it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PrefixNode {
    /// This segment (`*` for collapsed ids); empty at the root.
    pub name: String,
    /// Full prefix from the root, joined by the separator.
    pub path: String,
    pub keys: u64,
    pub memory_bytes: u64,
    /// Largest first (memory, then keys, then name).
    pub children: Vec<PrefixNode>,
}

#[derive(Default)]
struct Building {
    keys: u64,
    memory: u64,
    children: BTreeMap<String, Building>,
}

impl PrefixNode {
    /// Builds the tree from sampled `(escaped key, memory bytes)` pairs.
    pub fn build<'a, I>(keys: I, sep: &str) -> PrefixNode
    where
        I: IntoIterator<Item = (&'a str, u64)>,
    {
        let mut root = Building::default();
        for (key, memory) in keys {
            root.keys += 1;
            root.memory += memory;
            if sep.is_empty() {
                continue;
            }
            let segs: Vec<&str> = key.split(sep).collect();
            if segs.len() < 2 {
                // Keys without a separator still count somewhere visible.
                let none = root.children.entry(NO_PREFIX.to_string()).or_default();
                none.keys += 1;
                none.memory += memory;
                continue;
            }
            let mut at = &mut root;
            for s in segs
                .iter()
                .take(segs.len().saturating_sub(1))
                .take(TREE_DEPTH)
            {
                let name = if is_id(s) { "*" } else { s };
                at = at.children.entry(name.to_string()).or_default();
                at.keys += 1;
                at.memory += memory;
            }
        }
        finish(String::new(), String::new(), root, sep)
    }

    /// Depth-first walk of the nodes whose ancestors are all in `expanded`
    /// (by path), with their depth: the rows of a collapsible tree view.
    pub fn visible<'a>(
        &'a self,
        expanded: &std::collections::HashSet<String>,
    ) -> Vec<(usize, &'a PrefixNode)> {
        fn walk<'a>(
            n: &'a PrefixNode,
            depth: usize,
            expanded: &std::collections::HashSet<String>,
            out: &mut Vec<(usize, &'a PrefixNode)>,
        ) {
            for c in &n.children {
                out.push((depth, c));
                if expanded.contains(&c.path) {
                    walk(c, depth + 1, expanded, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(self, 0, expanded, &mut out);
        out
    }
}

fn finish(name: String, path: String, b: Building, sep: &str) -> PrefixNode {
    let mut children: Vec<PrefixNode> = b
        .children
        .into_iter()
        .map(|(n, c)| {
            let p = if path.is_empty() {
                n.clone()
            } else {
                format!("{path}{sep}{n}")
            };
            finish(n, p, c, sep)
        })
        .collect();
    children.sort_by(|a, b| {
        b.memory_bytes
            .cmp(&a.memory_bytes)
            .then(b.keys.cmp(&a.keys))
            .then(a.name.cmp(&b.name))
    });
    PrefixNode {
        name,
        path,
        keys: b.keys,
        memory_bytes: b.memory,
        children,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_collapse_ids() {
        let cases = [
            ("t:1:user:5", "t:*:user"),
            ("t:22:invoice:9:lines", "t:*:invoice"),
            ("tag:premium", "tag"),
            ("bull:emails:123:logs", "bull:emails"),
            (
                "session:3f2a9c1e-8b7d-4e6f-a1b2-c3d4e5f6a7b8:data",
                "session:*",
            ),
            ("counter", "(none)"),
            ("a::b", "a:"),
        ];
        for (key, want) in cases {
            assert_eq!(group(key, ":"), want, "{key}");
        }
        assert_eq!(group("t/1/user/5", "/"), "t/*/user");
    }

    #[test]
    fn ids_are_numbers_uuids_and_long_hex() {
        assert!(is_id("42"));
        assert!(is_id("deadbeef00112233"));
        assert!(!is_id("user"));
        assert!(!is_id("cafe"));
        assert!(!is_id(""));
    }

    #[test]
    fn tree_sums_and_orders() {
        let keys = [
            ("t:1:user:1", 100),
            ("t:2:user:2", 100),
            ("t:2:invoice:1", 500),
            ("tag:x", 10),
            ("plain", 1),
        ];
        let tree = PrefixNode::build(keys.iter().map(|(k, m)| (*k, *m as u64)), ":");
        assert_eq!(tree.keys, 5);
        assert_eq!(tree.memory_bytes, 711);
        let none = tree.children.iter().find(|c| c.name == NO_PREFIX).unwrap();
        assert_eq!(
            (none.keys, none.memory_bytes),
            (1, 1),
            "keys without a separator"
        );
        assert!(none.children.is_empty());
        assert_eq!(
            tree.children.iter().map(|c| c.keys).sum::<u64>(),
            tree.keys,
            "every sampled key is under some top-level node"
        );
        assert_eq!(tree.children[0].path, "t");
        assert_eq!(tree.children[0].keys, 3);
        let star = &tree.children[0].children[0];
        assert_eq!((star.path.as_str(), star.keys), ("t:*", 3));
        assert_eq!(star.children[0].path, "t:*:invoice");
        assert_eq!(star.children[1].path, "t:*:user");
        assert_eq!(tree.children[1].path, "tag");

        let mut expanded = std::collections::HashSet::new();
        assert_eq!(tree.visible(&expanded).len(), 3);
        expanded.insert("t".to_string());
        let rows: Vec<(usize, &str)> = tree
            .visible(&expanded)
            .into_iter()
            .map(|(d, n)| (d, n.path.as_str()))
            .collect();
        assert_eq!(rows, vec![(0, "t"), (1, "t:*"), (0, "tag"), (0, NO_PREFIX)]);
    }
}
