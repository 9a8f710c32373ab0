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

fn looks_like_json(s: &str) -> bool {
    s.trim_start().starts_with(['{', '['])
}

fn write_table(out: &mut impl Write, v: &KeyValue) -> std::io::Result<()> {
    let shown = |s: &str| output::printable(s);
    writeln!(out, "key:      {}", shown(&v.key))?;
    writeln!(
        out,
        "type:     {} ({})",
        v.kind,
        v.encoding.as_deref().unwrap_or("-")
    )?;
    let ttl = v
        .ttl_ms
        .map_or_else(|| "none (never expires)".into(), |t| units::millis(t as f64));
    writeln!(out, "ttl:      {ttl}")?;
    writeln!(
        out,
        "memory:   {}",
        v.memory_bytes.map_or_else(|| "-".into(), units::bytes)
    )?;
    let string = v.kind == "string";
    let length = if string {
        units::bytes(v.length)
    } else {
        format!("{} elements", v.length)
    };
    writeln!(out, "length:   {length}")?;
    if v.truncated {
        let part = if string {
            format!("first {} of {length}", units::bytes(v.shown))
        } else {
            format!("first {} of {} elements", v.shown, v.length)
        };
        writeln!(out, "read:     {part}")?;
    }
    let (lines, total, cut_json) = body(v);
    let format = if cut_json { "json (cut off)" } else { v.format };
    writeln!(out, "format:   {format}")?;
    if lines.len() < total {
        writeln!(
            out,
            "shown:    first {} of {total} lines; --output json gives all that was read",
            lines.len()
        )?;
    }
    for n in &v.notes {
        writeln!(out, "note:     {}", shown(n))?;
    }
    writeln!(out)?;
    for l in &lines {
        writeln!(out, "{l}")?;
    }
    if lines.len() < total {
        writeln!(out, "… {} more lines", total - lines.len())?;
    }
    Ok(())
}
