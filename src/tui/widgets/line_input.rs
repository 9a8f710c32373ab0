//! One line of editable text with the keys readline taught everyone's
//! fingers, for every text input (the `:` bar, `/` filters, typed
//! confirmations). tui-input holds the text and the cursor; this file maps
//! terminal keys to its edits, because tui-input reads Alt-B/F as META,
//! which terminals do not send, and its Ctrl-U drops the whole line where
//! readline drops only what is left of the cursor.

use crate::tui::text::cleaned;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Style;
use ratatui::text::Span;
use tui_input::{Input, InputRequest};

#[derive(Debug, Clone, Default)]
pub struct LineInput {
    input: Input,
}

/// What a key did to the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// The text changed.
    Changed,
    /// Only the cursor moved, or the key was an edit with nothing to do.
    Moved,
    /// Not an editing key: the caller decides (Enter, Esc, Tab, arrows up/down).
    Ignored,
}

impl LineInput {
    pub fn new(text: &str) -> LineInput {
        LineInput {
            input: Input::new(text.to_string()),
        }
    }

    pub fn value(&self) -> &str {
        self.input.value()
    }

    pub fn is_empty(&self) -> bool {
        self.input.value().is_empty()
    }

    /// Replaces the text, the cursor at its end (history, completion).
    pub fn set(&mut self, text: &str) {
        self.input = Input::new(text.to_string());
    }

    pub fn key(&mut self, ev: &KeyEvent) -> Edit {
        use InputRequest::*;
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        let alt = ev.modifiers.contains(KeyModifiers::ALT);
        let req = match ev.code {
            KeyCode::Char('a') if ctrl => GoToStart,
            KeyCode::Char('e') if ctrl => GoToEnd,
            KeyCode::Char('b') if ctrl => GoToPrevChar,
            KeyCode::Char('f') if ctrl => GoToNextChar,
            KeyCode::Char('b') if alt => GoToPrevWord,
            KeyCode::Char('f') if alt => GoToNextWord,
            KeyCode::Char('u') if ctrl => return self.kill_to_start(),
            KeyCode::Char('k') if ctrl => DeleteTillEnd,
            KeyCode::Char('w') if ctrl => DeletePrevWord,
            KeyCode::Char('d') if alt => DeleteNextWord,
            KeyCode::Char('d') if ctrl => DeleteNextChar,
            KeyCode::Char('h') if ctrl => DeletePrevChar,
            KeyCode::Backspace if alt || ctrl => DeletePrevWord,
            KeyCode::Backspace => DeletePrevChar,
            KeyCode::Delete => DeleteNextChar,
            KeyCode::Home => GoToStart,
            KeyCode::End => GoToEnd,
            KeyCode::Left if ctrl || alt => GoToPrevWord,
            KeyCode::Right if ctrl || alt => GoToNextWord,
            KeyCode::Left => GoToPrevChar,
            KeyCode::Right => GoToNextChar,
            KeyCode::Char(c) if !ctrl && !alt => InsertChar(c),
            // Other control and alt keys are nobody's text.
            KeyCode::Char(_) => return Edit::Moved,
            _ => return Edit::Ignored,
        };
        self.apply(req)
    }

    /// Pasted text goes in at the cursor as one line: line breaks become
    /// spaces and other control characters are dropped.
    pub fn paste(&mut self, text: &str) -> Edit {
        let mut changed = false;
        for c in text.chars() {
            let c = match c {
                '\r' | '\n' | '\t' => ' ',
                c if c.is_control() => continue,
                c => c,
            };
            changed |= self.apply(InputRequest::InsertChar(c)) == Edit::Changed;
        }
        if changed {
            Edit::Changed
        } else {
            Edit::Moved
        }
    }

    fn apply(&mut self, req: InputRequest) -> Edit {
        match self.input.handle(req) {
            Some(s) if s.value => Edit::Changed,
            _ => Edit::Moved,
        }
    }

    fn kill_to_start(&mut self) -> Edit {
        let cursor = self.input.cursor();
        if cursor == 0 {
            return Edit::Moved;
        }
        let rest: String = self.input.value().chars().skip(cursor).collect();
        self.input = Input::new(rest).with_cursor(0);
        Edit::Changed
    }

    /// The text with a `▏` cursor, scrolled so the cursor stays within
    /// `width` columns; control characters shown as escapes.
    pub fn spans(&self, width: usize, text: Style, cursor: Style) -> Vec<Span<'static>> {
        let chars: Vec<char> = self.input.value().chars().collect();
        let at = self.input.cursor().min(chars.len());
        let before = cleaned(&chars[..at].iter().collect::<String>());
        let after = cleaned(&chars[at..].iter().collect::<String>());
        let room = width.saturating_sub(1);
        let before_w = Span::raw(before.as_str()).width();
        // Drop characters from the left until the cursor fits.
        let shown_before: String = if before_w > room {
            let mut w = before_w;
            before
                .chars()
                .skip_while(|c| {
                    let cw = Span::raw(c.to_string()).width();
                    let skip = w > room;
                    if skip {
                        w -= cw;
                    }
                    skip
                })
                .collect()
        } else {
            before
        };
        vec![
            Span::styled(shown_before, text),
            Span::styled("▏", cursor),
            Span::styled(after, text),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(code: KeyCode, mods: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, mods)
    }

    fn ctrl(c: char) -> KeyEvent {
        k(KeyCode::Char(c), KeyModifiers::CONTROL)
    }

    fn alt(c: char) -> KeyEvent {
        k(KeyCode::Char(c), KeyModifiers::ALT)
    }

    fn typed(s: &str) -> LineInput {
        let mut l = LineInput::default();
        for c in s.chars() {
            l.key(&k(KeyCode::Char(c), KeyModifiers::NONE));
        }
        l
    }

    #[test]
    fn readline_keys_edit_instead_of_typing_letters() {
        let mut l = typed("acme corp");
        assert_eq!(l.key(&ctrl('w')), Edit::Changed);
        assert_eq!(l.value(), "acme ");
        assert_eq!(l.key(&ctrl('a')), Edit::Moved);
        l.key(&k(KeyCode::Char('x'), KeyModifiers::NONE));
        assert_eq!(l.value(), "xacme ");
        l.key(&ctrl('e'));
        l.key(&ctrl('b'));
        l.key(&ctrl('u'));
        assert_eq!(l.value(), " ", "ctrl-u drops what is left of the cursor");
        let mut l = typed("one two three");
        l.key(&alt('b'));
        l.key(&alt('b'));
        l.key(&ctrl('k'));
        assert_eq!(l.value(), "one ");
        l.key(&alt('b'));
        l.key(&ctrl('f'));
        l.key(&ctrl('h'));
        assert_eq!(l.value(), "ne ");
        l.key(&k(KeyCode::Home, KeyModifiers::NONE));
        l.key(&k(KeyCode::Delete, KeyModifiers::NONE));
        assert_eq!(l.value(), "e ");
        l.key(&k(KeyCode::End, KeyModifiers::NONE));
        l.key(&k(KeyCode::Backspace, KeyModifiers::NONE));
        assert_eq!(l.value(), "e");
        assert_eq!(l.key(&ctrl('r')), Edit::Moved, "no letter r typed");
        assert_eq!(l.value(), "e");
        assert_eq!(l.key(&k(KeyCode::Enter, KeyModifiers::NONE)), Edit::Ignored);
    }

    #[test]
    fn paste_is_one_line_without_controls() {
        let mut l = typed("a");
        l.key(&ctrl('a'));
        assert_eq!(l.paste("x\ny\x1b[31m"), Edit::Changed);
        assert_eq!(l.value(), "x y[31ma");
    }

    #[test]
    fn the_cursor_stays_in_view() {
        let l = typed("abcdefghij");
        let spans = l.spans(5, Style::default(), Style::default());
        let text: String = spans.iter().map(|s| s.content.to_string()).collect();
        assert_eq!(text, "ghij▏");
        let mut l = typed("abcdef");
        l.key(&ctrl('a'));
        let text: String = l
            .spans(5, Style::default(), Style::default())
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(text, "▏abcdef", "the start shows; the end runs off");
    }
}
