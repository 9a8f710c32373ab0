//! Schema migrations at a glance: the newest applied and how long ago, and
//! anything stuck, dirty or half-way (a deploy's first question).

use super::super::pane::{Data, Pane, Width};
use super::note;
use crate::tui::screens::{Cx, ScreenId};
use crate::tui::text;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub struct Migrations;

/// Stuck migrations listed; more are counted.
const STUCK_SHOWN: usize = 3;

impl Pane for Migrations {
    fn title(&self) -> &'static str {
        "Migrations"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Migrations)
    }

    fn width(&self) -> Width {
        Width::Half
    }

    fn shown(&self, cx: &Cx) -> bool {
        cx.context.has_pg
    }

    fn rows(&self, data: &Data) -> u16 {
        match data.migrations {
            Ok(Some(s)) => 1 + u16::try_from(s.stuck.len().min(STUCK_SHOWN)).unwrap_or(0),
            _ => 1,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let theme = &cx.env.theme;
        let s = match data.migrations {
            Err(e) => {
                let line = text::line(&format!("cannot read the migrations: {e}"), theme.error());
                return frame.render_widget(Paragraph::new(line), area);
            }
            Ok(None) => return note(frame, area, "no migration history found", cx),
            Ok(Some(s)) => s,
        };
        let latest = match (&s.latest, s.latest_tool, s.latest_age_ms) {
            (Some(name), Some(tool), age) => format!(
                "latest {} ({}){}",
                text::cleaned(name),
                tool.as_str(),
                age.map(|ms| format!(", {} ago", crate::units::millis(ms.max(0) as f64)))
                    .unwrap_or_default()
            ),
            _ => "nothing applied yet".into(),
        };
        let mut lines = vec![Line::styled(latest, theme.text())];
        lines.extend(
            s.stuck
                .iter()
                .take(STUCK_SHOWN)
                .map(|p| Line::styled(text::cleaned(p), theme.error())),
        );
        if s.stuck.len() > STUCK_SHOWN {
            lines.push(Line::styled(
                format!("{} more need attention", s.stuck.len() - STUCK_SHOWN),
                theme.error(),
            ));
        }
        frame.render_widget(Paragraph::new(lines), area);
    }
}
