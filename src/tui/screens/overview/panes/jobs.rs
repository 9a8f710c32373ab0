//! Background jobs at a glance: failed jobs (and how many in the last
//! hour), dead-letter depth, the oldest waiting job, the worst queues.
//! Its key (`J`) opens the screen behind it.

use super::super::pane::{Data, Pane, Width};
use crate::tui::screens::{Cx, ScreenId};
use crate::tui::text;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub struct Jobs;

impl Pane for Jobs {
    fn title(&self) -> &'static str {
        "Jobs"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Jobs)
    }

    fn width(&self) -> Width {
        Width::Half
    }

    fn shown(&self, cx: &Cx) -> bool {
        cx.context.has_pg || cx.context.has_redis
    }

    fn rows(&self, data: &Data) -> u16 {
        match data.jobs {
            Ok(Some(j)) => 2 + u16::try_from(j.worst.len()).unwrap_or(0),
            Ok(None) => 0,
            Err(_) => 1,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let theme = &cx.env.theme;
        let j = match data.jobs {
            Err(e) => {
                let line = text::line(&format!("cannot read the jobs: {e}"), theme.error());
                return frame.render_widget(Paragraph::new(line), area);
            }
            Ok(None) => return,
            Ok(Some(j)) => j,
        };
        let failed_style = if j.failed_last_hour > 0 {
            theme.warn()
        } else {
            theme.text()
        };
        let mut lines = vec![Line::styled(
            format!(
                "{} failed ({} in 1h), {} retrying",
                j.failed, j.failed_last_hour, j.retrying
            ),
            failed_style,
        )];
        let dlq = j
            .dlq_depth
            .map_or_else(|| "no DLQ".to_string(), |d| format!("DLQ {d}"));
        let oldest = j.oldest_waiting_ms.map_or_else(
            || "none waiting".to_string(),
            |ms| format!("oldest waiting {}", crate::units::millis(ms.max(0) as f64)),
        );
        let dlq_style = if j.dlq_depth.unwrap_or(0) > 0 {
            theme.warn()
        } else {
            theme.muted()
        };
        lines.push(Line::styled(format!("{dlq}, {oldest}"), dlq_style));
        lines.extend(j.worst.iter().map(|(source, queue, n)| {
            Line::styled(
                format!("{n} failed in {} ({source})", text::cleaned(queue)),
                theme.muted(),
            )
        }));
        frame.render_widget(Paragraph::new(lines), area);
    }
}
