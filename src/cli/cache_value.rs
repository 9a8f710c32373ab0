//! `cache get` for people and for CSV. A table shows what the key is, its
//! TTL and size made human, then the value: JSON (parsed, or a string that
//! reads as JSON even where it was cut) indented up to [`MAX_LINES`] lines,
//! other text as a block; what was left out is said in the header.

use super::output::{self, Format};
use super::pretty::pretty;
use super::record::Record;
use crate::cache::KeyValue;
use crate::error::{Error, Result};
use crate::units;
use serde_json::Value;
use std::io::Write;

/// Lines of the value a table shows; `--output json` gives what was read.
pub const MAX_LINES: usize = 200;

pub fn print(v: &KeyValue, format: Format) -> Result<()> {
    if format != Format::Table {
        return output::print_result(v, record, format);
    }
    let mut out = std::io::stdout().lock();
    write_table(&mut out, v).map_err(|e| Error::io("writing stdout", e))
}

/// Identity, state, sizes, then the value (JSON text for collections).
fn record(v: &KeyValue) -> Record {
    let value = match &v.value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    Record::new()
        .text("key", v.key.clone())
        .text("type", v.kind.clone())
        .opt("encoding", v.encoding.clone())
        .ttl("ttl_ms", v.ttl_ms)
        .bytes("memory_bytes", v.memory_bytes)
        .text("length", v.length.to_string())
        .text("shown", v.shown.to_string())
        .text("truncated", v.truncated.to_string())
        .text("format", v.format)
        .text("value", value)
        .list("notes", &v.notes)
}

/// The value's lines: indented JSON where it is JSON, else the text itself.
fn body(v: &KeyValue) -> (Vec<String>, usize, bool) {
    match &v.value {
        Value::String(s) if !(v.truncated && looks_like_json(s)) => {
            let text = super::safe::text_block(s);
            let total = text.lines().count();
            let lines = text.lines().take(MAX_LINES).map(str::to_string).collect();
            (lines, total, false)
        }
        Value::String(s) => {
            let p = pretty(s, MAX_LINES);
            (p.lines, p.total, true)
        }
        other => {
            let mut compact = Vec::new();
            // Serializing into memory fails only on a writer error, which a Vec never has.
            let _ = super::json::compact(&mut compact, other);
            let p = pretty(&String::from_utf8_lossy(&compact), MAX_LINES);
            (p.lines, p.total, false)
        }
    }
}

/// A line cut into pieces of at most `width` characters (whole without one).
fn wrapped(line: &str, width: Option<usize>) -> Vec<String> {
    let Some(w) = width.filter(|&w| w > 0 && line.chars().count() > w) else {
        return vec![line.to_string()];
    };
    let chars: Vec<char> = line.chars().collect();
    chars.chunks(w).map(|c| c.iter().collect()).collect()
}

fn looks_like_json(s: &str) -> bool {
    s.trim_start().starts_with(['{', '['])
}

fn write_table(out: &mut impl Write, v: &KeyValue) -> std::io::Result<()> {
    let mut head = vec![
        format!("key:      {}", output::printable(&v.key)),
        format!(
            "type:     {} ({})",
            v.kind,
            v.encoding.as_deref().unwrap_or("-")
        ),
        format!(
            "ttl:      {}",
            v.ttl_ms.map_or_else(
                || "none (never expires)".into(),
                |t| units::millis(t as f64)
            )
        ),
        format!(
            "memory:   {}",
            v.memory_bytes.map_or_else(|| "-".into(), units::bytes)
        ),
    ];
    let string = v.kind == "string";
    let length = if string {
        units::bytes(v.length)
    } else {
        format!("{} elements", v.length)
    };
    head.push(format!("length:   {length}"));
    if v.truncated {
        head.push(if string {
            format!("read:     first {} of {length}", units::bytes(v.shown))
        } else {
            format!("read:     first {} of {} elements", v.shown, v.length)
        });
    }
    let (lines, total, cut_json) = body(v);
    let format = if cut_json { "json (cut off)" } else { v.format };
    head.push(format!("format:   {format}"));
    if lines.len() < total {
        head.push(format!(
            "shown:    first {} of {total} lines; --output json gives all that was read",
            lines.len()
        ));
    }
    head.extend(
        v.notes
            .iter()
            .map(|n| format!("note:     {}", output::printable(n))),
    );
    head.push(String::new());
    let width = output::line_width().map(usize::from);
    for l in head.iter().chain(&lines) {
        for piece in wrapped(l, width) {
            writeln!(out, "{piece}")?;
        }
    }
    if lines.len() < total {
        writeln!(out, "… {} more lines", total - lines.len())?;
    }
    Ok(())
}
