//! A key/value detail pane: one field a line, keys in the muted role,
//! long values wrapped, scrollable with the navigation keys.

use crate::tui::keymap::Global;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use ratatui::Frame;
use serde_json::Value;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Detail {
    fields: Vec<(String, String)>,
    scroll: u16,
}

impl Detail {
    pub fn new(fields: Vec<(String, String)>) -> Detail {
        Detail { fields, scroll: 0 }
    }

    /// Fields of a serialised value, nested objects flattened as `a.b`.
    pub fn from_json(value: &Value) -> Detail {
        let mut fields = Vec::new();
        flatten("", value, &mut fields);
        Detail::new(fields)
    }

    pub fn fields(&self) -> &[(String, String)] {
        &self.fields
    }

    /// Scrolls; `false` for keys the pane does not use.
    pub fn nav(&mut self, nav: Global) -> bool {
        let max = self.fields.len().saturating_sub(1) as u16;
        self.scroll = match nav {
            Global::Up => self.scroll.saturating_sub(1),
            Global::Down => (self.scroll + 1).min(max),
            Global::PageUp => self.scroll.saturating_sub(10),
            Global::PageDown => (self.scroll + 10).min(max),
            Global::Top => 0,
            Global::Bottom => max,
            _ => return false,
        };
        true
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let width = self
            .fields
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            .min(usize::from(area.width / 3));
        let lines: Vec<Line> = self
            .fields
            .iter()
            .map(|(k, v)| {
                Line::from(vec![
                    Span::styled(format!("{k:<width$.width$} "), theme.muted()),
                    Span::styled(v.clone(), theme.text()),
                ])
            })
            .collect();
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((self.scroll, 0)),
            area,
        );
    }
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
            &[
                ("deleted_at".to_string(), "—".to_string()),
                ("plan.name".to_string(), "pro".to_string()),
                ("slug".to_string(), "acme".to_string()),
            ]
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
}
