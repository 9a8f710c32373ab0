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
            Cell::from(r.started_at.chars().take(16).collect::<String>().replace('T', " ")),
            Cell::from(millis(r.rto_ms as f64)),
        ];
        if !narrow {
            cells.push(Cell::from(r.rpo_ms.map_or("-".into(), |v| millis(v as f64))));
            cells.push(Cell::from(text::cleaned(&r.source)));
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
                Constraint::Min(12),
                Constraint::Min(8),
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

pub fn results(frame: &mut Frame, area: Rect, r: &DrillReport, cx: &Cx) {
    let theme = &cx.env.theme;
    let mut head = vec![
        Line::from(vec![
            text::span(r.status.as_str(), status_style(r.status, cx)),
            text::span(
                &format!(
                    "  RTO {}  RPO {}  restore {}",
                    millis(r.rto_ms as f64),
                    r.rpo_ms.map_or("-".into(), |v| millis(v as f64)),
                    millis(r.restore_ms as f64)
                ),
                theme.text(),
            ),
        ]),
        text::line(&format!("{} → {}", r.source, r.target), theme.muted()),
    ];
    if let Some(n) = &r.note {
        head.push(text::line(n, theme.warn()));
    }
    let rows_for_head = u16::try_from(head.len()).unwrap_or(2);
    let [top, list] =
        Layout::vertical([Constraint::Length(rows_for_head), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(head), top);
    let body = r.checks.iter().map(|c| {
        let (mark, style) = if c.passed() {
            ("ok", theme.ok())
        } else {
            ("FAIL", theme.error())
        };
        Row::new(vec![
            Cell::from(mark).style(style),
            Cell::from(text::cleaned(&c.name)),
            Cell::from(text::cleaned(&c.detail)).style(theme.muted()),
        ])
    });
    let name_width = if area.width < 60 { 14 } else { 28 };
    let table = Table::new(
        body,
        [
            Constraint::Length(4),
            Constraint::Length(name_width),
            Constraint::Min(10),
        ],
    )
    .header(Row::new(["", "CHECK", "DETAIL"]).style(theme.header()));
    frame.render_widget(table, list);
}
