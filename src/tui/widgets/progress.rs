//! A long task in progress: label, elapsed time, done/total with a gauge when
//! the total is known, and the key that cancels it. Esc sends `Cmd::Abort`,
//! which signals the task (so a guarded mutation audits "cancelled") and
//! aborts it if it does not stop.

use crate::tui::text::clean;
use crate::tui::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Gauge, Paragraph};
use ratatui::Frame;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// The task's key; `Cmd::Abort(key)` cancels it.
    pub key: String,
    pub label: String,
    pub started: Instant,
    pub done: u64,
    pub total: Option<u64>,
    pub note: String,
    pub cancelling: bool,
}

impl Progress {
    pub fn new(key: impl Into<String>, label: impl Into<String>, now: Instant) -> Progress {
        Progress {
            key: key.into(),
            label: label.into(),
            started: now,
            done: 0,
            total: None,
            note: String::new(),
            cancelling: false,
        }
    }

    pub fn set(&mut self, done: u64, total: Option<u64>, note: String) {
        self.done = done;
        self.total = total;
        self.note = note;
    }

    pub fn ratio(&self) -> Option<f64> {
        self.total
            .filter(|t| *t > 0)
            .map(|t| (self.done as f64 / t as f64).clamp(0.0, 1.0))
    }

    pub fn render(
        &self,
        frame: &mut Frame,
        area: Rect,
        theme: &Theme,
        now: Instant,
        cancel_key: &str,
    ) {
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(true))
            .title(Line::styled(
                format!(" {} ", clean(&self.label)),
                theme.title(),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [gauge_area, note_area, key_area] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
        ])
        .areas(inner);
        let elapsed = elapsed_text(now.saturating_duration_since(self.started));
        let counts = match self.total {
            Some(t) => format!("{}/{t}", self.done),
            None if self.done > 0 => self.done.to_string(),
            None => String::new(),
        };
        match self.ratio() {
            Some(r) => frame.render_widget(
                Gauge::default()
                    .gauge_style(theme.accent())
                    .ratio(r)
                    .label(format!("{counts} {elapsed}")),
                gauge_area,
            ),
            None => frame.render_widget(
                Paragraph::new(format!("working… {counts} {elapsed}")).style(theme.text()),
                gauge_area,
            ),
        }
        frame.render_widget(
            Paragraph::new(clean(&self.note)).style(theme.muted()),
            note_area,
        );
        let hint = if self.cancelling {
            "cancelling…".to_string()
        } else {
            format!("{cancel_key} cancel")
        };
        frame.render_widget(Paragraph::new(hint).style(theme.muted()), key_area);
    }
}

pub fn elapsed_text(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}.{}s", s, d.subsec_millis() / 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_only_with_a_total() {
        let now = Instant::now();
        let mut p = Progress::new("k", "drill", now);
        assert_eq!(p.ratio(), None);
        p.set(5, Some(10), "restoring".into());
        assert_eq!(p.ratio(), Some(0.5));
        p.set(20, Some(10), String::new());
        assert_eq!(p.ratio(), Some(1.0));
        assert_eq!(elapsed_text(Duration::from_millis(75_000)), "1m15s");
        assert_eq!(elapsed_text(Duration::from_millis(2_300)), "2.3s");
    }
}
