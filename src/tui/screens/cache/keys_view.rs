//! Drawing the cache screen's right-hand pane: the keys under a prefix
//! (how many so far, whether the scan is complete) or one key's value.

use super::view::{opt_bytes, titled, window};
use super::{CacheScreen, Focus, KeysPane, ValuePane};
use crate::tui::screens::cache::listing::Listing;
use crate::tui::screens::{Cx, LoadState};
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::units::millis;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;

fn state_line(state: &LoadState, theme: &Theme) -> Option<Line<'static>> {
    match state {
        LoadState::Loading => Some(Line::styled("loading…", theme.muted())),
        LoadState::Error(e) => Some(text::line(e, theme.error())),
        _ => None,
    }
}

pub(super) fn keys(s: &CacheScreen, k: &KeysPane, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let what = match &k.listing {
        Listing::Prefix(path) => text::clean(&s.pattern_for(path)).into_owned(),
        Listing::NoSeparator => "keys without a separator".into(),
    };
    let seen = k.skipped() + k.entries.len();
    let count = if k.complete() {
        format!("{seen} keys")
    } else if k.loading_more() || k.state == LoadState::Loading {
        format!("{seen} so far, scanning…")
    } else {
        format!("{seen} so far, more below")
    };
    let filter = if k.filter().is_empty() {
        String::new()
    } else {
        format!(" /{}", text::clean(k.filter()))
    };
    let title = format!(" {what}{filter} · {count} ");
    let block = titled(title, cx.focused && s.focus == Focus::Keys, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(l) = state_line(&k.state, theme) {
        frame.render_widget(Paragraph::new(l).wrap(Wrap { trim: false }), inner);
        return;
    }
    if k.entries.is_empty() {
        let note = if k.complete() {
            "no keys (expired?)"
        } else {
            "none yet, scanning on…"
        };
        frame.render_widget(Paragraph::new(Line::styled(note, theme.muted())), inner);
        return;
    }
    let width = usize::from(inner.width);
    // The key is what tells the rows apart: the size columns give way first,
    // then the type, and a key that still does not fit keeps its end.
    let (sizes, kind_col) = if width >= KEY_MIN + SIZE_COLS + KIND_COLS {
        (true, true)
    } else {
        (false, width >= KEY_MIN + KIND_COLS)
    };
    let room = width
        .saturating_sub(if sizes { SIZE_COLS } else { 0 })
        .saturating_sub(if kind_col { KIND_COLS } else { 0 });
    let lines: Vec<Line> = window(k.entries.len(), k.cursor, usize::from(inner.height))
        .map(|i| {
            let e = &k.entries[i];
            let (kind, ttl, mem) = match &e.sizes {
                Some(z) => (
                    z.kind.clone(),
                    z.ttl_ms
                        .map_or_else(|| "no ttl".into(), |t| millis(t as f64)),
                    opt_bytes(z.memory_bytes),
                ),
                None => (String::new(), String::new(), String::new()),
            };
            let style: Style = match (i == k.cursor, s.focus) {
                (true, Focus::Keys) => theme.selection(),
                (true, _) => theme.accent(),
                _ => theme.text(),
            };
            let key = fit_tail(&text::clean(&e.key), room);
            let kind = text::clean(&kind);
            let row = match (kind_col, sizes) {
                (true, true) => format!("{kind:<6} {ttl:>8} {mem:>10}  {key}"),
                (true, false) => format!("{kind:<6} {key}"),
                _ => key,
            };
            Line::styled(row, style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

pub(super) fn value(v: &ValuePane, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let block = titled(format!(" {} ", text::clean(&v.key)), cx.focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(kv) = &v.value else {
        if let Some(l) = state_line(&v.state, theme) {
            frame.render_widget(Paragraph::new(l).wrap(Wrap { trim: false }), inner);
        }
        return;
    };
    let field = |k: &str, val: String| {
        Line::from(vec![
            Span::styled(format!("{k:<8} "), theme.muted()),
            text::span(&val, theme.text()),
        ])
    };
    let unit = if kv.kind == "string" {
        "bytes"
    } else {
        "elements"
    };
    let mut lines = vec![
        field(
            "type",
            format!("{} ({})", kv.kind, kv.encoding.as_deref().unwrap_or("—")),
        ),
        field(
            "ttl",
            kv.ttl_ms
                .map_or_else(|| "none (never expires)".into(), |t| millis(t as f64)),
        ),
        field("memory", opt_bytes(kv.memory_bytes)),
        field(
            "length",
            if kv.truncated {
                format!("{} {unit}, first {} shown", kv.length, kv.shown)
            } else {
                format!("{} {unit}", kv.length)
            },
        ),
    ];
    for n in &kv.notes {
        lines.push(text::line(&format!("note: {n}"), theme.warn()));
    }
    lines.push(Line::raw(""));
    let text = match &kv.value {
        serde_json::Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    lines.extend(text.lines().map(|l| text::line(l, theme.text())));
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((v.scroll, 0)),
        inner,
    );
}

/// Columns the key keeps before the type and size columns give way.
const KEY_MIN: usize = 24;
/// `"{ttl:>8} {mem:>10}  "` after the type column.
const SIZE_COLS: usize = 21;
/// `"{kind:<6} "`.
const KIND_COLS: usize = 7;

/// `text` in at most `width` columns; a longer one keeps its end behind a
/// leading `…` (keys share their beginning, the prefix being listed).
fn fit_tail(text: &str, width: usize) -> String {
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    let room = width.saturating_sub(1);
    let mut tail: Vec<char> = Vec::new();
    let mut used = 0;
    for ch in text.chars().rev() {
        let mut buf = [0u8; 4];
        let w = Span::raw(&*ch.encode_utf8(&mut buf)).width();
        if used + w > room {
            break;
        }
        tail.push(ch);
        used += w;
    }
    let mut out = String::from(if width == 0 { "" } else { "…" });
    out.extend(tail.iter().rev());
    out
}
