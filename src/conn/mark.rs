//! The comment every statement opsdeck sends carries, so that what it reports
//! (pg_stat_statements, the slow-query views) never counts its own load.
//! It goes right after the first keyword: from PostgreSQL 17 the stored text
//! starts at the statement, without the comments that lead it.

use std::borrow::Cow;

pub const MARK: &str = "/* opsdeck */";

/// `sql` with [`MARK`] after its first keyword (leading comments and blanks
/// skipped); unchanged when it carries the mark already or starts with no
/// keyword.
pub fn mark(sql: &str) -> Cow<'_, str> {
    if sql.contains(MARK) {
        return Cow::Borrowed(sql);
    }
    let start = skip_comments(sql);
    let word = sql[start..]
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(sql.len() - start);
    if word == 0 {
        return Cow::Borrowed(sql);
    }
    let at = start + word;
    Cow::Owned(format!("{} {MARK}{}", &sql[..at], &sql[at..]))
}

/// Where the first token after blanks and comments starts.
fn skip_comments(sql: &str) -> usize {
    let mut i = 0;
    let b = sql.as_bytes();
    loop {
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if b[i..].starts_with(b"--") {
            i = sql[i..].find('\n').map_or(sql.len(), |n| i + n + 1);
        } else if b[i..].starts_with(b"/*") {
            i = sql[i + 2..].find("*/").map_or(sql.len(), |n| i + 2 + n + 2);
        } else {
            return i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_follows_the_first_keyword() {
        assert_eq!(mark("SELECT 1"), "SELECT /* opsdeck */ 1");
        assert_eq!(
            mark("  -- why\n/* c */ WITH x AS (SELECT 1) SELECT * FROM x"),
            "  -- why\n/* c */ WITH /* opsdeck */ x AS (SELECT 1) SELECT * FROM x"
        );
        assert_eq!(mark("COMMIT"), "COMMIT /* opsdeck */");
        assert_eq!(mark("SELECT /* opsdeck */ 1"), "SELECT /* opsdeck */ 1");
        assert_eq!(mark("(SELECT 1)"), "(SELECT 1)");
        assert_eq!(mark(""), "");
        assert_eq!(mark("-- only a comment"), "-- only a comment");
        assert_eq!(mark("/* unterminated"), "/* unterminated");
    }
}
