//! The overview's panes, one file each (see `pane.rs` for adding one), and
//! the figure row they share.

pub mod audit;
pub mod drills;
pub mod jobs;
pub mod keys;
pub mod migrations;
pub mod now;
pub mod stores;

use super::pane::Data;
use crate::health::overview::Figure;
use crate::tui::screens::Cx;
use crate::tui::text;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// The figures named by `keys`, in that order, as rows with their sparklines;
/// `problem` (the store's error) comes first, in the error colour.
pub fn figure_rows(
    frame: &mut Frame,
    area: Rect,
    data: &Data,
    keys: &[&str],
    problem: Option<&str>,
    cx: &Cx,
) {
    let theme = &cx.env.theme;
    let mut y = area.y;
    if let Some(e) = problem {
        frame.render_widget(
            Paragraph::new(text::line(e, theme.error())),
            Rect {
                y,
                height: 1,
                ..area
            },
        );
        y += 1;
    }
    for key in keys {
        let Some(f) = data.figures.iter().find(|f| f.key == *key) else {
            continue;
        };
        if y >= area.bottom() {
            break;
        }
        figure_row(
            frame,
            Rect {
                y,
                height: 1,
                ..area
            },
            f,
            data,
            cx,
        );
        y += 1;
    }
}

/// Label, value (whole: the sparkline narrows or goes) and sparkline.
fn figure_row(frame: &mut Frame, row: Rect, f: &Figure, data: &Data, cx: &Cx) {
    let theme = &cx.env.theme;
    let label_w = (row.width / 3).min(16);
    let display = text::cleaned(&f.display);
    let display_w = u16::try_from(Span::raw(display.as_str()).width()).unwrap_or(u16::MAX);
    let value_w = (row.width.saturating_sub(label_w) * 2 / 3)
        .min(26)
        .max(display_w)
        .min(row.width.saturating_sub(label_w + 1));
    let [label, value, spark] = Layout::horizontal([
        Constraint::Length(label_w),
        Constraint::Length(value_w),
        Constraint::Min(0),
    ])
    .spacing(1)
    .areas(row);
    // A value wider than its column takes the sparkline's room instead.
    let value = if display_w > value.width {
        Rect {
            width: row.right().saturating_sub(value.x),
            ..value
        }
    } else {
        value
    };
    frame.render_widget(Paragraph::new(text::span(&f.label, theme.muted())), label);
    frame.render_widget(
        Paragraph::new(Span::styled(display, theme.level(f.level))),
        value,
    );
    if spark.width >= 4 && value.right() < spark.x {
        if let Some(s) = data.series.get(f.key) {
            let inner = Rect {
                x: spark.x + 1,
                width: spark.width - 1,
                ..spark
            };
            s.render(frame, inner, theme.level(f.level));
        }
    }
}

/// A muted line for a pane with nothing to show yet.
pub fn note(frame: &mut Frame, area: Rect, text: &str, cx: &Cx) {
    frame.render_widget(
        Paragraph::new(Line::styled(text.to_string(), cx.env.theme.muted())),
        area,
    );
}
