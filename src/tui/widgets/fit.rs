//! Text in a box that may be too small (a popup at 40x12): word wrapping,
//! and a body cut with an ellipsis so the last lines (the buttons and keys)
//! always stay in view.

use crate::tui::text::clean;
use ratatui::style::Style;
use ratatui::text::{Line, Span};

/// Columns `text` takes on screen.
fn width(text: &str) -> usize {
    Span::raw(text).width()
}

/// `text` wrapped at word boundaries into lines of at most `cols` columns;
/// a word longer than a line is broken (secrets, keys and URLs have no spaces).
/// Control characters are shown as escapes (see [`clean`]), not wrapped on.
pub fn wrap(text: &str, cols: usize) -> Vec<String> {
    let text = clean(text);
    let cols = cols.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let sep = usize::from(!line.is_empty());
        if width(&line) + sep + width(word) <= cols {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        for ch in word.chars() {
            let mut buf = [0u8; 4];
            if width(&line) + width(ch.encode_utf8(&mut buf)) > cols && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            line.push(ch);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// Wrapped `text` as styled lines.
pub fn wrapped(text: &str, cols: usize, style: Style) -> Vec<Line<'static>> {
    wrap(text, cols)
        .into_iter()
        .map(|l| Line::styled(l, style))
        .collect()
}

/// `body` then `foot` in `rows` rows. When they do not fit, the foot's blank
/// spacer lines go first, then the body is cut and its last kept line ends
/// with an ellipsis; the foot's other lines are always kept.
pub fn fit(
    mut body: Vec<Line<'static>>,
    mut foot: Vec<Line<'static>>,
    rows: usize,
) -> Vec<Line<'static>> {
    if body.len() + foot.len() > rows {
        foot.retain(|l| l.width() > 0);
    }
    let room = rows.saturating_sub(foot.len());
    if body.len() > room {
        body.truncate(room);
        if let Some(last) = body.last_mut() {
            last.spans.push(Span::raw("…"));
        }
    }
    body.extend(foot);
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_words_and_breaks_long_ones() {
        assert_eq!(wrap("a bb ccc dddd", 6), vec!["a bb", "ccc", "dddd"]);
        assert_eq!(
            wrap("sk_live_0123456789", 8),
            vec!["sk_live_", "01234567", "89"]
        );
        assert_eq!(wrap("", 5), vec![""]);
        assert_eq!(wrap("東京ラボ", 4), vec!["東京", "ラボ"]);
        assert_eq!(wrap("a\tb\nc", 3), vec!["a\\t", "b\\n", "c"]);
    }

    #[test]
    fn fit_keeps_the_foot_and_marks_the_cut() {
        let body: Vec<Line> = ["one", "two", "three"].map(Line::raw).to_vec();
        let foot = vec![Line::raw(""), Line::raw("[ Cancel ]")];
        let all = fit(body.clone(), foot.clone(), 5);
        assert_eq!(all.len(), 5);
        let text = |ls: &[Line]| ls.iter().map(|l| l.to_string()).collect::<Vec<_>>();
        assert_eq!(
            text(&fit(body.clone(), foot.clone(), 4)),
            ["one", "two", "three", "[ Cancel ]"]
        );
        assert_eq!(
            text(&fit(body.clone(), foot.clone(), 3)),
            ["one", "two…", "[ Cancel ]"]
        );
        assert_eq!(text(&fit(body, foot, 1)), ["[ Cancel ]"]);
    }
}
