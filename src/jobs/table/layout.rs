//! What a configured table really has: its columns and their types, read
//! from the catalog in one round trip, so that SQL built from the config
//! names only columns that exist and casts parameters to the columns' own
//! types (an index on the id or state column then serves the lookup).

use crate::conn::sql::{quote_ident, QualName};
use crate::conn::Pg;
use crate::error::{Error, Result};
use std::collections::HashMap;

/// A configured column that exists, with its type as SQL spells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub ty: String,
    /// The labels, when the column is an enum.
    pub labels: Option<Vec<String>>,
}

impl Column {
    /// `t."name"`.
    pub fn sql(&self) -> String {
        format!("t.{}", quote_ident(&self.name))
    }

    /// The bare quoted name, for `SET` lists.
    pub fn ident(&self) -> String {
        quote_ident(&self.name)
    }

    /// As jsonb, whatever the column holds.
    pub fn jsonb(&self) -> String {
        match self.ty.as_str() {
            "jsonb" | "json" => format!("{}::jsonb", self.sql()),
            _ => format!("to_jsonb({})", self.sql()),
        }
    }

    /// Of `values`, the ones the column can hold: an enum's labels (a cast
    /// of any other text would fail the statement), or all of them.
    pub fn holdable(&self, values: &[String]) -> Vec<String> {
        values
            .iter()
            .filter(|v| self.labels.as_ref().is_none_or(|l| l.contains(v)))
            .cloned()
            .collect()
    }

    /// Whether ids of this type can be checked in Rust before the server
    /// casts them (a bad one would fail the whole batch).
    pub fn accepts(&self, id: &str) -> bool {
        match self.ty.as_str() {
            "bigint" | "integer" | "smallint" => id.parse::<i64>().is_ok(),
            "uuid" => {
                let hex: String = id.chars().filter(|c| *c != '-').collect();
                hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
            }
            _ => true,
        }
    }
}

/// The table's columns by name.
pub struct Layout {
    pub table: QualName,
    columns: HashMap<String, (String, Option<Vec<String>>)>,
}

impl Layout {
    /// Reads `table`'s columns; an error naming the config section when the
    /// table does not exist.
    pub async fn read(pg: &Pg, table: &QualName, section: &str) -> Result<Layout> {
        let rows = pg
            .rows(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod),
                    (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                     FROM pg_enum e WHERE e.enumtypid = a.atttypid)
                 FROM pg_attribute a
                 WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
                &[&table.sql()],
            )
            .await?;
        if rows.is_empty() {
            return Err(Error::Config(format!(
                "the table {} named in the context's [{section}] section does not exist (or this role cannot see it); fix `table` there",
                table.display()
            )));
        }
        Ok(Layout {
            table: table.clone(),
            columns: rows
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect(),
        })
    }

    /// Resolves every `(config key, column name)`; the error lists all the
    /// missing ones at once.
    pub fn columns(
        &self,
        section: &str,
        wanted: &[(&str, Option<&str>)],
    ) -> Result<Vec<Option<Column>>> {
        let mut missing = Vec::new();
        let found = wanted
            .iter()
            .map(|(key, name)| {
                let name = (*name)?;
                match self.columns.get(name) {
                    Some((ty, labels)) => Some(Column {
                        name: name.to_string(),
                        ty: ty.clone(),
                        labels: labels.clone(),
                    }),
                    None => {
                        missing.push(format!("{name} ({key})"));
                        None
                    }
                }
            })
            .collect();
        if missing.is_empty() {
            Ok(found)
        } else {
            Err(Error::Config(format!(
                "{} has no column {}; fix the column names in the context's [{section}] section",
                self.table.display(),
                missing.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(ty: &str) -> Column {
        Column {
            name: "id".into(),
            ty: ty.into(),
            labels: None,
        }
    }

    #[test]
    fn enum_columns_hold_only_their_labels() {
        let mut c = col("app.status");
        let values = vec!["queued".to_string(), "pending".to_string()];
        assert_eq!(c.holdable(&values), values);
        c.labels = Some(vec!["queued".into(), "dead".into()]);
        assert_eq!(c.holdable(&values), vec!["queued".to_string()]);
    }

    #[test]
    fn ids_are_checked_against_their_type() {
        assert!(col("bigint").accepts("42"));
        assert!(!col("bigint").accepts("4x"));
        assert!(col("uuid").accepts("0b5e3c9e-36a1-4f6b-9d0e-6f1f5d7a2b11"));
        assert!(!col("uuid").accepts("0b5e3c9e"));
        assert!(col("text").accepts("anything, really"));
    }

    #[test]
    fn payloads_become_jsonb() {
        assert_eq!(col("jsonb").jsonb(), "t.\"id\"::jsonb");
        assert_eq!(col("text").jsonb(), "to_jsonb(t.\"id\")");
    }
}
