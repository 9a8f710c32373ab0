//! Drawing the table: header with the sort mark, only the visible rows,
//! and a status line with position, filter and load state.

use super::{scroll_offset, Column, PagedSource, PagedTable, TableRow};
use crate::tui::screens::{Cx, LoadState};
use crate::tui::text::cleaned;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Table, TableState};
use ratatui::Frame;

impl<S: PagedSource> PagedTable<S> {
    /// Draws only the visible rows, plus the header and a status line with
    /// position, sort, filter and load state.
    pub fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        let theme = &cx.env.theme;
        let [table_area, status_area] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        let visible = usize::from(table_area.height.saturating_sub(1)).max(1);
        let offset = scroll_offset(self.offset, self.selected, visible).min(self.rows.len());
        let end = (offset + visible).min(self.rows.len());
        let shown = shown_columns(&self.columns, table_area.width);
        let header = Row::new(self.columns.iter().zip(&shown).filter(|(_, s)| **s).map(
            |(c, _)| {
                let mark = match &self.sort {
                    Some(s) if Some(s.column) == c.sort_key => {
                        if s.desc {
                            "▼"
                        } else {
                            "▲"
                        }
                    }
                    _ => "",
                };
                format!("{}{mark}", c.title)
            },
        ))
        .style(theme.title());
        let rows = self.rows.range(offset..end).map(|k| {
            let cells = k.row.cells().into_iter().zip(&shown).filter(|(_, s)| **s);
            let row = Row::new(cells.map(|(c, _)| cleaned(&c)));
            match k.row.level() {
                Some(level) => row.style(theme.level(level)),
                None => row.style(theme.text()),
            }
        });
        let widths: Vec<Constraint> = self
            .columns
            .iter()
            .zip(&shown)
            .filter(|(_, s)| **s)
            .map(|(c, _)| c.width)
            .collect();
        let table = Table::new(rows, widths)
            .header(header)
            .row_highlight_style(theme.selection())
            .column_spacing(1);
        let mut state = TableState::default();
        if !self.rows.is_empty() && cx.focused {
            state.select(Some(self.selected - offset));
        }
        frame.render_stateful_widget(table, table_area, &mut state);
        if self.rows.is_empty() {
            let text = match &self.state {
                LoadState::Idle | LoadState::Loading => "loading…",
                LoadState::Loaded(_) if self.filter.is_empty() => "no rows",
                LoadState::Loaded(_) => "no rows match the filter",
                LoadState::Error(_) => "",
            };
            let inner = Rect {
                y: table_area.y.saturating_add(1),
                height: table_area.height.saturating_sub(1),
                ..table_area
            };
            frame.render_widget(Paragraph::new(text).style(theme.muted()), inner);
        }
        frame.render_widget(Paragraph::new(self.status_line(theme)), status_area);
    }

    fn status_line(&self, theme: &Theme) -> Line<'static> {
        let mut spans = Vec::new();
        // An estimate is never shown as a count: `≈` marks it, and a
        // position derived from it.
        let approx = |exact: bool| if exact { "" } else { "≈" };
        let position = self.position().map(|p| (p, self.position_exact()));
        let pos = match (position, self.total(), self.rows.is_empty()) {
            (_, _, true) => "0".to_string(),
            (Some((p, pe)), Some((t, te)), _) => {
                format!("{}{}/{}{}", approx(pe), p + 1, approx(te), t.max(p + 1))
            }
            (Some((p, pe)), None, _) => format!("{}{}", approx(pe), p + 1),
            (None, Some((t, te)), _) => format!("?/{}{t}", approx(te)),
            (None, None, _) => "?".to_string(),
        };
        spans.push(Span::styled(pos, theme.muted()));
        if !self.filter.is_empty() {
            spans.push(Span::styled(
                format!("  /{}", cleaned(&self.filter)),
                theme.accent(),
            ));
        }
        if self.loading_after || self.loading_before || matches!(self.state, LoadState::Loading) {
            spans.push(Span::styled("  loading…", theme.muted()));
        }
        if let LoadState::Error(e) = &self.state {
            spans.push(Span::styled(format!("  {}", cleaned(e)), theme.error()));
        }
        Line::from(spans)
    }
}

/// Which columns fit in `width` at their least widths (a header cut to
/// "pla sta cr" tells nothing): optional ones hide first, then from the right.
pub fn shown_columns(columns: &[Column], width: u16) -> Vec<bool> {
    let least = |c: &Column| {
        match c.width {
            Constraint::Length(n) | Constraint::Min(n) => usize::from(n),
            _ => 1,
        }
        .max(c.title.chars().count())
    };
    let mut shown = vec![true; columns.len()];
    let need = |shown: &[bool]| {
        let (sum, n) = columns
            .iter()
            .zip(shown)
            .filter(|(_, s)| **s)
            .fold((0usize, 0usize), |(sum, n), (c, _)| (sum + least(c), n + 1));
        sum + n.saturating_sub(1)
    };
    let mut order: Vec<usize> = (0..columns.len()).rev().collect();
    order.sort_by_key(|&i| !columns[i].optional);
    for i in order {
        if need(&shown) <= usize::from(width) || shown.iter().filter(|s| **s).count() == 1 {
            break;
        }
        shown[i] = false;
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::{shown_columns, Column};
    use ratatui::layout::Constraint;

    #[test]
    fn narrow_tables_hide_optional_then_rightmost_columns() {
        let cols = [
            Column::new("started", None, Constraint::Length(19)).optional(),
            Column::new("action", None, Constraint::Min(10)),
            Column::new("target", None, Constraint::Min(8)),
            Column::new("outcome", None, Constraint::Length(10)),
            Column::new("took", None, Constraint::Length(8)).optional(),
        ];
        assert_eq!(shown_columns(&cols, 80), [true; 5]);
        assert_eq!(shown_columns(&cols, 50), [true, true, true, true, false]);
        assert_eq!(shown_columns(&cols, 38), [false, true, true, true, false]);
        assert_eq!(shown_columns(&cols, 20), [false, true, true, false, false]);
        assert_eq!(shown_columns(&cols, 3), [false, true, false, false, false]);
    }
}
