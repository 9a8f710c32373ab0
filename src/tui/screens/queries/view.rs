//! Drawing `:queries`: the tab bar, the open tab's rows (only those that
//! fit are built), and the pane Enter opened: the plan tree with the
//! hottest node marked, or a session's fields.

use super::rows::{Rows, Tab};
use super::{Pane, QueriesScreen};
use crate::queries::{Explained, LockNode, SessionRow, Statement};
use crate::tui::screens::{Cx, LoadState};
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::units::millis;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

pub fn title(s: &QueriesScreen) -> String {
    match s.tab {
        Tab::Slow => match s.rows.delta_over() {
            Some(d) => format!("queries · slow · last {} s", d.as_secs().max(1)),
            None => "queries · slow · totals".into(),
        },
        t => format!("queries · {}", t.name()),
    }
}

/// Body rows from which the list keeps a few rows above an open pane.
const PANE_WITH_LIST: u16 = 16;

pub fn render(s: &QueriesScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    let [bar, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(area);
    frame.render_widget(Paragraph::new(tab_bar(s, theme)), bar);
    let (list, pane) = match &s.pane {
        None => (Some(body), None),
        Some(_) if body.height >= PANE_WITH_LIST => {
            let [l, p] = Layout::vertical([Constraint::Length(7), Constraint::Min(0)]).areas(body);
            (Some(l), Some(p))
        }
        Some(_) => (None, Some(body)),
    };
    if let Some(list) = list {
        render_list(s, frame, list, cx);
    }
    if let (Some(area), Some(p)) = (pane, &s.pane) {
        render_pane(p, frame, area, theme);
    }
}

fn tab_bar(s: &QueriesScreen, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    for (i, t) in Tab::ALL.iter().enumerate() {
        let style = if *t == s.tab {
            theme.selection()
        } else {
            theme.muted()
        };
        spans.push(Span::styled(format!(" {} {} ", i + 1, t.name()), style));
        spans.push(Span::raw(" "));
    }
    let sort = match s.tab {
        Tab::Slow => format!("sort {}", s.rows.sort.as_str()),
        Tab::Active => format!(
            "sort {}{}",
            s.rows.active_sort.name(),
            if s.rows.reverse { " (reversed)" } else { "" }
        ),
        Tab::Locks => "blockers first".into(),
    };
    spans.push(Span::styled(sort, theme.muted()));
    Line::from(spans)
}

fn render_list(s: &QueriesScreen, frame: &mut Frame, area: Rect, cx: &Cx) {
    let theme = &cx.env.theme;
    if let LoadState::Error(e) = &s.state {
        frame.render_widget(
            Paragraph::new(text::cleaned(e))
                .style(theme.error())
                .wrap(Wrap { trim: false }),
            area,
        );
        return;
    }
    let visible = usize::from(area.height.saturating_sub(1));
    let (widths, header, rows, empty) = match s.tab {
        Tab::Slow => slow_table(&s.rows, visible, theme),
        Tab::Active => active_table(&s.rows, visible, theme),
        Tab::Locks => locks_table(&s.rows, visible, theme),
    };
    if rows.is_empty() {
        let note = if matches!(s.state, LoadState::Loading | LoadState::Idle) {
            "loading…"
        } else {
            empty
        };
        frame.render_widget(Paragraph::new(note).style(theme.muted()), area);
        return;
    }
    let selected = s.rows.selected - first(s.rows.selected, visible);
    let rows: Vec<Row> = rows
        .into_iter()
        .enumerate()
        .map(|(i, (cells, style))| {
            let style = if i == selected && cx.focused {
                theme.selection()
            } else {
                style
            };
            Row::new(cells).style(style)
        })
        .collect();
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.header()))
        .column_spacing(1);
    frame.render_widget(table, area);
}

/// The first row shown, so that the selection stays in view.
fn first(selected: usize, visible: usize) -> usize {
    (selected + 1).saturating_sub(visible.max(1))
}

type Built = (
    Vec<Constraint>,
    Vec<&'static str>,
    Vec<(Vec<String>, Style)>,
    &'static str,
);

fn window<T>(all: Vec<T>, selected: usize, visible: usize) -> impl Iterator<Item = T> {
    all.into_iter().skip(first(selected, visible)).take(visible)
}

fn one_line(q: &str) -> String {
    text::cleaned(&q.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn slow_table(r: &Rows, visible: usize, theme: &Theme) -> Built {
    let rows = window(r.slow_rows(), r.selected, visible)
        .map(|st: &Statement| {
            (
                vec![
                    st.calls.to_string(),
                    millis(st.total_time_ms),
                    millis(st.mean_time_ms),
                    format!("{:.1}%", st.share_pct),
                    one_line(&st.query),
                ],
                theme.text(),
            )
        })
        .collect();
    let empty = if r.delta_over().is_some() {
        "nothing ran since the previous refresh (d shows the totals)"
    } else {
        "no statements recorded in this database yet"
    };
    (
        vec![
            Constraint::Length(8),
            Constraint::Length(9),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Min(10),
        ],
        vec!["calls", "total", "mean", "share", "query"],
        rows,
        empty,
    )
}

fn age(ms: Option<f64>) -> String {
    ms.map(millis).unwrap_or_default()
}

fn session_cells(s: &SessionRow) -> (String, String, String) {
    let wait = match (&s.wait_event_type, &s.wait_event) {
        (Some(t), Some(e)) => format!("{t}:{e}"),
        _ => String::new(),
    };
    let state = match s.state.as_deref() {
        Some("idle in transaction") => "idle tx".to_string(),
        Some("idle in transaction (aborted)") => "idle tx!".to_string(),
        Some(other) => text::cleaned(other),
        None => String::new(),
    };
    (
        text::cleaned(s.username.as_deref().unwrap_or("")),
        state,
        wait,
    )
}

fn active_table(r: &Rows, visible: usize, theme: &Theme) -> Built {
    let rows = window(r.active_rows(), r.selected, visible)
        .map(|s: &SessionRow| {
            let (user, state, wait) = session_cells(s);
            let style = if s.idle_in_transaction {
                theme.warn()
            } else {
                theme.text()
            };
            (
                vec![
                    s.pid.to_string(),
                    user,
                    state,
                    wait,
                    age(s.xact_ms.or(s.query_ms)),
                    one_line(s.query.as_deref().unwrap_or("")),
                ],
                style,
            )
        })
        .collect();
    (
        vec![
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(12),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
        vec!["pid", "user", "state", "wait", "age", "statement"],
        rows,
        "no active sessions (idle ones and opsdeck's own are not shown)",
    )
}

fn locks_table(r: &Rows, visible: usize, theme: &Theme) -> Built {
    let rows = window(r.lock_rows(), r.selected, visible)
        .map(|n: &LockNode| {
            let s = &n.session;
            let pid = if n.depth == 0 {
                s.pid.to_string()
            } else {
                format!("{}└ {}", "  ".repeat(n.depth - 1), s.pid)
            };
            // "RowExclusiveLock": the suffix says nothing in a column of locks.
            let short = |m: &str| m.replace("Lock", "");
            let (mode, style) = match (&n.waiting_mode, &n.held_modes) {
                (Some(w), _) => (format!("waits {}", short(w)), theme.text()),
                (None, Some(h)) => (format!("holds {}", short(h)), theme.danger()),
                (None, None) => (String::new(), theme.danger()),
            };
            (
                vec![
                    pid,
                    mode,
                    text::cleaned(n.waiting_on.as_deref().unwrap_or("")),
                    if n.waiting_mode.is_some() {
                        age(s.state_ms)
                    } else {
                        age(s.xact_ms)
                    },
                    one_line(s.query.as_deref().unwrap_or("")),
                ],
                style,
            )
        })
        .collect();
    (
        vec![
            Constraint::Length(10),
            Constraint::Length(21),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Min(10),
        ],
        vec!["pid", "lock", "on", "for", "statement"],
        rows,
        "no session is waiting for a lock",
    )
}

fn render_pane(p: &Pane, frame: &mut Frame, area: Rect, theme: &Theme) {
    let title = match p {
        Pane::Plan { plan: Some(e), .. } if e.params > 0 => {
            format!(" plan · generic, {} parameter(s) as NULL ", e.params)
        }
        Pane::Plan { .. } => " plan ".to_string(),
        Pane::Session(_) => " session ".to_string(),
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border(false))
        .title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    match p {
        Pane::Session(d) => d.render(frame, inner, theme),
        Pane::Plan {
            state,
            plan,
            scroll,
            ..
        } => match (state, plan) {
            (LoadState::Error(e), _) => frame.render_widget(
                Paragraph::new(text::cleaned(e))
                    .style(theme.error())
                    .wrap(Wrap { trim: false }),
                inner,
            ),
            (_, Some(e)) => {
                frame.render_widget(Paragraph::new(plan_lines(e, *scroll, theme)), inner)
            }
            _ => frame.render_widget(Paragraph::new("planning…").style(theme.muted()), inner),
        },
    }
}

fn plan_lines(e: &Explained, scroll: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for n in e.nodes.iter().skip(scroll) {
        let indent = "  ".repeat(n.depth);
        let style = if n.hottest {
            theme.danger()
        } else {
            theme.text()
        };
        let mut spans = vec![
            Span::styled(format!("{indent}→ {}", text::cleaned(&n.label)), style),
            Span::styled(
                format!(
                    "  cost {:.2}..{:.2}  rows {:.0}",
                    n.startup_cost, n.total_cost, n.plan_rows
                ),
                theme.muted(),
            ),
        ];
        if n.hottest {
            spans.push(Span::styled("  ◀ hottest", theme.danger()));
        }
        lines.push(Line::from(spans));
        if let Some(d) = &n.detail {
            lines.push(Line::styled(
                format!("{indent}    {}", text::cleaned(d)),
                theme.muted(),
            ));
        }
    }
    lines
}
