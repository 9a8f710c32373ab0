//! The `?` overlay: this screen's keys and the global ones, read from the
//! live keymap (the same table that handles the keys).

use crate::tui::keymap::{Global, Keymap, ScreenAction, GLOBAL};
use crate::tui::screens::ScreenId;
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// (keys, label) rows: the screen's actions first, then the global ones.
pub fn entries(
    keymap: &Keymap,
    screen: ScreenId,
    enabled: &dyn Fn(ScreenAction) -> bool,
) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = screen
        .actions()
        .iter()
        .map(|d| {
            (
                keymap.screen_hint(screen.name(), d.action),
                d.label.to_string(),
                enabled(d.action),
            )
        })
        .collect();
    out.extend(
        GLOBAL
            .iter()
            .filter(|d| d.action != Global::Help)
            .map(|d| (keymap.global_hint(d.action), d.label.to_string(), true)),
    );
    out
}

pub fn render(
    frame: &mut Frame,
    area: Rect,
    theme: &Theme,
    title: &str,
    entries: &[(String, String, bool)],
) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(format!(" keys: {title} "), theme.title()));
    let width = entries
        .iter()
        .map(|(k, _, _)| k.chars().count())
        .max()
        .unwrap_or(0)
        .min(14);
    let lines: Vec<Line> = entries
        .iter()
        .map(|(k, label, enabled)| {
            let style = if *enabled {
                theme.text()
            } else {
                theme.muted()
            };
            Line::from(vec![
                Span::styled(format!("{k:>width$.width$}  "), theme.key()),
                Span::styled(label.clone(), style),
            ])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
