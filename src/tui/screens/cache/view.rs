//! Drawing the cache screen: the stats panel, the prefix tree, and the keys
//! or value pane beside it. Pure functions of the screen's state.

use super::{CacheScreen, Focus, KeysPane, ValuePane};
use crate::cache::CacheStats;
use crate::tui::screens::{Cx, LoadState};
use crate::tui::theme::Theme;
use crate::units::{bytes, millis};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

pub fn render(s: &CacheScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let Some(stats) = &s.stats else {
        let line = match &s.state {
            LoadState::Error(e) => Line::styled(e.clone(), theme.error()),
            _ => Line::styled("reading INFO and sampling keys…", theme.muted()),
        };
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
        return;
    };
    let mut head = stats_lines(stats, theme);
    if let LoadState::Error(e) = &s.state {
        head.push(Line::styled(format!("refresh failed: {e}"), theme.error()));
    }
    let [top, body] =
        Layout::vertical([Constraint::Length(head.len() as u16), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(head), top);

    let side = s.keys.is_some();
    if !side {
        tree(s, frame, body, cx);
        return;
    }
    if body.width < 70 {
        // Too narrow for two panes: show the one in focus.
        match s.focus {
            Focus::Tree => tree(s, frame, body, cx),
            _ => pane(s, frame, body, cx),
        }
        return;
    }
    let [left, right] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
            .spacing(1)
            .areas(body);
    tree(s, frame, left, cx);
    pane(s, frame, right, cx);
}

fn opt_bytes(v: Option<u64>) -> String {
    v.map(bytes).unwrap_or_else(|| "—".into())
}

fn stats_lines(st: &CacheStats, theme: &Theme) -> Vec<Line<'static>> {
    let nodes = if st.cluster {
        format!("cluster, {} masters", st.nodes.len())
    } else {
        "single node".into()
    };
    let sum = |f: fn(&crate::cache::NodeStats) -> Option<u64>| -> Option<u64> {
        st.nodes.iter().map(f).sum()
    };
    let max = match sum(|n| n.maxmemory_bytes) {
        Some(0) => "none".to_string(),
        m => opt_bytes(m),
    };
    let frag = st
        .nodes
        .iter()
        .filter_map(|n| n.mem_fragmentation_ratio)
        .fold(None, |a: Option<f64>, r| Some(a.map_or(r, |a| a.max(r))));
    let t = &st.totals;
    let hit = t
        .hit_ratio
        .map(|r| format!("{:.1}%", r * 100.0))
        .unwrap_or_else(|| "—".into());
    let label = |s: &str| Span::styled(s.to_string(), theme.muted());
    let value = |s: String| Span::styled(s, theme.text());
    let sm = &st.sample;
    let ttl: Vec<String> = sm
        .ttl_buckets
        .iter()
        .filter_map(|b| {
            let label = match b.bucket {
                "lt_1m" => "<1m",
                "1m_10m" => "1-10m",
                "10m_1h" => "10m-1h",
                "1h_1d" => "1h-1d",
                "ge_1d" => ">1d",
                _ => return None,
            };
            Some(format!("{label} {}", b.keys))
        })
        .collect();
    let mut lines = vec![
        Line::from(vec![
            label("memory "),
            value(opt_bytes(Some(t.used_memory_bytes))),
            label(" peak "),
            value(opt_bytes(sum(|n| n.used_memory_peak_bytes))),
            label(" max "),
            value(max),
            label(" frag "),
            value(frag.map_or_else(|| "—".into(), |f| format!("{f:.2}"))),
            label(" · "),
            value(nodes),
        ]),
        Line::from(vec![
            label("hit "),
            value(hit),
            label(" ops/s "),
            value(t.instantaneous_ops_per_sec.to_string()),
            label(" clients "),
            value(t.connected_clients.to_string()),
            label(" keys "),
            value(format!("{} ({} ttl)", t.keys, t.keys_with_ttl)),
            label(" evicted "),
            value(t.evicted_keys.to_string()),
            label(" expired "),
            value(t.expired_keys.to_string()),
        ]),
        Line::from(vec![
            label("sample "),
            value(format!("{}/{}", sm.sampled_keys, sm.sample_size)),
            label(" no ttl "),
            Span::styled(
                sm.keys_without_ttl.to_string(),
                if sm.keys_without_ttl > 0 {
                    theme.warn()
                } else {
                    theme.text()
                },
            ),
            label(" ttl "),
            value(ttl.join(" · ")),
        ]),
    ];
    if let Some(n) = st.notes.first() {
        lines.push(Line::styled(format!("note: {n}"), theme.warn()));
    }
    lines
}

/// Rows that fit, scrolled so the cursor stays visible.
fn window(len: usize, cursor: usize, height: usize) -> std::ops::Range<usize> {
    let start = cursor.saturating_sub(height.saturating_sub(1));
    start..len.min(start + height)
}

fn titled(title: String, focused: bool, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border(focused))
        .title(Span::styled(title, theme.title()))
}

fn tree(s: &CacheScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let focused = cx.focused && s.focus == Focus::Tree;
    let block = titled(" prefixes (sample) ".into(), focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = s.rows();
    if rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no keys sampled", theme.muted())),
            inner,
        );
        return;
    }
    let w = usize::from(inner.width);
    let num_w = 8;
    let name_w = w.saturating_sub(2 * (num_w + 1));
    let mut lines = vec![Line::styled(
        format!(
            "{:<name_w$} {:>num_w$} {:>num_w$}",
            "PREFIX", "KEYS", "MEMORY"
        ),
        theme.header(),
    )];
    let height = usize::from(inner.height).saturating_sub(1);
    for i in window(rows.len(), s.cursor, height) {
        let (depth, n) = rows[i];
        let marker = match (n.children.is_empty(), s.expanded.contains(&n.path)) {
            (true, _) => "  ",
            (false, true) => "▾ ",
            (false, false) => "▸ ",
        };
        let name: String = format!("{}{marker}{}", "  ".repeat(depth), n.name)
            .chars()
            .take(name_w)
            .collect();
        let memory = if s.stats.as_ref().is_some_and(|st| st.sample.memory_sampled) {
            bytes(n.memory_bytes)
        } else {
            "—".into()
        };
        let text = format!("{name:<name_w$} {:>num_w$} {memory:>num_w$}", n.keys);
        let style = if i == s.cursor && s.focus == Focus::Tree {
            theme.selection()
        } else if i == s.cursor {
            theme.accent()
        } else {
            theme.text()
        };
        lines.push(Line::styled(text, style));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn pane(s: &CacheScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    match (&s.value, &s.keys) {
        (Some(v), _) => value(v, frame, area, cx),
        (None, Some(k)) => keys(s, k, frame, area, cx),
        (None, None) => {}
    }
}

fn state_line(state: &LoadState, theme: &Theme) -> Option<Line<'static>> {
    match state {
        LoadState::Loading => Some(Line::styled("loading…", theme.muted())),
        LoadState::Error(e) => Some(Line::styled(e.clone(), theme.error())),
        _ => None,
    }
}

fn keys(s: &CacheScreen, k: &KeysPane, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let more = if k.entries.len() >= super::KEYS_SHOWN {
        "+"
    } else {
        ""
    };
    let title = format!(" {} ({}{more}) ", s.pattern_for(&k.prefix), k.entries.len());
    let block = titled(title, cx.focused && s.focus == Focus::Keys, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if let Some(l) = state_line(&k.state, theme) {
        frame.render_widget(Paragraph::new(l).wrap(Wrap { trim: false }), inner);
        return;
    }
    if k.entries.is_empty() {
        frame.render_widget(
            Paragraph::new(Line::styled("no keys (expired?)", theme.muted())),
            inner,
        );
        return;
    }
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
            Line::styled(format!("{kind:<6} {ttl:>8} {mem:>9}  {}", e.key), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

fn value(v: &ValuePane, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let block = titled(format!(" {} ", v.key), cx.focused, theme);
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
            Span::styled(val, theme.text()),
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
        lines.push(Line::styled(format!("note: {n}"), theme.warn()));
    }
    lines.push(Line::raw(""));
    let text = match &kv.value {
        serde_json::Value::String(s) => s.clone(),
        other => serde_json::to_string_pretty(other).unwrap_or_default(),
    };
    lines.extend(
        text.lines()
            .map(|l| Line::styled(l.to_string(), theme.text())),
    );
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((v.scroll, 0)),
        inner,
    );
}
