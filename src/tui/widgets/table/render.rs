//! Drawing the table: header with the sort mark, only the visible rows,
//! and a status line with position, filter and load state.

use super::{scroll_offset, PagedSource, PagedTable, TableRow};
use crate::tui::screens::{Cx, LoadState};
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
        let header = Row::new(self.columns.iter().map(|c| {
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
        }))
        .style(theme.title());
        let rows = self.rows.range(offset..end).map(|k| {
            let row = Row::new(k.row.cells());
            match k.row.level() {
                Some(level) => row.style(theme.level(level)),
                None => row.style(theme.text()),
            }
        });
        let widths: Vec<Constraint> = self.columns.iter().map(|c| c.width).collect();
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
        let pos = match (self.position(), self.total, self.rows.is_empty()) {
            (_, _, true) => "0".to_string(),
            (Some(p), Some(t), _) => format!("{}/{}", p + 1, t.max(p + 1)),
            (Some(p), None, _) => format!("{}", p + 1),
            (None, Some(t), _) => format!("?/{t}"),
            (None, None, _) => "?".to_string(),
        };
        spans.push(Span::styled(pos, theme.muted()));
        if !self.filter.is_empty() {
            spans.push(Span::styled(format!("  /{}", self.filter), theme.accent()));
        }
        if self.loading_after || self.loading_before || matches!(self.state, LoadState::Loading) {
            spans.push(Span::styled("  loading…", theme.muted()));
        }
        if let LoadState::Error(e) = &self.state {
            spans.push(Span::styled(format!("  {e}"), theme.error()));
        }
        Line::from(spans)
    }
}
