//! Quoting for SQL text built from configured names: identifiers, qualified
//! table names, the few literals COPY forces us to inline, and LIKE patterns.

use crate::error::{Error, Result};

/// `name` as a quoted identifier; embedded double quotes are doubled.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `expr` (a timestamp) as RFC 3339 UTC text, seconds precision.
pub fn rfc3339(expr: &str) -> String {
    format!("to_char({expr}::timestamptz AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')")
}

/// A table name from the config, split into schema and table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QualName {
    pub schema: String,
    pub table: String,
}

impl QualName {
    /// Parses `table`, `schema.table` or quoted parts (`"my.schema"."T"`);
    /// an unqualified name lives in `default_schema`. Bare parts are taken
    /// literally (no case folding) because config names are written as stored.
    pub fn parse(text: &str, default_schema: &str) -> Result<QualName> {
        let parts = split_parts(text)
            .ok_or_else(|| Error::Config(format!("invalid table name '{text}' in the schema mapping; write table, schema.table or \"quoted\".\"parts\"")))?;
        match parts.as_slice() {
            [t] => Ok(QualName {
                schema: default_schema.to_string(),
                table: t.clone(),
            }),
            [s, t] => Ok(QualName {
                schema: s.clone(),
                table: t.clone(),
            }),
            _ => Err(Error::Config(format!(
                "invalid table name '{text}' in the schema mapping; write table or schema.table"
            ))),
        }
    }

    /// Both parts quoted, for SQL text.
    pub fn sql(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.table))
    }

    /// `schema.table` as operators read it (JSON output, messages).
    pub fn display(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }
}

fn split_parts(text: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next()? {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    '"' => break,
                    c => part.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' || c == '"' {
                    break;
                }
                part.push(c);
                chars.next();
            }
        }
        if part.is_empty() {
            return None;
        }
        parts.push(part);
        match chars.next() {
            None => return Some(parts),
            Some('.') => continue,
            Some(_) => return None,
        }
    }
}

/// A string literal for the rare statement that cannot take bind parameters
/// (COPY). The `E''` form escapes backslashes and quotes, so the result is
/// exact whatever `standard_conforming_strings` says.
pub fn literal(value: &str) -> Result<String> {
    if value.contains('\0') {
        return Err(Error::Usage(
            "text contains a NUL character, which Postgres cannot store; remove it".into(),
        ));
    }
    Ok(format!(
        "E'{}'",
        value.replace('\\', "\\\\").replace('\'', "''")
    ))
}

/// A Postgres text array literal for a `$n::text[]` parameter: every
/// element quoted, `"` and `\` escaped.
pub fn text_array<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items
        .iter()
        .map(|s| {
            let s = s.as_ref();
            format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
        })
        .collect();
    format!("{{{}}}", quoted.join(","))
}

/// `%text%` for ILIKE with the user's own `%`, `_` and `\` matched literally.
pub fn contains_pattern(text: &str) -> String {
    let mut p = String::with_capacity(text.len() + 2);
    p.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_array_elements_are_quoted() {
        assert_eq!(text_array(&["1", "a\"b\\c"]), r#"{"1","a\"b\\c"}"#);
        assert_eq!(text_array::<&str>(&[]), "{}");
    }

    #[test]
    fn idents_double_embedded_quotes() {
        assert_eq!(quote_ident("tenants"), "\"tenants\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_ident("Ünï 🚀"), "\"Ünï 🚀\"");
    }

    #[test]
    fn qualified_names() {
        let q = QualName::parse("billing.accounts", "public").unwrap();
        assert_eq!(q.sql(), "\"billing\".\"accounts\"");
        assert_eq!(q.display(), "billing.accounts");
        let q = QualName::parse("tenants", "app").unwrap();
        assert_eq!(q.sql(), "\"app\".\"tenants\"");
        let q = QualName::parse("\"my.schema\".\"We\"\"ird\"", "public").unwrap();
        assert_eq!(q.schema, "my.schema");
        assert_eq!(q.table, "We\"ird");
        assert_eq!(q.sql(), "\"my.schema\".\"We\"\"ird\"");
        for bad in ["", "a.b.c", "a.", "\"open", "a\"b"] {
            assert!(QualName::parse(bad, "public").is_err(), "{bad}");
        }
    }

    #[test]
    fn literals_escape_quotes_and_backslashes() {
        assert_eq!(literal("O'Brien").unwrap(), "E'O''Brien'");
        assert_eq!(literal("a\\b").unwrap(), "E'a\\\\b'");
        assert!(literal("a\0b").is_err());
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(contains_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(contains_pattern(""), "%%");
    }
}
