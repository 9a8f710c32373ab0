//! JSON text indented for people, up to a number of lines. It works on text
//! cut off anywhere (a cached value read up to its first 64 KiB), where a
//! parser would give up, and counts the lines it left out.

pub struct Pretty {
    /// The first lines, escaped for a terminal.
    pub lines: Vec<String>,
    /// Lines the whole text would take.
    pub total: usize,
}

struct Indenter {
    max: usize,
    out: Pretty,
    line: String,
    depth: usize,
    /// Just after `{` or `[`: a line break, unless the container is empty.
    opened: bool,
}

impl Indenter {
    fn newline(&mut self) {
        let line = std::mem::replace(&mut self.line, "  ".repeat(self.depth));
        if self.out.lines.len() < self.max {
            self.out.lines.push(super::output::printable(&line));
        }
        self.out.total += 1;
    }

    fn value_starts(&mut self) {
        if std::mem::take(&mut self.opened) {
            self.newline();
        }
    }
}

/// `text` as indented JSON, two spaces a level, at most `max` lines kept.
pub fn pretty(text: &str, max: usize) -> Pretty {
    let mut ind = Indenter {
        max,
        out: Pretty {
            lines: Vec::new(),
            total: 0,
        },
        line: String::new(),
        depth: 0,
        opened: false,
    };
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            ind.line.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            c if c.is_whitespace() => {}
            '{' | '[' => {
                ind.value_starts();
                ind.line.push(c);
                ind.depth += 1;
                ind.opened = true;
            }
            '}' | ']' => {
                ind.depth = ind.depth.saturating_sub(1);
                if !std::mem::take(&mut ind.opened) {
                    ind.newline();
                }
                ind.line.push(c);
            }
            ',' => {
                ind.line.push(c);
                ind.newline();
            }
            ':' => ind.line.push_str(": "),
            c => {
                ind.value_starts();
                in_string = c == '"';
                ind.line.push(c);
            }
        }
    }
    if !ind.line.trim().is_empty() {
        ind.newline();
    }
    ind.out
}

#[cfg(test)]
mod tests {
    use super::pretty;

    #[test]
    fn indents_like_serde_json_when_whole() {
        let v = serde_json::json!({"a": [1, {"b": "x, y: {z}"}], "e": {}, "f": [], "g": "q\"}"});
        let compact = v.to_string();
        let p = pretty(&compact, 1000);
        assert_eq!(
            p.lines.join("\n"),
            serde_json::to_string_pretty(&v).unwrap()
        );
        assert_eq!(p.total, p.lines.len());
    }

    #[test]
    fn keeps_the_first_lines_of_cut_text_and_counts_the_rest() {
        let text = format!(
            "[{}",
            (0..500)
                .map(|i| format!("{{\"n\":{i}}}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let cut = &text[..text.len() - 3];
        let p = pretty(cut, 10);
        assert_eq!(p.lines.len(), 10);
        assert_eq!(p.lines[0], "[");
        assert_eq!(p.lines[1], "  {");
        assert_eq!(p.lines[2], "    \"n\": 0");
        assert!(p.total > 1400, "{}", p.total);
        let esc = pretty("[\"\u{1b}[2J\u{202e}\"]", 10);
        assert_eq!(esc.lines[1], "  \"\\u{1b}[2J\\u{202e}\"");
    }
}
