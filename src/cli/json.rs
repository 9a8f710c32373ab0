//! JSON on stdout that is safe to read on a terminal: serde_json escapes the
//! C0 controls, and this also writes DEL, the C1 controls and the Unicode
//! bidirectional marks as `\uXXXX`. The document means the same to a
//! parser; a person paging through it sees the escape instead of a
//! reordered or hijacked line.

use super::safe::hostile;
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io::{self, Write};

/// Writes `v` indented, the way every single document is printed.
pub fn pretty<W: Write, T: Serialize + ?Sized>(out: W, v: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, Safe(PrettyFormatter::new()));
    v.serialize(&mut ser).map_err(io::Error::other)
}

/// Writes `v` on one line: an element of a streamed array.
pub fn compact<W: Write, T: Serialize + ?Sized>(out: W, v: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(out, Safe(CompactFormatter));
    v.serialize(&mut ser).map_err(io::Error::other)
}

/// A formatter that escapes what [`hostile`] names inside strings and
/// leaves the layout to the one it wraps.
struct Safe<F>(F);

impl<F: Formatter> Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices().filter(|&(_, c)| hostile(c)) {
            w.write_all(&fragment.as_bytes()[start..i])?;
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                write!(w, "\\u{u:04x}")?;
            }
            start = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[start..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn text(v: &serde_json::Value) -> String {
        let mut out = Vec::new();
        super::pretty(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn bidi_and_c1_controls_are_escaped_and_the_json_means_the_same() {
        let v =
            json!({"name\u{202e}": ["gpj.exe\u{202e}", "a\u{7f}b\u{9b}c\u{1b}[2J", "Zürich 🚀"]});
        let s = text(&v);
        assert!(
            !s.chars().any(|c| c != '\n' && super::hostile(c)),
            "only the layout's line breaks: {s:?}"
        );
        assert!(s.contains(r#""gpj.exe\u202e""#), "{s}");
        assert!(s.contains(r#""a\u007fb\u009bc\u001b[2J""#), "{s}");
        assert!(s.contains("Zürich 🚀"), "{s}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&s).unwrap(), v);
        let mut line = Vec::new();
        super::compact(&mut line, &v).unwrap();
        assert_eq!(
            String::from_utf8(line).unwrap(),
            r#"{"name\u202e":["gpj.exe\u202e","a\u007fb\u009bc\u001b[2J","Zürich 🚀"]}"#
        );
    }
}
