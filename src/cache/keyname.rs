//! Binary-safe key names. Redis keys are bytes; operators see text where the
//! bytes are printable UTF-8 and `\xNN` escapes elsewhere, and can type the
//! same escaped form back (`cache get 'bin\x00key'`).

use crate::error::{Error, Result};

/// Printable UTF-8 stays as is; control characters, bidirectional controls
/// (which would reorder the line on a terminal) and invalid bytes become
/// `\xNN`; a backslash doubles so the form can be read back unambiguously.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        let (valid, bad) = match std::str::from_utf8(rest) {
            Ok(s) => (s, &[][..]),
            Err(e) => {
                let (ok, bad) = rest.split_at(e.valid_up_to());
                let bad_len = e.error_len().unwrap_or(bad.len());
                // valid_up_to guarantees the prefix is UTF-8.
                (std::str::from_utf8(ok).unwrap_or_default(), &bad[..bad_len])
            }
        };
        for c in valid.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c if c.is_control() || is_bidi(c) => {
                    let mut buf = [0u8; 4];
                    for b in c.encode_utf8(&mut buf).bytes() {
                        out.push_str(&format!("\\x{b:02x}"));
                    }
                }
                c => out.push(c),
            }
        }
        for b in bad {
            out.push_str(&format!("\\x{b:02x}"));
        }
        rest = &rest[valid.len() + bad.len()..];
    }
    out
}

/// The bidirectional marks, embeddings, overrides and isolates: printable
/// by Unicode's reckoning, but they make a terminal line read other than it is.
pub fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// Reads the escaped form back to bytes: `\xNN` and `\\`; any other text is taken literally.
pub fn unescape(text: &str) -> Result<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 1 < bytes.len() {
            match bytes[i + 1] {
                b'\\' => {
                    out.push(b'\\');
                    i += 2;
                    continue;
                }
                b'x' => {
                    // from_str_radix alone would also take a sign (`\x+1`).
                    let hex = text
                        .get(i + 2..i + 4)
                        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                        .ok_or_else(|| bad_escape(text))?;
                    let b = u8::from_str_radix(hex, 16).map_err(|_| bad_escape(text))?;
                    out.push(b);
                    i += 4;
                    continue;
                }
                _ => {}
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    Ok(out)
}

fn bad_escape(text: &str) -> Error {
    Error::Usage(format!(
        "invalid escape in key '{text}': use \\xNN with two hex digits, or \\\\ for a backslash"
    ))
}

/// Escapes glob metacharacters so a value (a tenant id or slug) matches only itself in SCAN MATCH.
pub fn glob_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The SCAN MATCH glob, in the escaped form [`unescape`] reads, that
/// matches exactly the bytes whose escaped form is `escaped` (a segment of a
/// key as [`escape`] printed it, control bytes and backslashes included).
pub fn glob_escape_escaped(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len() + 4);
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            // `\xNN` stays a byte escape: escape() writes it only for control and
            // non-UTF-8 bytes, none of them a glob metacharacter.
            ('\\', Some('x')) => out.push(c),
            // A backslash of the key (escaped `\\`, or a lone one typed by hand)
            // is escaped for the glob, then both are escaped for `unescape`.
            ('\\', next) => {
                if next == Some(&'\\') {
                    chars.next();
                }
                out.push_str(r"\\\\");
            }
            ('*' | '?' | '[' | ']' | '^', _) => {
                out.push('\\');
                out.push(c);
            }
            (c, _) => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        let cases: Vec<(&[u8], &str)> = vec![
            (b"t:1:user:5", "t:1:user:5"),
            (b"a\\b", "a\\\\b"),
            (b"bin\x00\xff\xfe", "bin\\x00\\xff\\xfe"),
            ("caf\u{e9}:\u{1f600}".as_bytes(), "caf\u{e9}:\u{1f600}"),
            (b"tab\tnl\n", "tab\\x09nl\\x0a"),
            (b"\xe2\x82", "\\xe2\\x82"),
            (
                "evil\u{202e}gpj.exe".as_bytes(),
                "evil\\xe2\\x80\\xaegpj.exe",
            ),
        ];
        for (raw, shown) in cases {
            assert_eq!(escape(raw), shown);
            assert_eq!(unescape(shown).unwrap(), raw);
        }
    }

    #[test]
    fn unescape_rejects_bad_hex() {
        assert!(unescape("a\\xZZ").is_err());
        assert!(unescape("a\\x1").is_err());
        assert!(unescape("a\\x+1").is_err());
        assert_eq!(unescape("trailing\\").unwrap(), b"trailing\\");
    }

    #[test]
    fn escaped_segments_become_globs_of_their_bytes() {
        let glob = |text: &str| unescape(&glob_escape_escaped(text)).unwrap();
        assert_eq!(glob("acme"), b"acme");
        assert_eq!(glob("a[b]*"), b"a\\[b\\]\\*");
        // A control byte, as escape() prints it, is that byte again.
        assert_eq!(glob(&escape(b"ctl\x01x")), b"ctl\x01x");
        // One backslash in the key: escaped for the glob, once.
        assert_eq!(glob(&escape(b"a\\b")), b"a\\\\b");
        assert_eq!(glob_escape_escaped("a[b]"), "a\\[b\\]");
    }

    #[test]
    fn glob_escape_makes_literals() {
        assert_eq!(glob_escape("acme"), "acme");
        assert_eq!(glob_escape("a*b?[c]"), "a\\*b\\?\\[c\\]");
    }
}
