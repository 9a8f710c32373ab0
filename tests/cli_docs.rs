//! `opsdeck completions` and `opsdeck man` come from the clap definitions:
//! they name every subcommand the binary has, and the output is usable.

mod common;

use clap::CommandFactory;
use common::{home, opsdeck};
use std::io::Write;

fn top_level_commands() -> Vec<String> {
    let names: Vec<String> = opsdeck::cli::Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    assert!(
        ["tenants", "cache", "audit", "completions", "man"]
            .iter()
            .all(|n| names.iter().any(|c| c == n)),
        "{names:?}"
    );
    names
}

fn stdout_of(args: &[&str]) -> String {
    let h = home();
    let out = opsdeck(h.path()).args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn bash_completion_names_every_subcommand_and_parses() {
    let script = stdout_of(&["completions", "bash"]);
    for name in top_level_commands() {
        assert!(
            script.contains(&format!("opsdeck,{name})")),
            "bash completion lacks {name}"
        );
    }
    assert!(
        script.contains("tenants__subcmd__lint"),
        "nested commands too"
    );

    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(script.as_bytes()).unwrap();
    let check = std::process::Command::new("bash")
        .arg("-n")
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn zsh_and_fish_completions_are_for_opsdeck() {
    let zsh = stdout_of(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef opsdeck"), "{}", &zsh[..80]);
    let fish = stdout_of(&["completions", "fish"]);
    for name in top_level_commands() {
        assert!(
            fish.contains(&format!("-a \"{name}\"")),
            "fish completion lacks {name}"
        );
    }
}

#[test]
fn unknown_shell_is_a_usage_error() {
    let h = home();
    let out = opsdeck(h.path())
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("tcsh"));
}

#[test]
fn man_page_is_roff_naming_every_command() {
    let page = stdout_of(&["man"]);
    let th = page
        .lines()
        .find(|l| l.starts_with(".TH "))
        .expect("a .TH header");
    assert!(th.starts_with(".TH opsdeck 1"), "{th}");
    assert!(
        page.lines()
            .take_while(|l| !l.starts_with(".TH "))
            .all(|l| l.starts_with(".ie") || l.starts_with(".el")),
        "only string definitions before .TH"
    );
    assert!(page.contains(".SH COMMANDS"));
    for name in top_level_commands() {
        assert!(
            page.contains(&format!(".SS \"opsdeck {name}\"")),
            "man page lacks {name}"
        );
    }
    assert!(page.contains(".SS \"opsdeck tenants lint\""));
    // Plain ASCII: groff without a preconv step warns on anything else.
    assert!(page.is_ascii(), "non-ASCII in the man page");
    // Options of a subcommand appear under it, flags roff-escaped.
    assert!(
        page.contains("\\fB\\-\\-dry\\-run\\fR"),
        "cache invalidate options"
    );
}
