//! Keeping data from driving the operator's terminal. Tenant names, keys and
//! server messages are written by other people; a control character in them
//! (an escape sequence, a bell, a carriage return) would be obeyed by the
//! terminal, and a bidirectional override would make the line read other than
//! it is. Such characters are shown escaped (`\u{1b}`) wherever text meets a
//! terminal; pipes and files get the bytes as they are.

use std::io::Write;

/// Characters a terminal would act on or that reorder what is shown: the C0
/// and C1 controls, DEL, and the Unicode bidirectional marks, embeddings,
/// overrides and isolates.
pub fn hostile(c: char) -> bool {
    c.is_control() || crate::cache::keyname::is_bidi(c)
}

/// Appends `c`, escaped when it is [`hostile`].
pub fn push_shown(out: &mut String, c: char) {
    if hostile(c) {
        out.extend(c.escape_default());
    } else {
        out.push(c);
    }
}

/// A text shown as a block of its own (a cached value): its line breaks and
/// tabs stay, whatever else [`hostile`] names is escaped.
pub fn text_block(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\t' => out.push(c),
            c => push_shown(&mut out, c),
        }
    }
    out
}

/// CSV on its way to stdout: escaped for a terminal, byte-exact otherwise.
/// On a terminal, row ends stay line breaks while a line break inside a
/// quoted field is shown as `\n`, so every row is one screen line; bytes that
/// are not UTF-8 are shown as `\xNN`.
pub struct Csv<W: Write> {
    out: W,
    terminal: bool,
    quoted: bool,
    /// The start of a UTF-8 sequence that the next write completes.
    pending: Vec<u8>,
}

impl<W: Write> Csv<W> {
    pub fn new(out: W, terminal: bool) -> Csv<W> {
        Csv {
            out,
            terminal,
            quoted: false,
            pending: Vec::new(),
        }
    }

    fn shown(&mut self, text: &str, into: &mut String) {
        for c in text.chars() {
            match c {
                '"' => {
                    // `""` inside a field flips twice, so the state stays right.
                    self.quoted = !self.quoted;
                    into.push(c);
                }
                '\n' if !self.quoted => into.push(c),
                c => push_shown(into, c),
            }
        }
    }
}

impl<W: Write> Write for Csv<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if !self.terminal {
            return self.out.write(buf);
        }
        let mut bytes = std::mem::take(&mut self.pending);
        bytes.extend_from_slice(buf);
        let mut shown = String::with_capacity(bytes.len());
        let mut rest = &bytes[..];
        loop {
            match std::str::from_utf8(rest) {
                Ok(text) => {
                    self.shown(text, &mut shown);
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    self.shown(std::str::from_utf8(valid).unwrap_or_default(), &mut shown);
                    match e.error_len() {
                        Some(n) => {
                            for b in &after[..n] {
                                shown.push_str(&format!("\\x{b:02x}"));
                            }
                            rest = &after[n..];
                        }
                        None => {
                            self.pending = after.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        self.out.write_all(shown.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            // A sequence cut off at the very end of the output stays cut off.
            let tail = std::mem::take(&mut self.pending);
            for b in tail {
                write!(self.out, "\\x{b:02x}")?;
            }
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn through(terminal: bool, chunks: &[&[u8]]) -> Vec<u8> {
        let mut w = Csv::new(Vec::new(), terminal);
        for c in chunks {
            w.write_all(c).unwrap();
        }
        w.flush().unwrap();
        w.out
    }

    #[test]
    fn terminal_csv_shows_controls_and_bidi_escaped() {
        let data = "id,name\n1,\"\u{1b}]0;pwned\u{7}\u{1b}[2J\"\n2,\"two\nlines \u{202e}cba\"\n3,\u{9b}x\r\n";
        let out = String::from_utf8(through(true, &[data.as_bytes()])).unwrap();
        assert_eq!(
            out,
            "id,name\n1,\"\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\"\n2,\"two\\nlines \\u{202e}cba\"\n3,\\u{9b}x\\r\n"
        );
    }

    #[test]
    fn text_blocks_keep_lines_and_tabs_only() {
        assert_eq!(
            text_block("a\tb\nok\rEVIL \u{202e}x\u{1b}[2J"),
            "a\tb\nok\\rEVIL \\u{202e}x\\u{1b}[2J"
        );
    }

    #[test]
    fn pipe_csv_is_byte_exact() {
        let data: &[u8] = b"1,\"\x1b[2J\xff\"\n\xe2\x80\xae\n";
        assert_eq!(through(false, &[data]), data);
    }

    #[test]
    fn sequences_split_across_writes_are_joined_and_junk_is_shown_as_hex() {
        let rlo = "\u{202e}".as_bytes();
        let out = through(true, &[b"a", &rlo[..1], &rlo[1..], b"\xff\n", &rlo[..2]]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\u{202e}\\xff\n\\xe2\\x80"
        );
    }
}
