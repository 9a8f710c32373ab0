//! Narration on stderr, one form for every line: `opsdeck: TEXT`, or
//! `opsdeck: note: TEXT` / `opsdeck: warning: TEXT` (errors: `super::report`).
//! The text is escaped (it quotes tenant names and keys) and a closed stderr
//! (a dropped SSH session) is not a panic, as it would be with `eprintln!`.

use super::output::printable;
use std::fmt::Display;
use std::io::Write;

/// What happened: `opsdeck: deleted 12 keys`.
pub fn say(text: impl Display) {
    line("", text);
}

/// Something worth knowing about the result.
pub fn note(text: impl Display) {
    line("note: ", text);
}

/// Something the operator should act on.
pub fn warn(text: impl Display) {
    line("warning: ", text);
}

fn line(kind: &str, text: impl Display) {
    let _ = writeln!(
        std::io::stderr(),
        "opsdeck: {kind}{}",
        printable(&text.to_string())
    );
}
