//! The blocking tree: sessions waiting on a lock (pg_blocking_pids) and the
//! sessions they wait for, with the lock modes and relations involved, in
//! one statement; arranged as a tree (blockers at the root) in memory.

use super::activity::{from_row, SessionRow, COLUMNS};
use super::own::MARK;
use crate::conn::Pg;
use crate::error::Result;
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LockNode {
    /// 0 for a root (a session that blocks others and waits for nobody).
    pub depth: usize,
    pub blocked_by: Vec<i32>,
    /// The lock mode this session waits for, if it waits.
    pub waiting_mode: Option<String>,
    /// What it waits on: a relation name, else the lock type (transactionid, tuple…).
    pub waiting_on: Option<String>,
    /// Modes it holds on relations others wait for.
    pub held_modes: Option<String>,
    #[serde(flatten)]
    pub session: SessionRow,
}

/// Every session in a blocking chain, roots first, each blocked session
/// after the session(s) it waits for: one statement.
pub async fn lock_tree(pg: &Pg) -> Result<Vec<LockNode>> {
    let sql = format!(
        "WITH {MARK} blocked AS (
           SELECT a.pid, pg_blocking_pids(a.pid) AS by
           FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock'
         ), involved AS (
           SELECT pid FROM blocked UNION SELECT unnest(by) FROM blocked
         ), waits AS (
           SELECT DISTINCT ON (l.pid) l.pid, l.mode, l.locktype, l.relation
           FROM pg_locks l JOIN blocked b ON b.pid = l.pid
           WHERE NOT l.granted ORDER BY l.pid, l.relation NULLS LAST
         )
         SELECT {COLUMNS}, coalesce(b.by, '{{}}'::int4[]), w.mode,
           coalesce(w.relation::regclass::text, w.locktype),
           (SELECT string_agg(DISTINCT h.mode, ',') FROM pg_locks h
            WHERE h.pid = a.pid AND h.granted
              AND h.relation IN (SELECT relation FROM waits WHERE relation IS NOT NULL))
         FROM involved i JOIN pg_stat_activity a ON a.pid = i.pid
         LEFT JOIN pg_roles r ON r.oid = a.usesysid
         LEFT JOIN blocked b ON b.pid = a.pid
         LEFT JOIN waits w ON w.pid = a.pid
         ORDER BY a.pid"
    );
    let rows = pg.rows(&sql, &[]).await?;
    let flat = rows
        .iter()
        .map(|r| LockNode {
            depth: 0,
            session: from_row(r, 0),
            blocked_by: r.get(14),
            waiting_mode: r.get(15),
            waiting_on: r.get(16),
            held_modes: r.get(17),
        })
        .collect();
    Ok(arrange(flat))
}

/// Depth-first from the roots; a session blocked by two others appears
/// under each. Sessions only reachable through a cycle (a deadlock the
/// server has not broken yet) come last, at depth 0.
pub fn arrange(flat: Vec<LockNode>) -> Vec<LockNode> {
    let pids: HashSet<i32> = flat.iter().map(|n| n.session.pid).collect();
    let mut out = Vec::with_capacity(flat.len());
    let mut placed = HashSet::new();
    let roots: Vec<usize> = (0..flat.len())
        .filter(|&i| !flat[i].blocked_by.iter().any(|b| pids.contains(b)))
        .collect();
    for r in roots {
        walk(&flat, r, 0, &mut Vec::new(), &mut out, &mut placed);
    }
    for (i, n) in flat.iter().enumerate() {
        if !placed.contains(&i) {
            out.push(n.clone());
        }
    }
    out
}

fn walk(
    flat: &[LockNode],
    i: usize,
    depth: usize,
    path: &mut Vec<i32>,
    out: &mut Vec<LockNode>,
    placed: &mut HashSet<usize>,
) {
    let pid = flat[i].session.pid;
    if path.contains(&pid) {
        return;
    }
    placed.insert(i);
    out.push(LockNode {
        depth,
        ..flat[i].clone()
    });
    path.push(pid);
    for (c, n) in flat.iter().enumerate() {
        if n.blocked_by.contains(&pid) {
            walk(flat, c, depth + 1, path, out, placed);
        }
    }
    path.pop();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(pid: i32, by: &[i32]) -> LockNode {
        LockNode {
            depth: 0,
            blocked_by: by.to_vec(),
            waiting_mode: None,
            waiting_on: None,
            held_modes: None,
            session: SessionRow {
                pid,
                username: None,
                database: None,
                application_name: String::new(),
                client: "local".into(),
                state: None,
                wait_event_type: None,
                wait_event: None,
                query_ms: None,
                xact_ms: None,
                state_ms: None,
                query: None,
                idle_in_transaction: false,
                superuser: false,
                own: false,
            },
        }
    }

    #[test]
    fn tree_puts_blockers_first() {
        // 10 blocks 11 and 12; 12 also waits for 11; 20 and 21 deadlock.
        let t = arrange(vec![
            node(12, &[10, 11]),
            node(11, &[10]),
            node(10, &[]),
            node(20, &[21]),
            node(21, &[20]),
        ]);
        let got: Vec<(i32, usize)> = t.iter().map(|n| (n.session.pid, n.depth)).collect();
        assert_eq!(got, [(10, 0), (12, 1), (11, 1), (12, 2), (20, 0), (21, 0)]);
    }
}
