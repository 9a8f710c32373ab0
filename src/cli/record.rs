//! One result (a deletion, a dry run, a status change, a cached value) as
//! named fields in the order of their meaning: what it is about, its state,
//! its figures, then detail. CSV gets one header row and one record of raw
//! values (`_ms` and `_bytes` numbers, lists one item a line); a table shows
//! the same fields one a line, durations and sizes made human. JSON comes
//! from the result's own `Serialize` (see [`super::output::print_result`]).

use super::output::{self, Format};
use super::safe;
use crate::error::{Error, Result};
use crate::units;
use std::io::{IsTerminal, Write};

#[derive(Debug, Default)]
pub struct Record {
    fields: Vec<Field>,
}

#[derive(Debug)]
struct Field {
    name: &'static str,
    /// The value as CSV carries it.
    raw: String,
    /// Its lines as a person reads them.
    shown: Vec<String>,
}

impl Record {
    pub fn new() -> Record {
        Record::default()
    }

    fn push(mut self, name: &'static str, raw: String, shown: Vec<String>) -> Record {
        self.fields.push(Field { name, raw, shown });
        self
    }

    pub fn text(self, name: &'static str, v: impl Into<String>) -> Record {
        let v = v.into();
        self.push(name, v.clone(), vec![v])
    }

    /// Empty in CSV and `-` in a table when absent.
    pub fn opt(self, name: &'static str, v: Option<impl ToString>) -> Record {
        match v {
            Some(v) => self.text(name, v.to_string()),
            None => self.push(name, String::new(), vec!["-".into()]),
        }
    }

    /// A duration in milliseconds (`name` ends in `_ms`).
    pub fn millis(self, name: &'static str, ms: Option<u64>) -> Record {
        let shown = ms.map_or_else(|| "-".into(), |m| units::millis(m as f64));
        self.push(name, opt_raw(ms), vec![shown])
    }

    /// A time to live in milliseconds; absent means the key never expires.
    pub fn ttl(self, name: &'static str, ms: Option<i64>) -> Record {
        let shown = ms.map_or_else(|| "none".into(), |m| units::millis(m as f64));
        self.push(name, opt_raw(ms), vec![shown])
    }

    /// A size in bytes (`name` ends in `_bytes`).
    pub fn bytes(self, name: &'static str, n: Option<u64>) -> Record {
        let shown = n.map_or_else(|| "-".into(), units::bytes);
        self.push(name, opt_raw(n), vec![shown])
    }

    /// Several values: one a line in CSV's quoted field and in the table.
    pub fn list(self, name: &'static str, items: &[String]) -> Record {
        let shown = if items.is_empty() {
            vec!["-".into()]
        } else {
            items.to_vec()
        };
        self.push(name, items.join("\n"), shown)
    }

    pub fn print(&self, format: Format) -> Result<()> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if format == Format::Csv {
            let mut w = csv::Writer::from_writer(safe::Csv::new(&mut out, stdout.is_terminal()));
            w.write_record(self.fields.iter().map(|f| f.name))
                .and_then(|()| w.write_record(self.fields.iter().map(|f| &f.raw)))
                .map_err(output::csv_err)?;
            return w.flush().map_err(|e| Error::io("writing stdout", e));
        }
        writeln!(out, "{}", self.table()).map_err(|e| Error::io("writing stdout", e))
    }

    fn table(&self) -> comfy_table::Table {
        let mut t = output::table(vec!["field", "value"]);
        for f in &self.fields {
            for (i, line) in f.shown.iter().enumerate() {
                let label = if i == 0 { output::label(f.name) } else { "" };
                output::row(&mut t, vec![label.to_string(), line.clone()]);
            }
        }
        output::fit_columns(&mut t);
        t
    }
}

fn opt_raw<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_order_raw_for_csv_human_for_people() {
        let r = Record::new()
            .text("by", "pattern")
            .opt("tenant_id", None::<String>)
            .millis("elapsed_ms", Some(22_680_000))
            .ttl("ttl_ms", None)
            .bytes("memory_bytes", Some(1536))
            .list("sample", &["a".into(), "b".into()]);
        let names: Vec<&str> = r.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "by",
                "tenant_id",
                "elapsed_ms",
                "ttl_ms",
                "memory_bytes",
                "sample"
            ]
        );
        let raw: Vec<&str> = r.fields.iter().map(|f| f.raw.as_str()).collect();
        assert_eq!(raw, ["pattern", "", "22680000", "", "1536", "a\nb"]);
        let table = r.table().to_string();
        let rows: Vec<Vec<&str>> = table
            .lines()
            .map(|l| l.split_whitespace().collect())
            .collect();
        for want in [
            &["elapsed", "6.3", "h"][..],
            &["ttl", "none"],
            &["memory", "1.5", "KiB"],
            &["tenant_id", "-"],
            &["sample", "a"],
            &["b"],
        ] {
            assert!(rows.iter().any(|r| r == want), "{want:?} in {table}");
        }
    }
}
