//! Normalized SQL (`$n` parameters, as pg_stat_statements keeps it) to what
//! an index could serve, per table reference: equality, range, join, sort,
//! containment and constant predicates. Parsed with sqlparser's PostgreSQL
//! dialect; statements it cannot parse (or that read no table) give nothing.

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, Join, JoinConstraint,
    JoinOperator, ObjectName, OrderByKind, Query, Select, SetExpr, Statement, TableFactor,
    TableWithJoins, Value,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

/// A column, or an expression over one (`lower(email)`), as an index key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub column: String,
    /// The function applied to the column (`lower`), if any.
    pub func: Option<String>,
}

impl Key {
    fn col(c: &str) -> Key {
        Key {
            column: c.to_string(),
            func: None,
        }
    }
}

/// What one statement asks of one table it reads.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableUse {
    /// The table as written (`users`, `public.users`), for `to_regclass`.
    pub table: String,
    pub eq: Vec<Key>,
    pub range: Vec<Key>,
    /// Columns joined to another table's (an equality at run time).
    pub join: Vec<Key>,
    pub sort: Vec<Key>,
    /// jsonb `@>` columns.
    pub contains: Vec<String>,
    pub is_null: Vec<String>,
    pub not_null: Vec<String>,
    /// `col <> $n`: the column and the parameter's number.
    pub not_eq: Vec<(String, usize)>,
}

impl TableUse {
    /// Whether anything here could use an index.
    pub fn any(&self) -> bool {
        !(self.eq.is_empty()
            && self.range.is_empty()
            && self.join.is_empty()
            && self.sort.is_empty()
            && self.contains.is_empty())
    }
}

/// One table reference in scope: its name and what names it in the query.
struct Scope {
    tables: Vec<(String, String)>,
}

impl Scope {
    /// The uses a column reference belongs to: by qualifier, or every table
    /// in scope for a bare name (the catalog later keeps the table that has it).
    fn owners(&self, qualifier: Option<&str>) -> Vec<usize> {
        match qualifier {
            Some(q) => self
                .tables
                .iter()
                .position(|(_, alias)| alias == q)
                .into_iter()
                .collect(),
            None => (0..self.tables.len()).collect(),
        }
    }
}

/// Parses `sql` into its table uses; empty when it does not parse.
pub fn table_uses(sql: &str) -> Vec<TableUse> {
    let Ok(stmts) = Parser::parse_sql(&PostgreSqlDialect {}, sql) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in &stmts {
        match s {
            Statement::Query(q) => query(q, &mut out),
            Statement::Update {
                table, selection, ..
            } => {
                let mut w = Walk::new(std::slice::from_ref(table), &mut out);
                if let Some(e) = selection {
                    w.predicate(e);
                }
                w.finish();
            }
            Statement::Delete(d) => {
                let from = match &d.from {
                    sqlparser::ast::FromTable::WithFromKeyword(f)
                    | sqlparser::ast::FromTable::WithoutKeyword(f) => f,
                };
                let mut w = Walk::new(from, &mut out);
                if let Some(e) = &d.selection {
                    w.predicate(e);
                }
                w.finish();
            }
            _ => {}
        }
    }
    out.retain(TableUse::any);
    out
}

fn query(q: &Query, out: &mut Vec<TableUse>) {
    if let Some(with) = &q.with {
        for cte in &with.cte_tables {
            query(&cte.query, out);
        }
    }
    let order: Vec<&Expr> = match q.order_by.as_ref().map(|o| &o.kind) {
        Some(OrderByKind::Expressions(e)) => e.iter().map(|o| &o.expr).collect(),
        _ => Vec::new(),
    };
    set_expr(&q.body, &order, out);
}

fn set_expr(body: &SetExpr, order: &[&Expr], out: &mut Vec<TableUse>) {
    match body {
        SetExpr::Select(s) => select(s, order, out),
        SetExpr::Query(q) => query(q, out),
        SetExpr::SetOperation { left, right, .. } => {
            set_expr(left, &[], out);
            set_expr(right, &[], out);
        }
        _ => {}
    }
}

fn select(s: &Select, order: &[&Expr], out: &mut Vec<TableUse>) {
    let mut w = Walk::new(&s.from, out);
    if let Some(e) = &s.selection {
        w.predicate(e);
    }
    for e in order {
        w.sort(e);
    }
    w.finish();
}

/// The uses of one SELECT's (or UPDATE's, DELETE's) tables being filled.
struct Walk<'a> {
    scope: Scope,
    uses: Vec<TableUse>,
    out: &'a mut Vec<TableUse>,
    nested: Vec<Query>,
}

impl<'a> Walk<'a> {
    fn new(from: &[TableWithJoins], out: &'a mut Vec<TableUse>) -> Walk<'a> {
        let mut w = Walk {
            scope: Scope { tables: Vec::new() },
            uses: Vec::new(),
            out,
            nested: Vec::new(),
        };
        let mut ons = Vec::new();
        for t in from {
            w.factor(&t.relation);
            for Join {
                relation,
                join_operator,
                ..
            } in &t.joins
            {
                w.factor(relation);
                if let Some(JoinConstraint::On(e)) = constraint(join_operator) {
                    ons.push(e.clone());
                }
            }
        }
        for e in &ons {
            w.predicate(e);
        }
        w
    }

    fn factor(&mut self, f: &TableFactor) {
        match f {
            TableFactor::Table { name, alias, .. } => {
                let written = name_text(name);
                let last = name
                    .0
                    .last()
                    .and_then(|p| p.as_ident())
                    .map(|i| i.value.clone())
                    .unwrap_or_default();
                let alias = alias.as_ref().map(|a| a.name.value.clone()).unwrap_or(last);
                self.scope.tables.push((written.clone(), alias));
                self.uses.push(TableUse {
                    table: written,
                    ..TableUse::default()
                });
            }
            TableFactor::Derived { subquery, .. } => self.nested.push((**subquery).clone()),
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => {
                self.factor(&table_with_joins.relation);
                for j in &table_with_joins.joins {
                    self.factor(&j.relation);
                }
            }
            _ => {}
        }
    }

    fn finish(self) {
        let Walk {
            uses, out, nested, ..
        } = self;
        out.extend(uses);
        for q in &nested {
            query(q, out);
        }
    }

    /// A column reference: (qualifier, column).
    fn column(e: &Expr) -> Option<(Option<String>, String)> {
        match e {
            Expr::Identifier(i) => Some((None, i.value.clone())),
            Expr::CompoundIdentifier(parts) if parts.len() >= 2 => {
                let n = parts.len();
                Some((Some(parts[n - 2].value.clone()), parts[n - 1].value.clone()))
            }
            Expr::Nested(inner) => Walk::column(inner),
            Expr::Cast { expr, .. } => Walk::column(expr),
            _ => None,
        }
    }

    /// A column or `f(column)` with a single argument.
    fn key(e: &Expr) -> Option<(Option<String>, Key)> {
        if let Some((q, c)) = Walk::column(e) {
            return Some((q, Key::col(&c)));
        }
        let Expr::Function(f) = e else { return None };
        let FunctionArguments::List(list) = &f.args else {
            return None;
        };
        let [FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))] = list.args.as_slice() else {
            return None;
        };
        let (q, c) = Walk::column(arg)?;
        let func = name_text(&f.name).to_lowercase();
        matches!(func.as_str(), "lower" | "upper" | "date" | "trim").then_some((
            q,
            Key {
                column: c,
                func: Some(func),
            },
        ))
    }

    /// Something that holds no column of this query: a parameter, a
    /// constant, a call over those.
    fn is_value(e: &Expr) -> bool {
        match e {
            Expr::Value(_) | Expr::TypedString { .. } => true,
            Expr::Cast { expr, .. } | Expr::Nested(expr) | Expr::UnaryOp { expr, .. } => {
                Walk::is_value(expr)
            }
            Expr::BinaryOp { left, right, .. } => Walk::is_value(left) && Walk::is_value(right),
            Expr::Function(f) => match &f.args {
                FunctionArguments::None => true,
                FunctionArguments::List(l) => l.args.iter().all(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Walk::is_value(e),
                    _ => false,
                }),
                FunctionArguments::Subquery(_) => false,
            },
            _ => false,
        }
    }

    fn param(e: &Expr) -> Option<usize> {
        match e {
            Expr::Value(v) => match &v.value {
                Value::Placeholder(p) => p.strip_prefix('$')?.parse().ok(),
                _ => None,
            },
            Expr::Cast { expr, .. } | Expr::Nested(expr) => Walk::param(expr),
            _ => None,
        }
    }

    fn each(&mut self, qualifier: Option<&str>, f: impl Fn(&mut TableUse)) {
        for i in self.scope.owners(qualifier) {
            f(&mut self.uses[i]);
        }
    }

    fn predicate(&mut self, e: &Expr) {
        match e {
            Expr::Nested(inner) => self.predicate(inner),
            Expr::BinaryOp {
                left,
                op: BinaryOperator::And,
                right,
            } => {
                self.predicate(left);
                self.predicate(right);
            }
            Expr::BinaryOp { left, op, right } => self.comparison(left, op, right),
            Expr::Between {
                expr,
                negated: false,
                low,
                high,
            } if Walk::is_value(low) && Walk::is_value(high) => {
                if let Some((q, k)) = Walk::key(expr) {
                    self.each(q.as_deref(), |u| u.range.push(k.clone()));
                }
            }
            Expr::InList {
                expr,
                list,
                negated: false,
            } if list.iter().all(Walk::is_value) => {
                if let Some((q, k)) = Walk::key(expr) {
                    self.each(q.as_deref(), |u| u.eq.push(k.clone()));
                }
            }
            Expr::AnyOp {
                left,
                compare_op: BinaryOperator::Eq,
                right,
                ..
            } if Walk::is_value(right) => {
                if let Some((q, k)) = Walk::key(left) {
                    self.each(q.as_deref(), |u| u.eq.push(k.clone()));
                }
            }
            Expr::IsNull(inner) => {
                if let Some((q, c)) = Walk::column(inner) {
                    self.each(q.as_deref(), |u| u.is_null.push(c.clone()));
                }
            }
            Expr::IsNotNull(inner) => {
                if let Some((q, c)) = Walk::column(inner) {
                    self.each(q.as_deref(), |u| u.not_null.push(c.clone()));
                }
            }
            Expr::Exists { subquery, .. } => self.nested.push((**subquery).clone()),
            Expr::InSubquery { expr, subquery, .. } => {
                if let Some((q, k)) = Walk::key(expr) {
                    self.each(q.as_deref(), |u| u.join.push(k.clone()));
                }
                self.nested.push((**subquery).clone());
            }
            _ => {}
        }
    }

    fn comparison(&mut self, left: &Expr, op: &BinaryOperator, right: &Expr) {
        // Written either way round: `$1 < col` is `col > $1`.
        let (k, other) = match (Walk::key(left), Walk::key(right)) {
            (Some(l), Some(r)) => {
                if *op == BinaryOperator::Eq {
                    self.each(l.0.as_deref(), |u| u.join.push(l.1.clone()));
                    self.each(r.0.as_deref(), |u| u.join.push(r.1.clone()));
                }
                return;
            }
            (Some(k), None) => (k, right),
            (None, Some(k)) => (k, left),
            (None, None) => return,
        };
        if !Walk::is_value(other) {
            return;
        }
        let (q, key) = k;
        match op {
            BinaryOperator::Eq => self.each(q.as_deref(), |u| u.eq.push(key.clone())),
            BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => self.each(q.as_deref(), |u| u.range.push(key.clone())),
            BinaryOperator::AtArrow if key.func.is_none() => {
                self.each(q.as_deref(), |u| u.contains.push(key.column.clone()))
            }
            BinaryOperator::NotEq if key.func.is_none() => {
                if let Some(n) = Walk::param(other) {
                    self.each(q.as_deref(), |u| u.not_eq.push((key.column.clone(), n)));
                }
            }
            _ => {}
        }
    }

    fn sort(&mut self, e: &Expr) {
        if let Some((q, k)) = Walk::key(e) {
            self.each(q.as_deref(), |u| u.sort.push(k.clone()));
        }
    }
}

fn constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c) => Some(c),
        _ => None,
    }
}

/// A table name as written, quoted parts kept quoted (for `to_regclass`).
fn name_text(name: &ObjectName) -> String {
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(c: &str) -> Key {
        Key::col(c)
    }

    #[test]
    fn equality_range_and_sort() {
        let u = table_uses(
            "SELECT id, total FROM orders WHERE tenant_id = $1 AND created_at >= $2 ORDER BY created_at DESC LIMIT $3",
        );
        assert_eq!(u.len(), 1);
        assert_eq!(u[0].table, "orders");
        assert_eq!(u[0].eq, [k("tenant_id")]);
        assert_eq!(u[0].range, [k("created_at")]);
        assert_eq!(u[0].sort, [k("created_at")]);
    }

    #[test]
    fn aliases_joins_and_expressions() {
        let u = table_uses(
            "SELECT u.id FROM public.users u JOIN orders o ON o.user_id = u.id WHERE lower(u.email) = $1 AND o.status <> $2 AND u.deleted_at IS NULL",
        );
        assert_eq!(u.len(), 2);
        let users = &u[0];
        assert_eq!(users.table, "public.users");
        assert_eq!(
            users.eq,
            [Key {
                column: "email".into(),
                func: Some("lower".into())
            }]
        );
        assert_eq!(users.join, [k("id")]);
        assert_eq!(users.is_null, ["deleted_at"]);
        assert_eq!(u[1].join, [k("user_id")]);
        assert_eq!(u[1].not_eq, [("status".to_string(), 2)]);
    }

    #[test]
    fn containment_between_updates_and_subqueries() {
        let u = table_uses("SELECT id FROM events WHERE payload @> $1::jsonb");
        assert_eq!(u[0].contains, ["payload"]);
        let u = table_uses("SELECT count(*) FROM events WHERE created_at BETWEEN $1 AND $2");
        assert_eq!(u[0].range, [k("created_at")]);
        let u = table_uses("UPDATE tickets SET status = $1 WHERE id = $2");
        assert_eq!(u[0].eq, [k("id")]);
        let u = table_uses(
            "SELECT * FROM (SELECT id FROM invoices WHERE customer_id = $1) x WHERE EXISTS (SELECT 1 FROM notes n WHERE n.invoice_id = $2)",
        );
        let tables: Vec<_> = u.iter().map(|t| t.table.as_str()).collect();
        assert_eq!(tables, ["invoices", "notes"]);
    }

    #[test]
    fn nothing_from_what_does_not_parse_or_filter() {
        assert!(table_uses("SELEC nonsense").is_empty());
        assert!(table_uses("SELECT 1").is_empty());
        assert!(table_uses("SELECT count(*) FROM t").is_empty());
        assert!(table_uses("INSERT INTO t VALUES ($1)").is_empty());
    }
}
