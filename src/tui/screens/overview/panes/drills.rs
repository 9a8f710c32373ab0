//! The last restore drill and its age: red when it failed or is older than
//! the context's interval (drills.interval_days, default 90).

use super::super::pane::{Data, Pane, Width};
use super::note;
use crate::drills::status;
use crate::health::overview::Level;
use crate::tui::screens::{Cx, ScreenId};
use crate::tui::text;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

pub struct Drills;

impl Pane for Drills {
    fn title(&self) -> &'static str {
        "Restore drills"
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(ScreenId::Drills)
    }

    fn width(&self) -> Width {
        Width::Half
    }

    fn shown(&self, cx: &Cx) -> bool {
        cx.context.has_pg
    }

    fn rows(&self, _data: &Data) -> u16 {
        1
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let theme = &cx.env.theme;
        let last = match data.drill {
            Err(e) => {
                let line = text::line(
                    &format!("cannot read the drill history: {e}"),
                    theme.error(),
                );
                return frame.render_widget(Paragraph::new(line), area);
            }
            Ok(None) => return note(frame, area, "no drill recorded: n on :drills runs one", cx),
            Ok(Some(d)) => d,
        };
        let f = status::figure(Some(last));
        let style = match f.level {
            Level::Error => theme.error(),
            Level::Warn => theme.warn(),
            _ => theme.ok(),
        };
        let id = last.id.map_or(String::new(), |i| format!("#{i} "));
        frame.render_widget(
            Paragraph::new(text::line(&format!("{id}{}", f.display), style)),
            area,
        );
    }
}
