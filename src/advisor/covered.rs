//! Whether an existing index already serves a candidate: same method, the
//! candidate's keys a leading prefix of the index's (equal for BRIN and
//! GIN), and the same predicate or none. Key texts are compared as
//! `pg_get_indexdef` prints them, without quotes, casts and spacing.

use super::candidates::{Candidate, Method};
use super::catalog::{Index, Table};

fn norm(s: &str) -> String {
    s.replace("::text", "")
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '(' | ')'))
        .collect::<String>()
        .to_lowercase()
}

/// The first word of a key (GIN and BRIN print their operator class after it).
fn key_norm(s: &str, method: Method) -> String {
    match method {
        Method::Btree => norm(s),
        _ => norm(s.split_whitespace().next().unwrap_or(s)),
    }
}

fn serves(i: &Index, c: &Candidate) -> bool {
    if !i.valid || i.method != c.method.as_str() {
        return false;
    }
    let want: Vec<String> = c.key_sql().iter().map(|k| key_norm(k, c.method)).collect();
    let have: Vec<String> = i.keys.iter().map(|k| key_norm(k, c.method)).collect();
    let keys_ok = match c.method {
        Method::Btree => have.len() >= want.len() && have[..want.len()] == want[..],
        _ => have == want,
    };
    let pred_ok = match (&i.predicate, &c.predicate) {
        (None, _) => true,
        (Some(a), Some(b)) => norm(a) == norm(b),
        (Some(_), None) => false,
    };
    keys_ok && pred_ok
}

/// The existing index that serves `c`, if one does.
pub fn covering<'a>(t: &'a Table, c: &Candidate) -> Option<&'a Index> {
    t.indexes.iter().find(|i| serves(i, c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::candidates::Kind;
    use crate::advisor::parse::Key;
    use std::collections::HashMap;

    fn cand(keys: &[(&str, Option<&str>)], method: Method, pred: Option<&str>) -> Candidate {
        Candidate {
            table: "public.t".into(),
            keys: keys
                .iter()
                .map(|(c, f)| Key {
                    column: c.to_string(),
                    func: f.map(str::to_string),
                })
                .collect(),
            method,
            predicate: pred.map(str::to_string),
            subst: HashMap::new(),
            sources: vec![0],
            kind: Kind::Composite,
        }
    }

    fn index(keys: &[&str], method: &str, pred: Option<&str>) -> Index {
        Index {
            name: "i".into(),
            method: method.into(),
            keys: keys.iter().map(|k| k.to_string()).collect(),
            predicate: pred.map(str::to_string),
            unique: false,
            valid: true,
        }
    }

    #[test]
    fn prefixes_predicates_and_methods() {
        let c = cand(&[("tenant_id", None)], Method::Btree, None);
        assert!(serves(
            &index(&["tenant_id", "created_at"], "btree", None),
            &c
        ));
        assert!(!serves(
            &index(&["created_at", "tenant_id"], "btree", None),
            &c
        ));
        assert!(!serves(&index(&["tenant_id"], "hash", None), &c));
        let e = cand(&[("email", Some("lower"))], Method::Btree, None);
        assert!(serves(&index(&["lower(email)"], "btree", None), &e));
        assert!(!serves(&index(&["email"], "btree", None), &e));
        let p = cand(
            &[("a", None)],
            Method::Btree,
            Some("\"status\" <> 'closed'"),
        );
        assert!(serves(
            &index(&["a"], "btree", Some("status <> 'closed'::text")),
            &p
        ));
        assert!(serves(&index(&["a"], "btree", None), &p));
        assert!(!serves(
            &index(&["a"], "btree", Some("status = 'x'::text")),
            &c
        ));
        let g = cand(&[("payload", None)], Method::Gin, None);
        assert!(serves(&index(&["payload jsonb_path_ops"], "gin", None), &g));
        assert!(serves(&index(&["payload"], "gin", None), &g));
    }
}
