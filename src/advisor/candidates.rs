//! Candidate indexes from the workload's table uses: composite btree with
//! the equality (and join) columns first, then one range column or the sort
//! columns; expression keys as the predicate writes them; partial when a
//! predicate is constant (`deleted_at IS NULL`, or `status <> $n` on a
//! column one value dominates); BRIN for a range on an append-only column
//! laid out in its order; GIN for jsonb containment.

use super::catalog::Table;
use super::parse::{Key, TableUse};
use crate::conn::sql::quote_ident;
use std::collections::HashMap;

/// Tables smaller than this are read whole faster than through an index.
pub const MIN_ROWS: f64 = 10_000.0;
/// BRIN pays off only on big tables.
const BRIN_MIN_ROWS: f64 = 100_000.0;
/// A range column whose values follow the physical row order this closely.
const BRIN_CORRELATION: f32 = 0.9;
/// `col <> $n` becomes a partial index when one value holds this share of rows.
const DOMINANT_SHARE: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Btree,
    Brin,
    Gin,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Btree => "btree",
            Method::Brin => "brin",
            Method::Gin => "gin",
        }
    }
}

/// Why a candidate was proposed, for its reason text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Composite,
    Expression,
    Partial,
    Brin,
    Gin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The table as the workload writes it (key of the catalog map).
    pub table: String,
    pub keys: Vec<Key>,
    pub method: Method,
    pub predicate: Option<String>,
    /// Parameters a partial predicate fixes, per statement: `$n` = literal.
    pub subst: HashMap<usize, Vec<(usize, String)>>,
    /// The statements whose predicates produced it (workload positions).
    pub sources: Vec<usize>,
    pub kind: Kind,
}

impl Candidate {
    /// Key list for CREATE INDEX: quoted columns, expressions in parentheses.
    pub fn key_sql(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| {
                let col = quote_ident(&k.column);
                match (&k.func, self.method) {
                    (Some(f), _) => format!("({f}({col}))"),
                    (None, Method::Gin) => format!("{col} jsonb_path_ops"),
                    (None, _) => col,
                }
            })
            .collect()
    }

    /// Columns as the JSON shows them: `email`, `lower(email)`.
    pub fn column_names(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| match &k.func {
                Some(f) => format!("{f}({})", k.column),
                None => k.column.clone(),
            })
            .collect()
    }

    /// `CREATE INDEX [CONCURRENTLY] [name] ON schema.table USING … (…) [WHERE …]`.
    pub fn create_sql(&self, t: &Table, concurrently: bool, name: Option<&str>) -> String {
        let mut sql = String::from("CREATE INDEX ");
        if concurrently {
            sql.push_str("CONCURRENTLY ");
        }
        if let Some(n) = name {
            sql.push_str(&quote_ident(n));
            sql.push(' ');
        }
        sql.push_str(&format!(
            "ON {}.{} USING {} ({})",
            quote_ident(&t.schema),
            quote_ident(&t.name),
            self.method.as_str(),
            self.key_sql().join(", ")
        ));
        if let Some(p) = &self.predicate {
            sql.push_str(&format!(" WHERE {p}"));
        }
        sql
    }

    /// A readable name: table, key columns, method when not btree, and what
    /// a partial index keeps; at most 63 bytes, as Postgres allows.
    pub fn name(&self, t: &Table) -> String {
        let mut parts = vec![t.name.clone()];
        parts.extend(self.keys.iter().map(|k| match &k.func {
            Some(f) => format!("{f}_{}", k.column),
            None => k.column.clone(),
        }));
        if self.method != Method::Btree {
            parts.push(self.method.as_str().to_string());
        }
        if let Some(p) = &self.predicate {
            parts.push(predicate_word(p));
        }
        parts.push("idx".into());
        let mut name: String = parts
            .join("_")
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '_' })
            .collect();
        while name.contains("__") {
            name = name.replace("__", "_");
        }
        while name.len() > 63 {
            name.pop();
        }
        name
    }

    fn same_index(&self, o: &Candidate) -> bool {
        self.table == o.table
            && self.keys == o.keys
            && self.method == o.method
            && self.predicate == o.predicate
    }
}

/// `"deleted_at" IS NULL` → `live`-style words: `no_deleted_at`, `not_closed`.
fn predicate_word(p: &str) -> String {
    let words: Vec<String> = p
        .split(" AND ")
        .map(|term| {
            let bare = term.replace('"', "");
            if let Some(c) = bare.strip_suffix(" IS NULL") {
                format!("no_{c}")
            } else if let Some((_, v)) = bare.split_once(" <> ") {
                format!("not_{}", v.trim_matches('\''))
            } else {
                "partial".into()
            }
        })
        .collect();
    words.join("_")
}

/// A string constant for an index predicate.
fn literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// Distinct values of a column, from pg_stats (negative: a share of rows).
fn distinct(t: &Table, col: &str) -> f64 {
    match t.column(col).and_then(|c| c.n_distinct) {
        Some(n) if n < 0.0 => -(n as f64) * t.rows,
        Some(n) => n as f64,
        None => 1.0,
    }
}

fn push_unique(v: &mut Vec<Key>, k: &Key) {
    if !v.contains(k) {
        v.push(k.clone());
    }
}

/// Candidates for statement `stmt`'s use `u` of table `t`.
fn for_use(stmt: usize, u: &TableUse, t: &Table) -> Vec<Candidate> {
    if t.rows < MIN_ROWS {
        return Vec::new();
    }
    let has = |k: &Key| t.column(&k.column).is_some();
    let mut preds = Vec::new();
    let mut subst = Vec::new();
    for c in u.is_null.iter().filter(|c| t.column(c).is_some()) {
        preds.push(format!("{} IS NULL", quote_ident(c)));
    }
    for (c, n) in &u.not_eq {
        let dominant = t
            .column(c)
            .and_then(|col| col.top_value.clone())
            .filter(|(_, share)| *share >= DOMINANT_SHARE);
        if let Some((v, _)) = dominant {
            preds.push(format!("{} <> {}", quote_ident(c), literal(&v)));
            subst.push((*n, literal(&v)));
        }
    }
    preds.dedup();
    let in_pred = |k: &Key| u.is_null.contains(&k.column);
    let mut eq: Vec<Key> = Vec::new();
    for k in u.eq.iter().chain(&u.join).filter(|k| has(k) && !in_pred(k)) {
        push_unique(&mut eq, k);
    }
    eq.sort_by(|a, b| distinct(t, &b.column).total_cmp(&distinct(t, &a.column)));
    let range: Vec<&Key> = u.range.iter().filter(|k| has(k)).collect();
    let sort: Vec<&Key> = u.sort.iter().filter(|k| has(k)).collect();
    let mut out = Vec::new();
    let base = |keys: Vec<Key>, method, predicate: Option<String>, kind| Candidate {
        table: t.display(),
        keys,
        method,
        predicate: predicate.clone(),
        subst: if predicate.is_some() && !subst.is_empty() {
            HashMap::from([(stmt, subst.clone())])
        } else {
            HashMap::new()
        },
        sources: vec![stmt],
        kind,
    };
    for c in &u.contains {
        if t.column(c).is_some_and(|col| col.type_name == "jsonb") {
            out.push(base(
                vec![Key {
                    column: c.clone(),
                    func: None,
                }],
                Method::Gin,
                None,
                Kind::Gin,
            ));
        }
    }
    if eq.is_empty() {
        if let Some(r) = range.first().filter(|r| r.func.is_none()) {
            let ordered = t
                .column(&r.column)
                .and_then(|c| c.correlation)
                .is_some_and(|c| c.abs() >= BRIN_CORRELATION);
            if ordered && t.rows >= BRIN_MIN_ROWS && t.append_only() {
                out.push(base(vec![(*r).clone()], Method::Brin, None, Kind::Brin));
                return out;
            }
        }
    }
    let mut keys = eq;
    match range.first() {
        Some(r) => push_unique(&mut keys, r),
        None => sort.iter().take(2).for_each(|s| push_unique(&mut keys, s)),
    }
    keys.truncate(4);
    if keys.is_empty() {
        return out;
    }
    let predicate = (!preds.is_empty()).then(|| preds.join(" AND "));
    let kind = if predicate.is_some() {
        Kind::Partial
    } else if keys.iter().any(|k| k.func.is_some()) {
        Kind::Expression
    } else {
        Kind::Composite
    };
    out.push(base(keys, Method::Btree, predicate, kind));
    out
}

/// Every candidate of the workload, the same index proposed by several
/// statements merged into one.
pub fn generate(uses: &[(usize, TableUse)], tables: &HashMap<String, Table>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for (stmt, u) in uses {
        let Some(t) = tables.get(&u.table) else {
            continue;
        };
        for c in for_use(*stmt, u, t) {
            match out.iter_mut().find(|o| o.same_index(&c)) {
                Some(o) => {
                    o.sources.extend(c.sources);
                    o.subst.extend(c.subst);
                }
                None => out.push(c),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::advisor::catalog::Column;
    use crate::advisor::parse::table_uses;

    fn col(name: &str, ty: &str, distinct: f32, corr: f32, top: Option<(&str, f32)>) -> Column {
        Column {
            name: name.into(),
            type_name: ty.into(),
            avg_width: Some(8),
            n_distinct: Some(distinct),
            correlation: Some(corr),
            top_value: top.map(|(v, f)| (v.to_string(), f)),
        }
    }

    fn table(name: &str, rows: f64) -> Table {
        Table {
            oid: 1,
            schema: "public".into(),
            name: name.into(),
            rows,
            pages: (rows / 50.0) as i64,
            columns: vec![
                col("tenant_id", "bigint", 2000.0, 0.1, None),
                col("created_at", "timestamp with time zone", -1.0, 0.99, None),
                col("status", "text", 3.0, 0.3, Some(("closed", 0.9))),
                col("payload", "jsonb", -1.0, 0.0, None),
                col("Weird \"Col\"", "text", -1.0, 0.0, None),
            ],
            indexes: Vec::new(),
            inserts: 1000,
            updates: 0,
            deletes: 0,
            stats_secs: 100.0,
        }
    }

    fn cands(sql: &str, t: Table) -> Vec<Candidate> {
        let uses: Vec<(usize, TableUse)> = table_uses(sql).into_iter().map(|u| (0, u)).collect();
        let tables = HashMap::from([(uses[0].1.table.clone(), t)]);
        generate(&uses, &tables)
    }

    #[test]
    fn kinds_from_predicates_and_statistics() {
        let big = || table("events", 1_000_000.0);
        let c = cands(
            "SELECT * FROM events WHERE tenant_id = $1 AND created_at > $2 ORDER BY created_at",
            big(),
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].column_names(), ["tenant_id", "created_at"]);
        let c = cands(
            "SELECT count(*) FROM events WHERE created_at >= $1 AND created_at < $2",
            big(),
        );
        assert_eq!((c[0].method, c[0].kind), (Method::Brin, Kind::Brin));
        let mut updated = big();
        updated.updates = 500;
        let c = cands(
            "SELECT count(*) FROM events WHERE created_at >= $1 AND created_at < $2",
            updated,
        );
        assert_eq!(c[0].method, Method::Btree, "not append-only: no BRIN");
        let c = cands("SELECT id FROM events WHERE payload @> $1", big());
        assert_eq!(c[0].method, Method::Gin);
        let c = cands(
            "SELECT id FROM events WHERE status <> $1 ORDER BY created_at LIMIT $2",
            big(),
        );
        assert_eq!(c[0].predicate.as_deref(), Some("\"status\" <> 'closed'"));
        assert_eq!(c[0].subst[&0], [(1, "'closed'".to_string())]);
        assert!(cands(
            "SELECT id FROM events WHERE tenant_id = $1",
            table("events", 500.0)
        )
        .is_empty());
    }

    #[test]
    fn names_and_sql_quote_what_they_must() {
        let t = table("Événements", 1_000_000.0);
        let c = cands(
            "SELECT 1 FROM \"Événements\" WHERE \"Weird \"\"Col\"\"\" = $1 AND lower(status) = $2",
            t.clone(),
        );
        let c = &c[0];
        assert_eq!(
            c.create_sql(&t, true, Some(&c.name(&t))),
            "CREATE INDEX CONCURRENTLY \"événements_weird_col_lower_status_idx\" ON \"public\".\"Événements\" USING btree (\"Weird \"\"Col\"\"\", (lower(\"status\")))"
        );
        assert!(c.name(&t).len() <= 63);
    }
}
