//! Rendering domain data as a table, JSON or CSV (DESIGN.md section 3).

use super::safe;
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::{IsTerminal, Write};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// A row that can be shown as a table or CSV; JSON comes from `Serialize`.
pub trait Tabular {
    fn headers() -> Vec<&'static str>;
    fn cells(&self) -> Vec<String>;
}

pub fn print_list<T: Tabular + Serialize>(rows: &[T], format: Format) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match format {
        Format::Json => write_json(&mut out, rows)?,
        Format::Csv => {
            let mut w = csv::Writer::from_writer(safe::Csv::new(&mut out, stdout.is_terminal()));
            w.write_record(T::headers()).map_err(csv_err)?;
            for r in rows {
                w.write_record(r.cells()).map_err(csv_err)?;
            }
            w.flush().map_err(|e| Error::io("writing stdout", e))?;
        }
        Format::Table => {
            let mut t = table(T::headers());
            for r in rows {
                row(&mut t, r.cells());
            }
            writeln!(out, "{t}").map_err(|e| Error::io("writing stdout", e))?;
        }
    }
    Ok(())
}

/// A single item: JSON object, or a two-column field/value table / CSV.
pub fn print_item<T: Serialize>(item: &T, format: Format) -> Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if format == Format::Json {
        return write_json(&mut out, item);
    }
    let value = serde_json::to_value(item).map_err(|e| Error::Config(e.to_string()))?;
    let pairs = flatten(&value);
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(safe::Csv::new(&mut out, stdout.is_terminal()));
            w.write_record(["field", "value"]).map_err(csv_err)?;
            for (k, v) in pairs {
                w.write_record([k, v]).map_err(csv_err)?;
            }
            w.flush().map_err(|e| Error::io("writing stdout", e))?;
        }
        _ => {
            let mut t = table(vec!["field", "value"]);
            for (k, v) in pairs {
                row(&mut t, vec![k, v]);
            }
            writeln!(out, "{t}").map_err(|e| Error::io("writing stdout", e))?;
        }
    }
    Ok(())
}

pub fn write_json<W: Write, T: Serialize + ?Sized>(out: &mut W, v: &T) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)
        .map_err(|e| Error::io("writing stdout", e.into()))?;
    writeln!(out).map_err(|e| Error::io("writing stdout", e))
}

pub fn table(headers: Vec<&str>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(comfy_table::ContentArrangement::Disabled)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    t
}

/// Adds a row of cells shown to a person on a terminal, data escaped as
/// [`printable`] shows it. JSON keeps the text as is (its strings escape
/// controls); CSV is escaped only on a terminal ([`super::safe::Csv`]).
pub fn row(t: &mut comfy_table::Table, cells: Vec<String>) {
    t.add_row(cells.iter().map(|c| printable(c)));
}

/// Control and bidirectional characters shown escaped, so data (tenant
/// names, keys) cannot drive the operator's terminal; a line break too, so
/// a value cannot pose as a row of its own.
pub fn printable(s: &str) -> String {
    if !s.chars().any(safe::hostile) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        safe::push_shown(&mut out, c);
    }
    out
}

/// At most `max` characters, the last one an ellipsis when cut, so one very
/// long value does not widen every row of a table.
pub fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn csv_err(e: csv::Error) -> Error {
    Error::io("writing CSV", std::io::Error::other(e))
}

/// Flattens nested objects to dotted keys for the field/value views.
fn flatten(v: &serde_json::Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&key, v, out);
                }
            }
            other => out.push((prefix.to_string(), cell(other))),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

/// A JSON value as a table cell: strings bare, null empty, the rest as JSON.
pub fn cell(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_cells_escape_control_characters() {
        let mut t = table(vec!["name"]);
        row(
            &mut t,
            vec!["Evil \u{1b}]0;pwned\u{7}\u{1b}[2J\tcorp\r\u{9b}\nnext \u{202e}txt.exe".into()],
        );
        let text = t.to_string();
        assert_eq!(text.lines().count(), 2, "header and one row: {text:?}");
        assert!(
            !text.lines().any(|l| l.chars().any(safe::hostile)),
            "{text:?}"
        );
        assert!(
            text.contains(
                "Evil \\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\tcorp\\r\\u{9b}\\nnext \\u{202e}txt.exe"
            ),
            "{text}"
        );
    }

    #[test]
    fn ellipsize_counts_characters() {
        assert_eq!(ellipsize("Zürich 🚀", 20), "Zürich 🚀");
        assert_eq!(ellipsize("Zürich 🚀 Party", 8), "Zürich …");
        assert_eq!(ellipsize(&"x".repeat(5000), 60).chars().count(), 60);
    }

    #[test]
    fn flatten_nested() {
        let v = serde_json::json!({"a": 1, "b": {"c": "x", "d": null}});
        let f = flatten(&v);
        assert_eq!(
            f,
            vec![
                ("a".into(), "1".into()),
                ("b.c".into(), "x".into()),
                ("b.d".into(), "".into())
            ]
        );
    }
}
