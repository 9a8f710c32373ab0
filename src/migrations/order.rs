//! Migrations applied out of order: one applied after another whose name
//! sorts later. Tools that name migrations by timestamp or number run them
//! in name order, so a late arrival means a branch merged an older
//! migration after a newer one ran.

use super::{Applied, Problem, ProblemKind};

pub(crate) fn out_of_order(applied: &[Applied]) -> Vec<Problem> {
    let mut highest: Option<&str> = None;
    let mut found = Vec::new();
    for a in applied {
        match highest {
            Some(h) if a.name.as_str() < h => found.push(Problem {
                kind: ProblemKind::OutOfOrder,
                migration: a.name.clone(),
                detail: format!("applied after {h}, which sorts later"),
                since: a.at,
            }),
            _ => highest = Some(a.name.as_str()),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(names: &[&str]) -> Vec<Applied> {
        names
            .iter()
            .map(|n| Applied {
                name: n.to_string(),
                at: None,
            })
            .collect()
    }

    #[test]
    fn only_late_arrivals_are_flagged() {
        assert!(out_of_order(&applied(&["001", "002", "003"])).is_empty());
        let late = out_of_order(&applied(&["001", "003", "002", "004"]));
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].migration, "002");
        assert!(late[0].detail.contains("003"));
    }
}
