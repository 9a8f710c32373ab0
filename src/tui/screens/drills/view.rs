//! Drawing the drills screen: the history table, and one drill's results
//! by check with its figures above them. Pure functions of the state.

use crate::drills::{DrillReport, DrillStatus};
use crate::tui::screens::{Cx, LoadState};
use crate::tui::text;
use crate::units::millis;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

fn status_style(s: DrillStatus, cx: &Cx) -> ratatui::style::Style {
    match s {
        DrillStatus::Passed => cx.env.theme.ok(),
        DrillStatus::Failed => cx.env.theme.error(),
    }
}

pub fn history(
    frame: &mut Frame,
    area: Rect,
    rows: &[DrillReport],
    selected: usize,
    state: &LoadState,
    cx: &Cx,
) {
    let theme = &cx.env.theme;
    let note = match state {
        LoadState::Error(e) => Some(text::line(e, theme.error())),
        LoadState::Idle | LoadState::Loading if rows.is_empty() => {
            Some(Line::styled("loading the drill history…", theme.muted()))
        }
        _ if rows.is_empty() => Some(Line::styled(
            "no drills recorded yet: n runs one (or `opsdeck drill run`)",
            theme.muted(),
        )),
        _ => None,
    };
    if let Some(line) = note {
        frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), area);
        return;
    }
    let narrow = area.width < 60;
    let body = rows.iter().map(|r| {
        let failed: Vec<String> = r.failed_checks().map(|c| text::cleaned(&c.name)).collect();
        let mut cells = vec![
            Cell::from(r.id.map_or("-".into(), |i| i.to_string())),
            Cell::from(r.status.as_str()).style(status_style(r.status, cx)),
            Cell::from(
                r.started_at
                    .chars()
                    .take(16)
                    .collect::<String>()
                    .replace('T', " "),
            ),
            Cell::from(millis(r.rto_ms as f64)),
        ];
        if !narrow {
            cells.push(Cell::from(
                r.rpo_ms.map_or("-".into(), |v| millis(v as f64)),
            ));
            cells.push(Cell::from(text::cleaned(&short_source(&r.source))));
            cells.push(Cell::from(failed.join(", ")).style(theme.error()));
        }
        Row::new(cells)
    });
    let (widths, header) = if narrow {
        (
            vec![
                Constraint::Length(4),
                Constraint::Length(6),
                Constraint::Length(16),
                Constraint::Min(5),
            ],
            vec!["ID", "STATUS", "STARTED", "RTO"],
        )
    } else {
        (
            vec![
                Constraint::Length(4),
                Constraint::Length(6),
                Constraint::Length(16),
                Constraint::Length(7),
                Constraint::Length(7),
                Constraint::Fill(2),
                Constraint::Fill(1),
            ],
            vec!["ID", "STATUS", "STARTED", "RTO", "RPO", "SOURCE", "FAILED"],
        )
    };
    let table = Table::new(body, widths)
        .header(Row::new(header).style(theme.header()))
        .row_highlight_style(theme.selection());
    let mut ts = TableState::default().with_selected(Some(selected));
    frame.render_stateful_widget(table, area, &mut ts);
}

pub fn results(frame: &mut Frame, area: Rect, r: &DrillReport, check: usize, cx: &Cx) {
    let theme = &cx.env.theme;
    let mut head = vec![Line::from(vec![
        text::span(r.status.as_str(), status_style(r.status, cx)),
        text::span(
            &format!(
                "  RTO {}  RPO {}{}",
                millis(r.rto_ms as f64),
                r.rpo_ms.map_or("-".into(), |v| millis(v as f64)),
                // The restore time is in its check's row; a narrow screen
                // keeps the headline on one line.
                if area.width < 60 {
                    String::new()
                } else {
                    format!("  restore {}", millis(r.restore_ms as f64))
                }
            ),
            theme.text(),
        ),
    ])];
    // A small terminal keeps the rows for the checks.
    if area.height >= 14 {
        head.push(text::line(
            &format!("{} → {}", r.source, r.target),
            theme.muted(),
        ));
        if let Some(n) = &r.note {
            head.push(text::line(&format!("note: {n}"), theme.warn()));
        }
    }
    let width = usize::from(area.width.max(1));
    let head_rows: usize = head.iter().map(|l| l.width().max(1).div_ceil(width)).sum();
    let [top, list] = Layout::vertical([
        Constraint::Length(u16::try_from(head_rows).unwrap_or(1)),
        Constraint::Min(0),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(head).wrap(Wrap { trim: false }), top);
    let name_width: u16 = if area.width < 60 { 12 } else { 26 };
    let detail_width = usize::from(area.width.saturating_sub(name_width + 4 + 2).max(8));
    let body = r.checks.iter().map(|c| {
        let (mark, style) = if c.passed() {
            ("ok", theme.ok())
        } else {
            ("FAIL", theme.error())
        };
        let mut lines = wrap(&text::cleaned(&c.detail), detail_width);
        // A row taller than the list is not drawn at all: cut it to fit.
        lines.truncate(usize::from(list.height.saturating_sub(1).max(1)));
        let height = u16::try_from(lines.len()).unwrap_or(1);
        Row::new(vec![
            Cell::from(mark).style(style),
            Cell::from(text::cleaned(&c.name)),
            Cell::from(lines.into_iter().map(Line::from).collect::<Vec<_>>()).style(theme.muted()),
        ])
        .height(height)
    });
    let table = Table::new(
        body,
        [
            Constraint::Length(4),
            Constraint::Length(name_width),
            Constraint::Min(8),
        ],
    )
    .header(Row::new(["", "CHECK", "DETAIL"]).style(theme.header()))
    .row_highlight_style(theme.selection());
    let mut ts = TableState::default().with_selected(Some(check));
    frame.render_stateful_widget(table, list, &mut ts);
}

/// Words in lines of at most `width` characters (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: String = word.to_string();
        loop {
            let used = line.chars().count();
            let len = word.chars().count();
            if used + len + usize::from(used > 0) <= width {
                if used > 0 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if used > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
            if word.is_empty() {
                break;
            }
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// The archive's file name, or "fresh dump": the full path is in the results.
fn short_source(source: &str) -> String {
    match source.strip_prefix("dump:") {
        Some(path) => std::path::Path::new(path)
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_else(|| path.to_string()),
        None => "fresh dump".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn wraps_words_and_cuts_long_ones() {
        assert_eq!(super::wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert_eq!(super::wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(super::wrap("", 4), [""]);
    }
}
