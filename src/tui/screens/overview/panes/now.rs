//! What costs the most right now in each store: the Postgres sessions that
//! block the most others (then the longest-running ones), and the slowest
//! recent Redis SLOWLOG entries. opsdeck's own sessions are left out. On a
//! tall body every entry shows; on a short one the head of each store.

use super::super::pane::{Data, Pane};
use super::note;
use crate::cache::info::SlowEntry;
use crate::health::hot::TopSession;
use crate::tui::screens::{Cx, ScreenId};
use crate::tui::text;
use crate::tui::theme::Theme;
use crate::units::millis;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub struct Now;

impl Pane for Now {
    fn title(&self) -> &'static str {
        "Costing most now"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Queries)
    }

    fn shown(&self, cx: &Cx) -> bool {
        cx.context.has_pg || cx.context.has_redis
    }

    fn rows(&self, data: &Data) -> u16 {
        let (pg, redis) = counts(data);
        u16::try_from(pg + redis).unwrap_or(u16::MAX).max(1)
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let theme = &cx.env.theme;
        let ov = data.overview;
        let (pg_n, redis_n) = counts(data);
        // Each store its head at least; the rest in proportion to the room.
        let room = usize::from(area.height);
        let (pg_rows, redis_rows) = if pg_n + redis_n <= room {
            (pg_n, redis_n)
        } else {
            let redis_rows = redis_n.min(room.saturating_sub(pg_n.min(room / 2).max(1)));
            (room.saturating_sub(redis_rows), redis_rows)
        };
        let mut lines = Vec::new();
        if let Some(pg) = &ov.postgres {
            if pg.top_sessions.is_empty() {
                lines.push(head("pg", "nothing running", theme));
            }
            for s in pg.top_sessions.iter().take(pg_rows) {
                lines.push(session_line(s, theme));
            }
        }
        if let Some(r) = &ov.redis {
            if r.slowlog.is_empty() {
                lines.push(head("redis", "slowlog empty", theme));
            }
            for e in r.slowlog.iter().take(redis_rows) {
                lines.push(slow_line(e, ov.collected_at, theme));
            }
        }
        if lines.is_empty() {
            return note(frame, area, "no store answered", cx);
        }
        frame.render_widget(Paragraph::new(lines), area);
    }
}

/// Rows each store would fill: its entries, or one line saying there are none.
fn counts(data: &Data) -> (usize, usize) {
    let ov = data.overview;
    let pg = ov
        .postgres
        .as_ref()
        .map_or(0, |p| p.top_sessions.len().max(1));
    let redis = ov.redis.as_ref().map_or(0, |r| r.slowlog.len().max(1));
    (pg, redis)
}

fn head(store: &str, what: &str, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{store:<7}"), theme.muted()),
        Span::styled(what.to_string(), theme.muted()),
    ])
}

fn session_line(s: &TopSession, theme: &Theme) -> Line<'static> {
    let style = if s.blocking > 0 {
        theme.error()
    } else {
        theme.text()
    };
    let mut what = format!("pid {} {}", s.pid, text::cleaned(&s.user));
    if !s.application_name.is_empty() {
        what.push_str(&format!(" ({})", text::cleaned(&s.application_name)));
    }
    if s.blocking > 0 {
        what.push_str(&format!(" · blocking {}", s.blocking));
    }
    if s.waiting {
        what.push_str(" · waiting for a lock");
    }
    what.push_str(&format!(
        " · {} · {}",
        millis(s.running_ms),
        text::cleaned(&s.state)
    ));
    Line::from(vec![
        Span::styled("pg     ", theme.muted()),
        Span::styled(what, style),
        Span::styled(format!(" · {}", one_line(&s.query)), theme.muted()),
    ])
}

fn slow_line(e: &SlowEntry, now: chrono::DateTime<chrono::Utc>, theme: &Theme) -> Line<'static> {
    let ago = (now - e.started_at).num_milliseconds().max(0);
    Line::from(vec![
        Span::styled("redis  ", theme.muted()),
        Span::styled(
            format!(
                "slowlog {} · {} ago",
                millis(e.duration_ms),
                millis(ago as f64)
            ),
            theme.text(),
        ),
        Span::styled(format!(" · {}", one_line(&e.command)), theme.muted()),
    ])
}

/// Server text on one line: control characters escaped, runs of
/// whitespace (a query's line breaks and indentation) as one space.
fn one_line(s: &str) -> String {
    text::cleaned(&s.split_whitespace().collect::<Vec<_>>().join(" "))
}
