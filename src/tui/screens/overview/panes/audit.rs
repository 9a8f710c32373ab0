//! The latest records of opsdeck's own audit log: who did what to which
//! target, and how it ended.

use super::super::pane::{Data, Pane};
use super::note;
use crate::audit::Outcome;
use crate::tui::screens::{Cx, ScreenId};
use crate::tui::text;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub struct Audit;

/// Entries the pane asks for; it shows as many as fit.
pub const LATEST: usize = 20;

impl Pane for Audit {
    fn title(&self) -> &'static str {
        "Latest audit"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Audit)
    }

    fn shown(&self, _cx: &Cx) -> bool {
        true
    }

    fn rows(&self, data: &Data) -> u16 {
        match data.audit {
            Ok(v) if !v.is_empty() => u16::try_from(v.len().min(LATEST)).unwrap_or(1),
            _ => 1,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let theme = &cx.env.theme;
        let entries = match data.audit {
            Err(e) => {
                let line = text::line(&format!("cannot read the audit log: {e}"), theme.error());
                return frame.render_widget(Paragraph::new(line), area);
            }
            Ok(v) if v.is_empty() => return note(frame, area, "nothing done yet", cx),
            Ok(v) => v,
        };
        let lines: Vec<Line> = entries
            .iter()
            .take(LATEST)
            .map(|e| {
                let outcome = e.outcome.as_str();
                let style = match e.outcome {
                    Outcome::Ok => theme.ok(),
                    Outcome::Refused | Outcome::Cancelled => theme.warn(),
                    Outcome::Error | Outcome::Aborted | Outcome::Incomplete => theme.error(),
                };
                Line::from(vec![
                    Span::styled(
                        e.started_at.format("%m-%d %H:%M:%S ").to_string(),
                        theme.muted(),
                    ),
                    Span::styled(format!("{outcome:<9} "), style),
                    Span::styled(
                        format!("{} {} ", text::cleaned(&e.action), text::cleaned(&e.target)),
                        theme.text(),
                    ),
                    Span::styled(text::cleaned(&e.actor), theme.muted()),
                ])
            })
            .collect();
        frame.render_widget(Paragraph::new(lines), area);
    }
}
