//! Text from the servers made safe to draw.
//!
//! Tenant names, cache keys and values, audit entries and server error
//! messages are data anyone with write access to the system chose. Drawn
//! as they are, an `ESC ] 0 ; … BEL` retitles the operator's terminal, an
//! `ESC [ 2 J` clears it, and tabs, newlines or a right-to-left override
//! move text over borders and neighbouring cells. ratatui passes such
//! characters to the terminal (a zero-width grapheme joins the cell before
//! it), so every string that reaches a buffer from data goes through
//! [`clean`] first, and widths are measured on its result. [`scrub`] is the
//! last line: the chrome runs it over each finished frame.

use ratatui::buffer::Buffer;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use std::borrow::Cow;
use std::fmt::Write;

/// True for what a terminal would act on instead of drawing: C0 controls,
/// DEL, C1 controls, and the bidirectional embeddings, overrides, isolates
/// and marks that reorder the text around them.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every unsafe character shown as a visible escape: `\t`,
/// `\n`, `\r`, `␛` for ESC, `\xNN` for the other C0 and C1 controls and
/// DEL, `<U+202E>` for bidi controls. Borrows when there is nothing to do.
pub fn clean(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x1b' => out.push('␛'),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", u32::from(c));
            }
            c if is_unsafe(c) => {
                let _ = write!(out, "<U+{:04X}>", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// [`clean`] into an owned string.
pub fn cleaned(text: &str) -> String {
    clean(text).into_owned()
}

/// A span of cleaned data text.
pub fn span(text: &str, style: Style) -> Span<'static> {
    Span::styled(cleaned(text), style)
}

/// A line of cleaned data text.
pub fn line(text: &str, style: Style) -> Line<'static> {
    Line::styled(cleaned(text), style)
}

/// Replaces, in a drawn buffer, any cell whose symbol still holds an unsafe
/// character (text that reached a widget without [`clean`]), so nothing a
/// server sent can reach the terminal as a control sequence.
pub fn scrub(buf: &mut Buffer) {
    for cell in buf.content.iter_mut() {
        if cell.symbol().chars().any(is_unsafe) {
            cell.set_symbol("�");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    #[test]
    fn clean_shows_controls_as_visible_escapes() {
        assert!(matches!(clean("acme Ltd — 東京 🚀"), Cow::Borrowed(_)));
        assert_eq!(
            clean("Evil \x1b]0;pwned\x07\x1b[2J end"),
            "Evil ␛]0;pwned\\x07␛[2J end"
        );
        assert_eq!(clean("Tab\tand\nnewline\r"), "Tab\\tand\\nnewline\\r");
        assert_eq!(clean("a\x7fb\u{9b}c\0"), "a\\x7Fb\\x9Bc\\x00");
        assert_eq!(clean("abc\u{202E}fed"), "abc<U+202E>fed");
        assert!(!clean("\u{2066}x\u{200F}").chars().any(is_unsafe));
    }

    #[test]
    fn scrub_replaces_cells_holding_controls() {
        use ratatui::widgets::Widget;
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        // A span draws a control character as a zero-width part of a cell.
        Span::raw("ab\x1b]0;x").render(buf.area, &mut buf);
        assert!(buf.content.iter().any(|c| c.symbol().contains('\x1b')));
        scrub(&mut buf);
        assert!(buf
            .content
            .iter()
            .all(|c| !c.symbol().chars().any(is_unsafe)));
        assert_eq!(buf.content[0].symbol(), "a");
    }
}
