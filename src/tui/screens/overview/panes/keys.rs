//! API keys that stop working soon: how many expire within the context's
//! window, and the soonest, so a rotation is not found out by a customer.

use super::super::pane::{Data, Pane, Width};
use super::note;
use crate::tui::screens::{Cx, ScreenId};
use crate::tui::text;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub struct Keys;

/// Keys the pane asks for; it shows as many as fit.
pub const FIRST: usize = 5;

impl Pane for Keys {
    fn title(&self) -> &'static str {
        "Keys expiring"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Keys)
    }

    fn width(&self) -> Width {
        Width::Half
    }

    fn shown(&self, cx: &Cx) -> bool {
        cx.context.has_pg
    }

    fn rows(&self, data: &Data) -> u16 {
        match data.keys {
            Ok(Some(e)) => 1 + u16::try_from(e.first.len().min(FIRST)).unwrap_or(0),
            _ => 1,
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let theme = &cx.env.theme;
        let e = match data.keys {
            Err(e) => {
                let line = text::line(&format!("cannot read the API keys: {e}"), theme.error());
                return frame.render_widget(Paragraph::new(line), area);
            }
            Ok(None) => return note(frame, area, "no API keys table in this schema", cx),
            Ok(Some(e)) => e,
        };
        let days = e.window_days;
        if e.count == 0 {
            return note(frame, area, &format!("none within {days} days"), cx);
        }
        let mut lines = vec![Line::styled(
            format!("{} expire within {days} days", e.count),
            theme.warn(),
        )];
        lines.extend(e.first.iter().take(FIRST).map(|k| {
            Line::from(vec![
                Span::styled(
                    format!(
                        "{} ",
                        k.expires_at
                            .as_deref()
                            .unwrap_or("")
                            .chars()
                            .take(16)
                            .collect::<String>()
                    ),
                    theme.muted(),
                ),
                Span::styled(
                    format!("{} ", text::cleaned(k.prefix.as_deref().unwrap_or(&k.id))),
                    theme.text(),
                ),
                Span::styled(
                    format!(
                        "{} tenant {}",
                        text::cleaned(k.name.as_deref().unwrap_or("")),
                        text::cleaned(&k.tenant_id)
                    ),
                    theme.muted(),
                ),
            ])
        }));
        frame.render_widget(Paragraph::new(lines), area);
    }
}
