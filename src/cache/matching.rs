//! Redis's glob rules (`stringmatchlen`), matched locally: when several
//! patterns select keys, a key that more than one of them returns must be
//! counted once, and only the server's own rules can say which do.

/// Whether `key` matches the SCAN MATCH glob `pattern`: `*`, `?`, `[…]`
/// classes with `^` and ranges, and `\` escapes, as Redis reads them.
pub fn glob_match(pattern: &[u8], key: &[u8]) -> bool {
    let (mut p, mut k) = (0usize, 0usize);
    // Where the last `*` was and the key position it is tried at.
    let mut star: Option<(usize, usize)> = None;
    while k < key.len() {
        if let Some(step) = step(pattern, p, key[k]) {
            match step {
                Step::Star => {
                    while pattern.get(p) == Some(&b'*') {
                        p += 1;
                    }
                    if p == pattern.len() {
                        return true;
                    }
                    star = Some((p, k));
                    continue;
                }
                Step::Matched(next) => {
                    p = next;
                    k += 1;
                    continue;
                }
                Step::Mismatch => {}
            }
        }
        match star {
            Some((sp, sk)) => {
                p = sp;
                k = sk + 1;
                star = Some((sp, sk + 1));
            }
            None => return false,
        }
    }
    while pattern.get(p) == Some(&b'*') {
        p += 1;
    }
    p == pattern.len()
}

enum Step {
    Star,
    /// The byte matched; the pattern continues here.
    Matched(usize),
    Mismatch,
}

/// Matches one key byte against the pattern element at `p`; `None` when the
/// pattern is used up.
fn step(pattern: &[u8], p: usize, byte: u8) -> Option<Step> {
    let c = *pattern.get(p)?;
    Some(match c {
        b'*' => Step::Star,
        b'?' => Step::Matched(p + 1),
        b'[' => class(pattern, p + 1, byte),
        b'\\' if p + 1 < pattern.len() => literal(pattern[p + 1] == byte, p + 2),
        c => literal(c == byte, p + 1),
    })
}

fn literal(same: bool, next: usize) -> Step {
    if same {
        Step::Matched(next)
    } else {
        Step::Mismatch
    }
}

/// A `[…]` class starting after the `[`; like Redis, an unclosed class
/// runs to the end of the pattern.
fn class(pattern: &[u8], mut p: usize, byte: u8) -> Step {
    let negate = pattern.get(p) == Some(&b'^');
    if negate {
        p += 1;
    }
    let mut hit = false;
    while p < pattern.len() && pattern[p] != b']' {
        if pattern[p] == b'\\' && p + 1 < pattern.len() {
            hit |= pattern[p + 1] == byte;
            p += 2;
        } else if p + 2 < pattern.len() && pattern[p + 1] == b'-' && pattern[p + 2] != b']' {
            let (a, b) = (pattern[p], pattern[p + 2]);
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            hit |= (lo..=hi).contains(&byte);
            p += 3;
        } else {
            hit |= pattern[p] == byte;
            p += 1;
        }
    }
    let next = (p + 1).min(pattern.len());
    literal(hit != negate, next)
}

/// Whether an earlier pattern already selects `key` (so it was counted or
/// deleted under that one).
pub fn claimed_earlier(earlier: &[Vec<u8>], key: &[u8]) -> bool {
    earlier.iter().any(|p| glob_match(p, key))
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn follows_redis_glob_rules() {
        let cases: &[(&str, &str, bool)] = &[
            ("*", "", true),
            ("*", "anything", true),
            ("t:42:*", "t:42:", true),
            ("t:42:*", "t:42:session:x", true),
            ("t:42:*", "t:420:x", false),
            ("t:4?:*", "t:42:x", true),
            ("t:4?:*", "t:4:x", false),
            ("a*b*c", "axxbyyc", true),
            ("a*b*c", "axxbyy", false),
            ("[abc]x", "bx", true),
            ("[^abc]x", "bx", false),
            ("[^abc]x", "dx", true),
            ("[a-c]x", "cx", true),
            ("[c-a]x", "bx", true),
            ("[a-c]x", "dx", false),
            ("a\\*b", "a*b", true),
            ("a\\*b", "axb", false),
            ("a\\\\b", "a\\b", true),
            ("[\\]]", "]", true),
            ("*:*:end", "x:y:z:end", true),
            ("h?llo*", "hello world", true),
        ];
        for (p, k, want) in cases {
            assert_eq!(glob_match(p.as_bytes(), k.as_bytes()), *want, "{p} vs {k}");
        }
    }
}
