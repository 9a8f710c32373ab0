//! `:messages`: the recent status lines and errors, newest first, with
//! their age; any key closes it.

use crate::tui::app::status::Messages;
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::tui::view::age_text;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;
use std::time::Instant;

pub fn lines(messages: &Messages, now: Instant, theme: &Theme) -> Vec<Line<'static>> {
    if messages.is_empty() {
        return vec![Line::styled("no messages yet", theme.muted())];
    }
    messages
        .iter()
        .rev()
        .map(|m| {
            let age = age_text(now.saturating_duration_since(m.at));
            let style = if m.error { theme.error() } else { theme.text() };
            let mut spans = vec![Span::styled(format!("{age:>8}  "), theme.muted())];
            spans.extend(text::line(&m.text, style).spans);
            Line::from(spans)
        })
        .collect()
}

pub fn render(frame: &mut Frame, area: Rect, messages: &Messages, now: Instant, theme: &Theme) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(" messages ", theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    frame.render_widget(Paragraph::new(lines(messages, now, theme)), inner);
}
