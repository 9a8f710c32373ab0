//! Drawing the cache screen: the stats panel, the prefix tree, and the keys
//! or value pane beside it. Pure functions of the screen's state.

use super::{keys_view, CacheScreen, Focus};
use crate::cache::CacheStats;
use crate::tui::screens::{Cx, LoadState};
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::units::bytes;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

pub fn render(s: &CacheScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let Some(stats) = &s.stats else {
        let line = match &s.state {
            LoadState::Error(e) => text::line(e, theme.error()),
            _ => Line::styled("reading INFO and sampling keys…", theme.muted()),
        };
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: false }), area);
        return;
    };
    let mut head = stats_lines(stats, theme, area.width, stats_rows(area.height));
    if let LoadState::Error(e) = &s.state {
        head.push(text::line(&format!("refresh failed: {e}"), theme.error()));
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

pub(super) fn opt_bytes(v: Option<u64>) -> String {
    v.map(bytes).unwrap_or_else(|| "—".into())
}

/// One figure of the stats panel: its spans, its group (memory, activity,
/// sample: a line each when there is room), and how soon it goes when the
/// panel is narrow (higher goes first; 0 never).
struct Figure {
    spans: Vec<Span<'static>>,
    group: u8,
    drop: u8,
}

/// The figures in at most `rows` lines of `width` columns, whole figures
/// only: a line per group when that fits, else flowed one after the other,
/// and when even that is too long the least telling figures go first.
fn stats_lines(st: &CacheStats, theme: &Theme, width: u16, rows: usize) -> Vec<Line<'static>> {
    let mut figures = stats_figures(st, theme);
    let width = usize::from(width).max(1);
    let mut lines = loop {
        let grouped = flow(&figures, width, true);
        if grouped.len() <= rows {
            break grouped;
        }
        let flowed = flow(&figures, width, false);
        if flowed.len() <= rows {
            break flowed;
        }
        match (0..figures.len()).max_by_key(|&i| (figures[i].drop, i)) {
            Some(worst) if figures[worst].drop > 0 => {
                figures.remove(worst);
            }
            _ => break flowed.into_iter().take(rows).collect(),
        }
    };
    if let Some(n) = st.notes.first() {
        lines.push(text::line(&format!("note: {n}"), theme.warn()));
    }
    lines
}

/// Lines the stats figures take: three, or two in a short body (40x12),
/// where the tree needs the rows.
fn stats_rows(height: u16) -> usize {
    if height <= 8 {
        2
    } else {
        3
    }
}

/// Figures in reading order, each on the current line when it fits (and,
/// `grouped`, when it is of the same group as the figure before it).
fn flow(figures: &[Figure], width: usize, grouped: bool) -> Vec<Line<'static>> {
    let mut lines: Vec<Vec<Span<'static>>> = Vec::new();
    let mut used = 0;
    let mut group = None;
    for f in figures {
        let w: usize = f.spans.iter().map(Span::width).sum();
        let same = group == Some(f.group);
        group = Some(f.group);
        // Groups sharing a line are kept apart by a wider gap.
        let gap = if same { " " } else { "   " };
        match lines.last_mut() {
            Some(line) if (same || !grouped) && used + gap.len() + w <= width => {
                line.push(Span::raw(gap));
                line.extend(f.spans.iter().cloned());
                used += gap.len() + w;
            }
            _ => {
                lines.push(f.spans.clone());
                used = w;
            }
        }
    }
    lines.into_iter().map(Line::from).collect()
}

fn stats_figures(st: &CacheStats, theme: &Theme) -> Vec<Figure> {
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
    // Since the previous refresh, opsdeck's own sampling left out; "—" until
    // there is a previous refresh or when nothing looked a key up.
    let window = st.window.as_ref();
    let hit = window
        .and_then(|w| w.hit_ratio)
        .map_or_else(|| "—".into(), |r| format!("{:.1}%", r * 100.0));
    let ops = window.map_or_else(|| "—".into(), |w| format!("{:.0}", w.ops_per_sec));
    let fig = |label: &str, value: String, style: Style, drop: u8| Figure {
        spans: vec![
            Span::styled(format!("{label} "), theme.muted()),
            Span::styled(value, style),
        ],
        group: 0,
        drop,
    };
    let group = |group: u8, f: Figure| Figure { group, ..f };
    let text_style = theme.text();
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
    let no_ttl_style = if sm.keys_without_ttl > 0 {
        theme.warn()
    } else {
        text_style
    };
    vec![
        fig(
            "memory",
            opt_bytes(Some(t.used_memory_bytes)),
            text_style,
            0,
        ),
        fig(
            "peak",
            opt_bytes(sum(|n| n.used_memory_peak_bytes)),
            text_style,
            5,
        ),
        fig("max", max, text_style, 3),
        fig(
            "frag",
            frag.map_or_else(|| "—".into(), |f| format!("{f:.2}")),
            text_style,
            6,
        ),
        Figure {
            spans: vec![Span::styled(format!("· {nodes}"), theme.muted())],
            group: 0,
            drop: 7,
        },
        group(1, fig("hit", hit, text_style, 0)),
        group(1, fig("ops/s", ops, text_style, 1)),
        group(
            1,
            fig("clients", t.connected_clients.to_string(), text_style, 4),
        ),
        group(
            1,
            fig(
                "keys",
                format!("{} ({} ttl)", t.keys, t.keys_with_ttl),
                text_style,
                1,
            ),
        ),
        group(1, fig("evicted", t.evicted_keys.to_string(), text_style, 2)),
        group(1, fig("expired", t.expired_keys.to_string(), text_style, 5)),
        group(
            2,
            fig(
                "sample",
                format!("{}/{}", sm.sampled_keys, sm.sample_size),
                text_style,
                2,
            ),
        ),
        group(
            2,
            fig("no ttl", sm.keys_without_ttl.to_string(), no_ttl_style, 1),
        ),
        group(2, fig("ttl", ttl.join(" · "), text_style, 8)),
    ]
}

/// Rows that fit, scrolled so the cursor stays visible.
pub(super) fn window(len: usize, cursor: usize, height: usize) -> std::ops::Range<usize> {
    let start = cursor.saturating_sub(height.saturating_sub(1));
    start..len.min(start + height)
}

pub(super) fn titled(title: String, focused: bool, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border(focused))
        .title(Span::styled(title, theme.title()))
}

fn tree(s: &CacheScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let focused = cx.focused && s.focus == Focus::Tree;
    // Counts of a sample say so, scaled to the keyspace (share × DBSIZE);
    // a sample that holds every key counts exactly.
    let scale = s.sample_scale().filter(|(sampled, total)| sampled < total);
    let title = match (scale, s.sample_scale()) {
        (Some((sampled, total)), _) => {
            format!(" prefixes (≈ from sample {sampled}/{total}) ")
        }
        (None, Some((_, total))) => format!(" prefixes · all {total} keys "),
        (None, None) => " prefixes ".into(),
    };
    let block = titled(title, focused, theme);
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
    let height = usize::from(inner.height).saturating_sub(1);
    let shown = window(rows.len(), s.cursor, height);
    let memory_sampled = s.stats.as_ref().is_some_and(|st| st.sample.memory_sampled);
    let cells: Vec<(String, String)> = rows[shown.clone()]
        .iter()
        .map(|(_, n)| {
            let memory = if memory_sampled {
                bytes(n.memory_bytes)
            } else {
                "—".into()
            };
            let keys = match scale {
                Some((sampled, total)) => {
                    let est = (n.keys as f64 * total as f64 / sampled as f64).round() as u64;
                    format!("≈{}", compact(est))
                }
                None => n.keys.to_string(),
            };
            (keys, memory)
        })
        .collect();
    // The figures sized to what is shown (units are never cut); the name gets the rest.
    let keys_w = cells
        .iter()
        .map(|(k, _)| k.chars().count())
        .fold(4, usize::max);
    let mem_w = cells
        .iter()
        .map(|(_, m)| m.chars().count())
        .fold(6, usize::max);
    let name_w = usize::from(inner.width).saturating_sub(keys_w + mem_w + 2);
    let mut lines = vec![Line::styled(
        format!(
            "{:<name_w$} {:>keys_w$} {:>mem_w$}",
            "PREFIX", "KEYS", "MEMORY"
        ),
        theme.header(),
    )];
    for (i, (keys, memory)) in shown.zip(cells) {
        let (depth, n) = rows[i];
        let marker = match (n.children.is_empty(), s.expanded.contains(&n.path)) {
            (true, _) => "  ",
            (false, true) => "▾ ",
            (false, false) => "▸ ",
        };
        let name = fit_width(
            &format!("{}{marker}{}", "  ".repeat(depth), text::clean(&n.name)),
            name_w,
        );
        let text = format!("{name} {keys:>keys_w$} {memory:>mem_w$}");
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
        (Some(v), _) => keys_view::value(v, frame, area, cx),
        (None, Some(k)) => keys_view::keys(s, k, frame, area, cx),
        (None, None) => {}
    }
}

/// `12`, `4.1k`, `2.3M`: an estimate's precision, in a narrow column.
fn compact(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `text` padded or cut (with `…`) to exactly `width` columns.
fn fit_width(text: &str, width: usize) -> String {
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    let total = Span::raw(text).width();
    for ch in text.chars() {
        let mut buf = [0u8; 4];
        let w = Span::raw(&*ch.encode_utf8(&mut buf)).width();
        let room = if total > width {
            width.saturating_sub(1)
        } else {
            width
        };
        if used + w > room {
            out.push('…');
            used += 1;
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push_str(&" ".repeat(width.saturating_sub(used)));
    out
}
