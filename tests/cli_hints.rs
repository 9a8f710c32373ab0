//! A hint may only name a command that exists: every `opsdeck COMMAND
//! [SUBCOMMAND]` quoted in the source's messages (backticks or a string
//! starting with it) is run with `--help`, which clap answers with exit 0
//! only for a real command.

mod common;

use common::{home, opsdeck};
use std::collections::BTreeSet;
use std::path::Path;

fn sources(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(std::fs::read_to_string(&p).unwrap());
        }
    }
}

/// `opsdeck` and the one or two words after it, as named after an opening
/// backtick or quote.
fn named(text: &str) -> BTreeSet<Vec<String>> {
    let mut found = BTreeSet::new();
    for opener in ["`opsdeck ", "\"opsdeck "] {
        for (at, _) in text.match_indices(opener) {
            let words: Vec<String> = text[at + opener.len()..]
                .split(|c: char| !(c.is_ascii_lowercase() || c == '-' || c == ' '))
                .next()
                .unwrap_or_default()
                .split(' ')
                .filter(|w| !w.is_empty() && !w.starts_with('-'))
                .take(2)
                .map(str::to_string)
                .collect();
            if !words.is_empty() {
                found.insert(words);
            }
        }
    }
    found
}

#[test]
fn every_command_a_message_names_exists() {
    let mut texts = Vec::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut texts,
    );
    let commands: BTreeSet<Vec<String>> = texts.iter().flat_map(|t| named(t)).collect();
    assert!(
        commands.len() >= 10,
        "the scan finds the hints: {commands:?}"
    );
    let h = home();
    let help = |args: &[String]| {
        let out = opsdeck(h.path()).args(args).arg("--help").output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    };
    for words in &commands {
        let shown = format!("`opsdeck {}`", words.join(" "));
        let top =
            help(&words[..1]).unwrap_or_else(|| panic!("a message names {shown}: no such command"));
        // A second word is a subcommand where the command has them, else an
        // argument (`opsdeck login CONTEXT`).
        if words.len() == 2 && top.contains("Commands:") {
            assert!(
                help(words).is_some(),
                "a message names {shown}: no such subcommand"
            );
        }
    }
}
