//! Just enough SQL lexing for explain: comments, strings, quoted names and
//! dollar quotes are skipped over, so that `$n` parameters, function calls
//! and keywords are found only where they are code.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// An unquoted word, lower-cased.
    Word(String),
    /// A "quoted" identifier, as written inside the quotes.
    Quoted(String),
    Param(usize),
    Punct(char),
}

fn lex(sql: &str) -> Vec<Tok> {
    let c: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch.is_whitespace() {
            i += 1;
        } else if ch == '-' && next == Some('-') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            i = skip_block_comment(&c, i);
        } else if ch == '\'' {
            let escapes = matches!(out.last(), Some(Tok::Word(w)) if w == "e")
                && i > 0
                && matches!(c[i - 1], 'e' | 'E');
            i = skip_string(&c, i, escapes);
        } else if ch == '"' {
            let (name, end) = quoted(&c, i);
            out.push(Tok::Quoted(name));
            i = end;
        } else if ch == '$' && next.is_some_and(|n| n.is_ascii_digit()) {
            let start = i + 1;
            i = start;
            while i < c.len() && c[i].is_ascii_digit() {
                i += 1;
            }
            let n: String = c[start..i].iter().collect();
            out.push(Tok::Param(n.parse().unwrap_or(0)));
        } else if ch == '$' {
            i = skip_dollar_quote(&c, i).unwrap_or(i + 1);
        } else if ch.is_alphanumeric() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_' || c[i] == '$') {
                i += 1;
            }
            out.push(Tok::Word(
                c[start..i].iter().collect::<String>().to_lowercase(),
            ));
        } else {
            out.push(Tok::Punct(ch));
            i += 1;
        }
    }
    out
}

fn skip_block_comment(c: &[char], mut i: usize) -> usize {
    let mut depth = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            depth += 1;
            i += 2;
        } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    i
}

fn skip_string(c: &[char], mut i: usize, backslash: bool) -> usize {
    i += 1;
    while i < c.len() {
        match c[i] {
            '\\' if backslash => i += 2,
            '\'' if c.get(i + 1) == Some(&'\'') => i += 2,
            '\'' => return i + 1,
            _ => i += 1,
        }
    }
    i
}

fn quoted(c: &[char], mut i: usize) -> (String, usize) {
    let mut name = String::new();
    i += 1;
    while i < c.len() {
        match c[i] {
            '"' if c.get(i + 1) == Some(&'"') => {
                name.push('"');
                i += 2;
            }
            '"' => return (name, i + 1),
            ch => {
                name.push(ch);
                i += 1;
            }
        }
    }
    (name, i)
}

/// `$tag$ … $tag$` (or `$$ … $$`) starting at `i`; None when `$` opens no tag.
fn skip_dollar_quote(c: &[char], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < c.len() && (c[j].is_alphanumeric() || c[j] == '_') {
        j += 1;
    }
    if c.get(j) != Some(&'$') {
        return None;
    }
    let tag = &c[i..=j];
    let mut k = j + 1;
    while k + tag.len() <= c.len() {
        if &c[k..k + tag.len()] == tag {
            return Some(k + tag.len());
        }
        k += 1;
    }
    Some(c.len())
}

/// The highest `$n` the statement uses (0 when it has no parameters).
pub fn param_count(sql: &str) -> usize {
    lex(sql)
        .iter()
        .filter_map(|t| match t {
            Tok::Param(n) => Some(*n),
            _ => None,
        })
        .max()
        .unwrap_or(0)
}

/// Names called as functions: a word or quoted name right before `(`.
pub fn called_functions(sql: &str) -> Vec<String> {
    let toks = lex(sql);
    let mut names: Vec<String> = toks
        .windows(2)
        .filter_map(|w| match (&w[0], &w[1]) {
            (Tok::Word(n) | Tok::Quoted(n), Tok::Punct('(')) => Some(n.clone()),
            _ => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Words that make a statement more than a plain read.
const WRITES: &[&str] = &[
    "insert", "update", "delete", "merge", "into", "truncate", "copy", "call", "share", "lock",
    "execute", "do",
];

/// Ok for a single plain SELECT (or WITH … SELECT) that writes nothing and
/// locks no rows; else why not.
pub fn read_only(sql: &str) -> Result<(), String> {
    let toks = lex(sql);
    let first = toks.iter().find(|t| !matches!(t, Tok::Punct('(')));
    if !matches!(first, Some(Tok::Word(w)) if w == "select" || w == "with") {
        return Err("it is not a SELECT".into());
    }
    if toks.contains(&Tok::Punct(';')) {
        return Err("it holds more than one statement".into());
    }
    match toks.iter().find_map(|t| match t {
        Tok::Word(w) if WRITES.contains(&w.as_str()) => Some(w.to_uppercase()),
        _ => None,
    }) {
        Some(w) => Err(format!("it contains {w}")),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_outside_strings_and_comments() {
        assert_eq!(param_count("SELECT * FROM t WHERE a = $1 AND b = $12"), 12);
        assert_eq!(
            param_count("SELECT '$3', \"$4\" -- $5\n /* $6 /* $7 */ */ FROM t"),
            0
        );
        assert_eq!(param_count("SELECT $fn$ $9 $fn$, $$ $8 $$, $2"), 2);
        assert_eq!(param_count("SELECT E'it\\'s $5', 'it''s $6', $1"), 1);
        assert_eq!(param_count("SELECT 1"), 0);
    }

    #[test]
    fn functions_called() {
        assert_eq!(
            called_functions(
                "SELECT pg_sleep($1), public.\"Odd\"(x), count (*) FROM t WHERE 'f(' = 'g'"
            ),
            ["Odd", "count", "pg_sleep"]
        );
    }

    #[test]
    fn read_only_table() {
        let ok = [
            "SELECT * FROM t WHERE id = $1",
            "select a from t",
            "(SELECT 1) UNION (SELECT 2)",
            "WITH x AS (SELECT 1) SELECT * FROM x",
            "SELECT 'insert into', \"update\" FROM t -- delete",
        ];
        for s in ok {
            assert_eq!(read_only(s), Ok(()), "{s}");
        }
        let refused = [
            ("UPDATE t SET a = 1", "not a SELECT"),
            (
                "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d",
                "DELETE",
            ),
            ("SELECT * INTO new_t FROM t", "INTO"),
            ("SELECT * FROM t FOR UPDATE", "UPDATE"),
            ("SELECT * FROM t FOR KEY SHARE", "SHARE"),
            ("SELECT 1; DROP TABLE t", "more than one"),
            ("EXPLAIN ANALYZE DELETE FROM t", "not a SELECT"),
        ];
        for (s, why) in refused {
            let e = read_only(s).unwrap_err();
            assert!(e.contains(why), "{s}: {e}");
        }
    }
}
