//! An EXPLAIN (FORMAT JSON) plan as a flat tree: one node per plan node in
//! depth-first order, with its cost, rows and the share of the work done in
//! the node itself, and the hottest node marked.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanNode {
    pub depth: usize,
    /// `Seq Scan on public.events e`, `Hash Join`, …
    pub label: String,
    pub startup_cost: f64,
    pub total_cost: f64,
    pub plan_rows: f64,
    /// Cost (or, with ANALYZE, time) of this node without its children.
    pub self_cost: f64,
    pub actual_ms: Option<f64>,
    pub actual_rows: Option<f64>,
    /// Filter / index condition / join condition, when the plan has one.
    pub detail: Option<String>,
    /// The node with the largest `self_cost`.
    pub hottest: bool,
}

/// The nodes of the first plan in `json` (EXPLAIN's array of one object).
pub fn flatten(json: &Value) -> Vec<PlanNode> {
    let root = json
        .get(0)
        .and_then(|p| p.get("Plan"))
        .or_else(|| json.get("Plan"));
    let mut out = Vec::new();
    if let Some(root) = root {
        walk(root, 0, &mut out);
    }
    let hottest = out
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.self_cost.total_cmp(&b.1.self_cost))
        .map(|(i, _)| i);
    if let Some(i) = hottest {
        out[i].hottest = true;
    }
    out
}

fn num(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn walk(node: &Value, depth: usize, out: &mut Vec<PlanNode>) {
    let children: &[Value] = node
        .get("Plans")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let total = num(node, "Total Cost").unwrap_or(0.0);
    // ANALYZE times are per loop; the node's own time is its total minus its children's.
    let actual =
        num(node, "Actual Total Time").map(|t| t * num(node, "Actual Loops").unwrap_or(1.0));
    let child_sum = |f: &dyn Fn(&Value) -> f64| children.iter().map(f).sum::<f64>();
    let self_cost = match actual {
        Some(t) => {
            t - child_sum(&|c| {
                num(c, "Actual Total Time").unwrap_or(0.0) * num(c, "Actual Loops").unwrap_or(1.0)
            })
        }
        None => total - child_sum(&|c| num(c, "Total Cost").unwrap_or(0.0)),
    };
    out.push(PlanNode {
        depth,
        label: label(node),
        startup_cost: num(node, "Startup Cost").unwrap_or(0.0),
        total_cost: total,
        plan_rows: num(node, "Plan Rows").unwrap_or(0.0),
        self_cost: self_cost.max(0.0),
        actual_ms: actual,
        actual_rows: num(node, "Actual Rows"),
        detail: [
            "Index Cond",
            "Hash Cond",
            "Merge Cond",
            "Join Filter",
            "Filter",
        ]
        .iter()
        .find_map(|k| node.get(*k).and_then(Value::as_str))
        .map(str::to_string),
        hottest: false,
    });
    for c in children {
        walk(c, depth + 1, out);
    }
}

fn label(node: &Value) -> String {
    let s = |k: &str| node.get(k).and_then(Value::as_str);
    let mut l = s("Node Type").unwrap_or("?").to_string();
    if let Some(idx) = s("Index Name") {
        l.push_str(&format!(" using {idx}"));
    }
    if let Some(rel) = s("Relation Name") {
        match s("Schema") {
            Some(schema) => l.push_str(&format!(" on {schema}.{rel}")),
            None => l.push_str(&format!(" on {rel}")),
        }
        if let Some(alias) = s("Alias").filter(|a| *a != rel) {
            l.push_str(&format!(" {alias}"));
        }
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hottest_node_is_the_one_doing_the_work() {
        let plan = json!([{"Plan": {
        "Node Type": "Hash Join", "Startup Cost": 10.0, "Total Cost": 1200.0, "Plan Rows": 50.0,
        "Hash Cond": "(e.tenant_id = t.id)",
        "Plans": [
            {"Node Type": "Seq Scan", "Relation Name": "events", "Schema": "public", "Alias": "e",
             "Startup Cost": 0.0, "Total Cost": 1000.0, "Plan Rows": 10000.0, "Filter": "(kind = $1)"},
            {"Node Type": "Hash", "Startup Cost": 5.0, "Total Cost": 150.0, "Plan Rows": 100.0,
             "Plans": [{"Node Type": "Index Scan", "Index Name": "tenants_pkey", "Relation Name": "tenants",
                        "Alias": "tenants", "Startup Cost": 0.0, "Total Cost": 140.0, "Plan Rows": 100.0}]}
        ]}}]);
        let nodes = flatten(&plan);
        let labels: Vec<_> = nodes.iter().map(|n| (n.depth, n.label.as_str())).collect();
        assert_eq!(
            labels,
            [
                (0, "Hash Join"),
                (1, "Seq Scan on public.events e"),
                (1, "Hash"),
                (2, "Index Scan using tenants_pkey on tenants"),
            ]
        );
        let hot: Vec<_> = nodes.iter().filter(|n| n.hottest).collect();
        assert_eq!(hot.len(), 1);
        assert_eq!(hot[0].label, "Seq Scan on public.events e");
        assert_eq!(nodes[0].self_cost, 50.0);
        assert_eq!(nodes[1].detail.as_deref(), Some("(kind = $1)"));
    }

    #[test]
    fn empty_or_odd_json_gives_no_nodes() {
        assert!(flatten(&json!([])).is_empty());
        assert!(flatten(&json!({"x": 1})).is_empty());
    }
}
