//! Drawing `:jobs`: the queues table with failure sparklines, the failure
//! groups, and a job's detail. Pure functions of the screen's state.

use super::{JobsScreen, View};
use crate::jobs::Job;
use crate::tui::screens::{Cx, LoadState};
use crate::tui::text;
use crate::tui::widgets::detail::{Detail, Entry};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, Row, Table};
use ratatui::Frame;
use std::collections::VecDeque;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The failed counts seen, scaled to bars (flat at the bottom when none failed).
pub fn sparkline(h: Option<&VecDeque<i64>>, width: usize) -> String {
    let Some(h) = h else { return String::new() };
    let tail: Vec<i64> = h.iter().rev().take(width).rev().copied().collect();
    let max = tail.iter().copied().max().unwrap_or(0).max(1);
    tail.iter()
        .map(|v| BARS[((*v).max(0) * 7 / max) as usize])
        .collect()
}

fn time(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| "-".into())
}

/// The detail pane's entries for `job`: fields, then the payload and stack
/// one line per field.
pub fn detail(j: &Job) -> Detail {
    let f = |k: &str, v: String| Entry::Field(k.to_string(), v);
    let mut e = vec![
        f("source", j.source.to_string()),
        f("queue", j.queue.clone()),
        f("id", j.id.clone()),
        f("state", j.state.to_string()),
        f("attempts", format!("{} of {}", j.attempts, j.max_attempts)),
        f("error", j.error.clone().unwrap_or_else(|| "-".into())),
        f("created", time(j.created_at)),
        f("run at", time(j.run_at)),
        f("failed", time(j.failed_at)),
    ];
    let mut block = |title: &str, lines: Vec<String>| {
        if lines.is_empty() {
            return;
        }
        e.push(Entry::Heading(title.to_string()));
        e.extend(lines.into_iter().map(|l| Entry::Field(String::new(), l)));
    };
    let payload = j
        .payload
        .as_ref()
        .and_then(|p| serde_json::to_string_pretty(p).ok())
        .map(|p| p.lines().map(str::to_string).collect())
        .unwrap_or_default();
    block("payload", payload);
    let stack = j
        .stack
        .as_deref()
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default();
    block("stack", stack);
    let history = j
        .history
        .iter()
        .map(|h| format!("{} {}", time(h.at), h.event))
        .collect();
    block("history", history);
    Detail::with_entries(e)
}

pub fn render(s: &JobsScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let mut notes: Vec<Line> = Vec::new();
    match s.load_state_ref() {
        LoadState::Error(e) => notes.push(text::line(e, theme.error())),
        LoadState::Idle | LoadState::Loading if s.data().queues.is_empty() => {
            notes.push(Line::styled("reading the job systems…", theme.muted()));
        }
        _ => {}
    }
    let [notes_area, body] = Layout::vertical([
        Constraint::Length(u16::try_from(notes.len()).unwrap_or(0)),
        Constraint::Min(0),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(notes), notes_area);
    match s.view() {
        View::Queues => queues(s, frame, body, cx),
        View::Errors => groups(s, frame, body, cx),
        View::Detail => {
            if let Some(d) = s.detail_pane() {
                d.render(frame, body, theme);
            }
        }
    }
}

fn queues(s: &JobsScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let narrow = area.width < 60;
    let header: Vec<&str> = if narrow {
        vec!["queue", "wait", "fail", "trend"]
    } else {
        vec![
            "source", "queue", "wait", "run", "retry", "fail", "1h%", "oldest", "dlq", "failures",
        ]
    };
    let rows = s.data().queues.iter().enumerate().map(|(i, q)| {
        let c = q.counts;
        let spark = sparkline(s.history(q), 10);
        let cells: Vec<String> = if narrow {
            vec![
                text::cleaned(&q.queue),
                (c.waiting + c.scheduled).to_string(),
                c.failed.to_string(),
                spark,
            ]
        } else {
            vec![
                q.source.to_string(),
                text::cleaned(&q.queue),
                (c.waiting + c.scheduled).to_string(),
                c.active.to_string(),
                c.retrying.to_string(),
                c.failed.to_string(),
                q.failure_rate()
                    .map_or_else(|| "-".into(), |r| format!("{:.0}%", r * 100.0)),
                q.oldest_waiting_ms
                    .map_or_else(|| "-".into(), |m| crate::units::millis(m as f64)),
                q.dlq_depth.map_or_else(|| "-".into(), |d| d.to_string()),
                spark,
            ]
        };
        let style = if i == s.queue_sel() {
            theme.selection()
        } else if c.failed > 0 {
            theme.warn()
        } else {
            theme.text()
        };
        Row::new(cells).style(style)
    });
    let widths: Vec<Constraint> = if narrow {
        vec![
            Constraint::Min(10),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(12),
        ]
    } else {
        vec![
            Constraint::Length(15),
            Constraint::Min(10),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Length(5),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Length(6),
            Constraint::Length(4),
            Constraint::Length(10),
        ]
    };
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.header()));
    frame.render_widget(table, area);
}

fn groups(s: &JobsScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let groups = s.groups();
    if groups.is_empty() {
        let line = Line::styled("no failed jobs", theme.muted());
        return frame.render_widget(Paragraph::new(line), area);
    }
    let narrow = area.width < 60;
    let header: Vec<&str> = if narrow {
        vec!["count", "error"]
    } else {
        vec!["count", "error", "queues", "last seen"]
    };
    // Keep the selection in view.
    let height = usize::from(area.height.saturating_sub(2)).max(1);
    let first = s.group_sel().saturating_sub(height - 1);
    let rows = groups.iter().enumerate().skip(first).map(|(i, g)| {
        let mut cells = vec![g.count.to_string(), text::cleaned(&g.pattern)];
        if !narrow {
            cells.push(text::cleaned(&g.queues.join(", ")));
            cells.push(
                g.last_seen
                    .map_or_else(|| "-".into(), |t| t.format("%m-%d %H:%M").to_string()),
            );
        }
        let style = if i == s.group_sel() {
            theme.selection()
        } else {
            theme.text()
        };
        Row::new(cells).style(style)
    });
    let widths: Vec<Constraint> = if narrow {
        vec![Constraint::Length(6), Constraint::Min(10)]
    } else {
        vec![
            Constraint::Length(7),
            Constraint::Min(30),
            Constraint::Length(16),
            Constraint::Length(11),
        ]
    };
    let [table_area, foot] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    let table = Table::new(rows, widths).header(Row::new(header).style(theme.header()));
    frame.render_widget(table, table_area);
    let d = s.data();
    let foot_text = format!(
        "{} groups from {} failed jobs{}",
        groups.len(),
        d.scanned,
        if d.scanned >= super::SCAN {
            " (first 20,000 per source)"
        } else {
            ""
        }
    );
    frame.render_widget(Paragraph::new(Line::styled(foot_text, theme.muted())), foot);
}
