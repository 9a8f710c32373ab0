//! A one-time secret view: the value is shown once; `c` copies it by OSC 52
//! and masks it; closing drops it and, when it was copied, clears the
//! clipboard. Nothing keeps the value afterwards.

use crate::conn::Secret;
use crate::tui::cmd::Cmd;
use crate::tui::text::cleaned;
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::{fit, wrapped};
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

pub struct SecretPopup {
    title: String,
    value: Option<Secret>,
    copied: bool,
}

impl SecretPopup {
    pub fn new(title: impl Into<String>, secret: Secret) -> SecretPopup {
        SecretPopup {
            title: title.into(),
            value: Some(secret),
            copied: false,
        }
    }

    /// Whether the value is still held (shown).
    pub fn visible(&self) -> bool {
        self.value.is_some()
    }

    /// `c` copies and masks; Esc, Enter and `q` close and drop the value.
    pub fn key(mut self, key: KeyEvent) -> (Option<SecretPopup>, Vec<Cmd>) {
        match key.code {
            KeyCode::Char('c') => match self.value.take() {
                Some(v) => {
                    self.copied = true;
                    (Some(self), vec![Cmd::Clipboard(v)])
                }
                None => (Some(self), Vec::new()),
            },
            KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q') => {
                // An empty OSC 52 selection clears what the copy put there.
                let clear = self.copied.then(|| Cmd::Clipboard(Secret::new("")));
                (None, clear.into_iter().collect())
            }
            _ => (Some(self), Vec::new()),
        }
    }

    /// Rows the popup needs at `width` columns (border included).
    pub fn height(&self, width: u16, theme: &Theme) -> u16 {
        let (body, foot) = self.lines(usize::from(width.saturating_sub(2)), theme);
        u16::try_from(body.len() + foot.len() + 2).unwrap_or(u16::MAX)
    }

    /// The value (whole, wrapped) and then the keys, which stay in view.
    fn lines(&self, cols: usize, theme: &Theme) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
        match &self.value {
            Some(v) => {
                let mut body = wrapped("shown once: copy it now", cols, theme.warn());
                body.push(Line::raw(""));
                body.extend(wrapped(v.expose(), cols, theme.accent()));
                let foot = vec![
                    Line::raw(""),
                    Line::styled("c copy (and mask) · esc close", theme.muted()),
                ];
                (body, foot)
            }
            None => {
                let note = if self.copied {
                    "copied to the clipboard; the value is masked for good"
                } else {
                    "the value is masked for good"
                };
                let mut body = wrapped(note, cols, theme.ok());
                body.push(Line::raw(""));
                body.push(Line::styled("••••••••••••••••", theme.muted()));
                (
                    body,
                    vec![Line::raw(""), Line::styled("esc close", theme.muted())],
                )
            }
        }
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        frame.render_widget(Clear, area);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.warn())
            .title(Line::styled(
                format!(" {} ", cleaned(&self.title)),
                theme.title(),
            ));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let (body, foot) = self.lines(usize::from(inner.width), theme);
        frame.render_widget(
            Paragraph::new(fit(body, foot, usize::from(inner.height))),
            inner,
        );
    }
}

/// The OSC 52 sequence that puts `text` on the terminal's clipboard.
pub fn osc52(text: &str) -> String {
    use base64::Engine;
    format!(
        "\x1b]52;c;{}\x07",
        base64::engine::general_purpose::STANDARD.encode(text)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn copy_masks_for_good_and_close_drops() {
        let p = SecretPopup::new("new key", Secret::new("sk_live_abc"));
        assert!(p.visible());
        let (p, cmds) = p.key(key(KeyCode::Char('c')));
        let p = p.unwrap();
        assert_eq!(cmds.len(), 1);
        assert!(matches!(&cmds[0], Cmd::Clipboard(s) if s.expose() == "sk_live_abc"));
        assert!(!p.visible());
        let (p, cmds) = p.key(key(KeyCode::Char('c')));
        assert!(cmds.is_empty(), "a second copy has nothing to copy");
        let (p, cmds) = p.unwrap().key(key(KeyCode::Esc));
        assert!(p.is_none());
        assert!(
            matches!(&cmds[..], [Cmd::Clipboard(s)] if s.expose().is_empty()),
            "closing after a copy clears the clipboard"
        );
        let (_, cmds) = SecretPopup::new("k", Secret::new("x")).key(key(KeyCode::Esc));
        assert!(cmds.is_empty(), "nothing was copied, nothing to clear");
    }

    #[test]
    fn osc52_is_base64() {
        assert_eq!(osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}
