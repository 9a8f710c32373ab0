//! A key/value detail pane: one field a line (keys in the muted role, long
//! values wrapped under their value column), optional section headings, and
//! scrolling by screen row with a scrollbar when it does not all fit. Every
//! key and value is data: it is cleaned of control characters before it is
//! measured or drawn.

use crate::tui::keymap::Global;
use crate::tui::text::clean;
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::wrap;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState};
use ratatui::Frame;
use serde_json::Value;
use std::cell::Cell;

#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    /// Starts a section (`api keys (2)`).
    Heading(String),
    Field(String, String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    entries: Vec<Entry>,
    /// First screen row shown.
    scroll: usize,
    /// The area of the last draw. Only the layout knows how many rows the
    /// wrapped fields take, and the keys need it to stop at the last one;
    /// a layout cache, it changes nothing that is drawn.
    viewport: Cell<Rect>,
}

/// Widest key column, as a share of the pane: values need the room more.
const KEY_SHARE: usize = 3;

impl Detail {
    pub fn new(fields: Vec<(String, String)>) -> Detail {
        Detail::with_entries(
            fields
                .into_iter()
                .map(|(k, v)| Entry::Field(k, v))
                .collect(),
        )
    }

    pub fn with_entries(entries: Vec<Entry>) -> Detail {
        Detail {
            entries,
            scroll: 0,
            viewport: Cell::new(Rect::default()),
        }
    }

    /// Fields of a serialised value, nested objects flattened as `a.b`.
    pub fn from_json(value: &Value) -> Detail {
        let mut fields = Vec::new();
        flatten("", value, &mut fields);
        Detail::new(fields)
    }

    /// The fields, without the headings.
    pub fn fields(&self) -> Vec<(&str, &str)> {
        self.entries
            .iter()
            .filter_map(|e| match e {
                Entry::Field(k, v) => Some((k.as_str(), v.as_str())),
                Entry::Heading(_) => None,
            })
            .collect()
    }

    /// Scrolls (never past the last row, as last drawn); `false` for keys
    /// the pane does not use.
    pub fn nav(&mut self, nav: Global) -> bool {
        let area = self.viewport.get();
        let height = usize::from(area.height).max(1);
        let max = match area.is_empty() {
            // Not drawn yet: a row a field is as good a bound as any.
            true => self.entries.len().saturating_sub(1),
            false => self.rows(area, None).len().saturating_sub(height),
        };
        let page = height.saturating_sub(1).max(1);
        self.scroll = match nav {
            Global::Up => self.scroll.saturating_sub(1),
            Global::Down => self.scroll + 1,
            Global::PageUp => self.scroll.saturating_sub(page),
            Global::PageDown => self.scroll + page,
            Global::Top => 0,
            Global::Bottom => max,
            _ => return false,
        }
        .min(max);
        true
    }

    /// The pane's screen rows at `area`'s width (less the scrollbar's
    /// column when they do not all fit), styled when a theme is given.
    fn rows(&self, area: Rect, theme: Option<&Theme>) -> Vec<Line<'static>> {
        let all = self.rows_at(usize::from(area.width), theme);
        if all.len() <= usize::from(area.height) {
            return all;
        }
        self.rows_at(usize::from(area.width.saturating_sub(1)), theme)
    }

    fn rows_at(&self, cols: usize, theme: Option<&Theme>) -> Vec<Line<'static>> {
        let style = |f: fn(&Theme) -> ratatui::style::Style| theme.map(f).unwrap_or_default();
        let key_w = self
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Field(k, _) => Some(Span::raw(clean(k)).width()),
                Entry::Heading(_) => None,
            })
            .max()
            .unwrap_or(0)
            .min(cols / KEY_SHARE);
        let value_w = cols.saturating_sub(key_w + 1).max(1);
        let mut rows = Vec::new();
        for e in &self.entries {
            match e {
                Entry::Heading(h) => {
                    for l in wrap(&format!("── {h}"), cols) {
                        rows.push(Line::styled(l, style(Theme::title)));
                    }
                }
                Entry::Field(k, v) => {
                    let key = cut(&clean(k), key_w);
                    for (i, l) in wrap(v, value_w).into_iter().enumerate() {
                        let k = if i == 0 {
                            key.clone()
                        } else {
                            " ".repeat(key_w)
                        };
                        rows.push(Line::from(vec![
                            Span::styled(format!("{k} "), style(Theme::muted)),
                            Span::styled(l, style(Theme::text)),
                        ]));
                    }
                }
            }
        }
        rows
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        self.viewport.set(area);
        let rows = self.rows(area, Some(theme));
        let height = usize::from(area.height);
        let max = rows.len().saturating_sub(height);
        let scroll = self.scroll.min(max);
        let shown: Vec<Line> = rows.iter().skip(scroll).take(height).cloned().collect();
        frame.render_widget(Paragraph::new(shown), area);
        if max > 0 {
            let mut state = ScrollbarState::new(max + 1).position(scroll);
            frame.render_stateful_widget(
                Scrollbar::new(ScrollbarOrientation::VerticalRight)
                    .begin_symbol(None)
                    .end_symbol(None)
                    .track_symbol(Some("┊"))
                    .style(theme.muted()),
                area,
                &mut state,
            );
        }
    }
}

/// `text` cut to `width` columns and padded to exactly `width`.
fn cut(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    for ch in text.chars() {
        let mut buf = [0u8; 4];
        let w = Span::raw(&*ch.encode_utf8(&mut buf)).width();
        if used + w > width {
            break;
        }
        out.push(ch);
        used += w;
    }
    out.push_str(&" ".repeat(width - used));
    out
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), "—".into())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::buffer::Buffer;
    use ratatui::Terminal;

    #[test]
    fn flattens_and_renders_key_value_lines() {
        let d = Detail::from_json(
            &serde_json::json!({"slug": "acme", "plan": {"name": "pro"}, "deleted_at": null}),
        );
        assert_eq!(
            d.fields(),
            [("deleted_at", "—"), ("plan.name", "pro"), ("slug", "acme")]
        );
        let theme = Theme::builtin("mono").unwrap();
        let mut t = Terminal::new(TestBackend::new(24, 3)).unwrap();
        t.draw(|f| d.render(f, f.area(), &theme)).unwrap();
        let mut expected = Buffer::with_lines([
            "deleted_ —              ",
            "plan.nam pro            ",
            "slug     acme           ",
        ]);
        expected.set_style(Rect::new(0, 0, 9, 3), theme.muted());
        t.backend().assert_buffer(&expected);
    }

    #[test]
    fn scrolls_by_row_to_the_last_wrapped_line() {
        let mut entries = vec![Entry::Heading("rows".into())];
        for i in 0..6 {
            entries.push(Entry::Field(format!("t{i}"), format!("{i}")));
        }
        entries.push(Entry::Field(
            "fix".into(),
            "ALTER TABLE x ENABLE RLS".into(),
        ));
        let mut d = Detail::with_entries(entries);
        let area = Rect::new(0, 0, 16, 4);
        // 1 heading + 6 fields + the fix wrapped over 3 rows at 15 columns.
        assert_eq!(d.rows(area, None).len(), 10);
        let theme = Theme::builtin("mono").unwrap();
        let mut t = Terminal::new(TestBackend::new(16, 4)).unwrap();
        t.draw(|f| d.render(f, area, &theme)).unwrap();
        assert!(d.nav(Global::Bottom));
        t.draw(|f| d.render(f, area, &theme)).unwrap();
        let text = format!("{}", t.backend());
        assert!(text.contains("fix ALTER TABLE"), "{text}");
        assert!(text.contains("x ENABLE") && text.contains("RLS"), "{text}");
        // Down at the end stays there; Up moves at once.
        assert!(d.nav(Global::Down));
        assert_eq!(d.scroll, 6);
        assert!(d.nav(Global::Up));
        assert_eq!(d.scroll, 5);
        assert!(!d.nav(Global::Filter));
    }
}
