//! Rendering domain data as a table, JSON or CSV (DESIGN.md section 3).

use super::record::Record;
use super::safe;
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// A row that can be shown as a table or CSV; JSON comes from `Serialize`.
/// Columns go in the order of their meaning: identity, state, figures,
/// then detail.
pub trait Tabular {
    fn headers() -> Vec<&'static str>;
    /// Raw values, as CSV carries them (`_ms` and `_bytes` as numbers).
    fn cells(&self) -> Vec<String>;
    /// The columns a table shows people: all of them unless a narrower
    /// choice reads better within a terminal's width.
    fn table_headers() -> Vec<&'static str> {
        Self::headers()
    }
    /// The cells of [`Tabular::table_headers`], durations and sizes made human.
    fn shown(&self) -> Vec<String> {
        self.cells()
    }
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
            let mut t = table(T::table_headers().into_iter().map(label).collect());
            for r in rows {
                row(&mut t, r.shown());
            }
            fit_columns(&mut t);
            writeln!(out, "{t}").map_err(|e| Error::io("writing stdout", e))?;
        }
    }
    Ok(())
}

/// A single result: its JSON object as serialized, else the record with
/// its fields in meaning order (built only when it is shown).
pub fn print_result<T: Serialize>(
    item: &T,
    record: impl FnOnce(&T) -> Record,
    format: Format,
) -> Result<()> {
    if format == Format::Json {
        return write_json(&mut std::io::stdout().lock(), item);
    }
    record(item).print(format)
}

pub fn write_json<W: Write, T: Serialize + ?Sized>(out: &mut W, v: &T) -> Result<()> {
    super::json::pretty(&mut *out, v)
        .and_then(|()| writeln!(out))
        .map_err(|e| Error::io("writing stdout", e))
}

/// A column's name for people: a value made human says its own unit.
pub fn label(name: &str) -> &str {
    name.strip_suffix("_ms")
        .or_else(|| name.strip_suffix("_bytes"))
        .unwrap_or(name)
}

/// `--wide`: tables as wide as their content. Set once from the command
/// line, before any output, so every table gets it without a parameter.
static WIDE: AtomicBool = AtomicBool::new(false);

pub fn set_wide(wide: bool) {
    WIDE.store(wide, Ordering::Relaxed);
}

pub fn table(headers: Vec<&str>) -> comfy_table::Table {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_header(headers.iter().map(|h| h.to_uppercase()));
    fit(&mut t);
    t
}

/// Long cells (fix SQL, key samples, messages) wrap so that rows fit the
/// terminal, unless `--wide` asks for everything on one line.
pub fn fit(t: &mut comfy_table::Table) {
    if WIDE.load(Ordering::Relaxed) {
        t.set_content_arrangement(comfy_table::ContentArrangement::Disabled);
        return;
    }
    t.set_content_arrangement(comfy_table::ContentArrangement::Dynamic);
    // On a terminal comfy-table asks it for its width.
    if !std::io::stdout().is_terminal() {
        t.set_width(piped_width(std::env::var("COLUMNS").ok().as_deref()));
    }
}

/// The width a line of output should keep to, or None with `--wide`.
pub fn line_width() -> Option<u16> {
    let mut t = comfy_table::Table::new();
    fit(&mut t);
    t.width().filter(|_| !WIDE.load(Ordering::Relaxed))
}

/// A unit-like enum's serialized name (`pattern`, `exact`) as a cell.
pub fn word<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .map(|v| cell(&v))
        .unwrap_or_default()
}

/// Narrowest share a wrapped column keeps when shorter ones stay whole.
const MIN_WRAPPED: usize = 16;

/// Once the rows are in, fixes every column's width so that the table fits.
/// comfy-table's own dynamic layout splits the width evenly, which also
/// wraps short identity columns (kind, table, id) that would fit whole.
pub fn fit_columns(t: &mut comfy_table::Table) {
    let content = t.column_max_content_widths();
    fit_to(t, &content);
}

/// Fits the columns as if they held content this wide (a listing printed in
/// chunks passes the widest of every chunk so far, so the chunks line up);
/// false when the table may be as wide as it likes.
pub fn fit_to(t: &mut comfy_table::Table, content: &[u16]) -> bool {
    if WIDE.load(Ordering::Relaxed) {
        return false;
    }
    let Some(width) = t.width() else {
        return false;
    };
    for (i, w) in fitted_widths(content, width).into_iter().enumerate() {
        if let Some(c) = t.column_mut(i) {
            // The width comfy-table constrains includes the padding.
            c.set_constraint(comfy_table::ColumnConstraint::Absolute(
                comfy_table::Width::Fixed(w + 2),
            ));
        }
    }
    true
}

/// Content widths within `width` columns (each column is padded by a space
/// on either side): everything whole when it fits; else the shortest
/// columns whole as long as each remaining one keeps [`MIN_WRAPPED`] (or
/// its content, when shorter), and those share what is left, none wider
/// than its content.
fn fitted_widths(content: &[u16], width: u16) -> Vec<u16> {
    let n = content.len();
    let mut left = usize::from(width).saturating_sub(2 * n);
    if content.iter().map(|&w| usize::from(w)).sum::<usize>() <= left {
        return content.to_vec();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| content[i]);
    let mut out = content.to_vec();
    let mut kept = 0;
    for (k, &i) in order.iter().enumerate() {
        let w = usize::from(content[i]);
        // What the columns after this one need: a short one its content.
        let rest: usize = order[k + 1..]
            .iter()
            .map(|&j| usize::from(content[j]).min(MIN_WRAPPED))
            .sum();
        if w + rest > left {
            break;
        }
        left -= w;
        kept += 1;
    }
    for (k, &i) in order.iter().enumerate().skip(kept) {
        let share = (left / (n - k)).max(1);
        let w = share.min(usize::from(content[i]));
        out[i] = u16::try_from(w).unwrap_or(u16::MAX);
        left = left.saturating_sub(w);
    }
    out
}

/// `COLUMNS` when it holds a width, else the traditional 80.
fn piped_width(columns: Option<&str>) -> u16 {
    columns
        .and_then(|c| c.trim().parse::<u16>().ok())
        .filter(|&w| w > 0)
        .unwrap_or(80)
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

pub fn csv_err(e: csv::Error) -> Error {
    Error::io("writing CSV", std::io::Error::other(e))
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
    fn fitted_widths_keep_short_columns_whole() {
        // Fits: untouched.
        assert_eq!(fitted_widths(&[10, 20], 80), vec![10, 20]);
        // tenants lint at 100: kind and table whole, detail and fix share.
        assert_eq!(fitted_widths(&[20, 20, 80, 150], 100), vec![20, 20, 26, 26]);
        // A wrapped column narrower than its share gives the rest away.
        assert_eq!(fitted_widths(&[13, 100], 32), vec![13, 15]);
        // Whole while the wrapped rest keeps MIN_WRAPPED, then wrapped.
        assert_eq!(fitted_widths(&[5, 30, 200], 60), vec![5, 30, 19]);
        assert_eq!(fitted_widths(&[5, 40, 200], 60), vec![5, 24, 25]);
        // Short columns need only their content: audit list at 100 keeps
        // every column but the detail whole.
        assert_eq!(
            fitted_widths(&[16, 7, 16, 15, 7, 8, 90], 100),
            vec![16, 7, 16, 15, 7, 8, 17]
        );
        let w = fitted_widths(&[20, 36, 80, 150], 120);
        assert_eq!(
            w.iter().map(|&w| w as usize + 2).sum::<usize>(),
            120,
            "{w:?}"
        );
        assert_eq!(&w[..2], &[20, 36]);
        // Too narrow for anything: every column still gets a character.
        assert!(fitted_widths(&[50, 50, 50], 4).iter().all(|&w| w >= 1));
    }

    #[test]
    fn piped_width_reads_columns_else_80() {
        assert_eq!(piped_width(Some("100")), 100);
        assert_eq!(piped_width(Some(" 132 ")), 132);
        assert_eq!(piped_width(Some("0")), 80);
        assert_eq!(piped_width(Some("wide")), 80);
        assert_eq!(piped_width(None), 80);
    }

    #[test]
    fn ellipsize_counts_characters() {
        assert_eq!(ellipsize("Zürich 🚀", 20), "Zürich 🚀");
        assert_eq!(ellipsize("Zürich 🚀 Party", 8), "Zürich …");
        assert_eq!(ellipsize(&"x".repeat(5000), 60).chars().count(), 60);
    }
}
