//! The `?` overlay: this screen's keys, then the global ones, read from the
//! live keymap (the same table that handles the keys), then the screens and
//! commands of the `:` bar.

use crate::tui::keymap::{Global, Keymap, GLOBAL};
use crate::tui::screens::{ScreenAction, ScreenId};
use crate::tui::theme::Theme;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// (keys, label) rows: the screen's actions first, then the global ones,
/// then the `:` commands.
pub fn entries(
    keymap: &Keymap<ScreenAction>,
    screen: ScreenId,
    enabled: &dyn Fn(ScreenAction) -> bool,
) -> Vec<(String, String, bool)> {
    let mut out: Vec<(String, String, bool)> = screen
        .actions()
        .into_iter()
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
    out.extend(
        ScreenId::ALL
            .iter()
            .map(|s| (format!(":{}", s.name()), s.about().to_string(), true)),
    );
    out.push((
        ":messages".into(),
        "recent messages and errors".into(),
        true,
    ));
    out
}

/// Where the overlay goes in the body and how it lays out its entries: one
/// column, or two when the body is wide enough; rows beyond the box scroll.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HelpLayout {
    pub area: Rect,
    pub columns: usize,
    /// Rows of entries in all, and how many the box shows.
    pub rows: usize,
    pub shown: usize,
    key_width: usize,
    entry_width: usize,
}

impl HelpLayout {
    pub fn new(body: Rect, entries: &[(String, String, bool)]) -> HelpLayout {
        let key_width = entries
            .iter()
            .map(|(k, _, _)| k.chars().count())
            .max()
            .unwrap_or(0)
            .min(14);
        let label_width = entries
            .iter()
            .map(|(_, l, _)| l.chars().count())
            .max()
            .unwrap_or(0);
        let entry_width = key_width + 2 + label_width;
        let columns = if usize::from(body.width) >= 2 * entry_width + 3 + 2 {
            2
        } else {
            1
        };
        let rows = entries.len().div_ceil(columns);
        let width = (columns * entry_width + (columns - 1) * 3 + 2).max(30);
        let height = rows + 2;
        let area = crate::tui::view::centered(
            body,
            u16::try_from(width).unwrap_or(u16::MAX),
            u16::try_from(height).unwrap_or(u16::MAX),
        );
        HelpLayout {
            area,
            columns,
            rows,
            shown: usize::from(area.height.saturating_sub(2)),
            key_width,
            entry_width,
        }
    }

    /// The largest useful scroll offset.
    pub fn max_scroll(&self) -> usize {
        self.rows.saturating_sub(self.shown)
    }
}

pub fn render(
    frame: &mut Frame,
    layout: &HelpLayout,
    scroll: usize,
    theme: &Theme,
    title: &str,
    entries: &[(String, String, bool)],
) {
    let area = layout.area;
    frame.render_widget(Clear, area);
    let scroll = scroll.min(layout.max_scroll());
    let mut block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(format!(" keys: {title} "), theme.title()));
    if layout.max_scroll() > 0 {
        let last = (scroll + layout.shown).min(layout.rows);
        block = block.title_bottom(
            Line::styled(
                format!(" {}-{last}/{} j/k scroll ", scroll + 1, layout.rows),
                theme.muted(),
            )
            .right_aligned(),
        );
    }
    let kw = layout.key_width;
    let lines: Vec<Line> = (scroll..scroll + layout.shown)
        .map(|row| {
            let mut spans = Vec::new();
            for col in 0..layout.columns {
                let Some((k, label, enabled)) = entries.get(col * layout.rows + row) else {
                    continue;
                };
                let style = if *enabled {
                    theme.text()
                } else {
                    theme.muted()
                };
                let pad = if col + 1 < layout.columns {
                    layout.entry_width + 3 - kw - 2
                } else {
                    0
                };
                spans.push(Span::styled(format!("{k:>kw$.kw$}  "), theme.key()));
                spans.push(Span::styled(format!("{label:<pad$}"), style));
            }
            Line::from(spans)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
