//! `opsdeck man`: the man page (roff) generated from the clap definitions,
//! so the page and the binary cannot disagree.

use super::Cli;
use crate::error::{Error, ExitCode, Result};
use clap::CommandFactory;
use roff::{bold, italic, roman, Roff};
use std::io::Write;

pub fn run() -> Result<ExitCode> {
    let mut page = Vec::new();
    render(&mut page).map_err(|e| Error::io("writing stdout", e))?;
    std::io::stdout()
        .lock()
        .write_all(ascii(&String::from_utf8_lossy(&page)).as_bytes())
        .map_err(|e| Error::io("writing stdout", e))?;
    Ok(ExitCode::Ok)
}

/// One page for the whole tool: clap_mangen's own subcommand section points
/// at `opsdeck-tenants(1)` pages that a single `opsdeck man > opsdeck.1`
/// never installs, so the commands are described here, each with its options.
fn render(out: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    let mut roff = Roff::new();
    roff.control("SH", ["COMMANDS"]);
    // Unbuilt, a subcommand lists only its own arguments: the global flags
    // are described once, above.
    commands(&mut roff, &cmd, "opsdeck");
    roff.to_writer(out)?;
    man.render_version_section(out)
}

/// Help texts may hold any character (a dash, an ellipsis); groff reads
/// ASCII unless preconv runs first, so the rest become `\[uXXXX]` escapes.
fn ascii(page: &str) -> String {
    let mut out = String::with_capacity(page.len());
    for c in page.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            out.push_str(&format!("\\[u{:04X}]", u32::from(c)));
        }
    }
    out
}

fn commands(roff: &mut Roff, parent: &clap::Command, path: &str) {
    for sub in parent.get_subcommands().filter(|s| !s.is_hide_set()) {
        let path = format!("{path} {}", sub.get_name());
        roff.control("SS", [path.as_str()]);
        if let Some(about) = sub.get_long_about().or_else(|| sub.get_about()) {
            roff.text([roman(about.to_string())]);
        }
        for arg in sub.get_arguments().filter(|a| !a.is_hide_set()) {
            roff.control("TP", []);
            roff.text(label(arg));
            let mut help: Vec<String> = arg
                .get_long_help()
                .or_else(|| arg.get_help())
                .map(|h| vec![h.to_string()])
                .unwrap_or_default();
            // A flag's true/false are clap's internals, not something to type.
            if arg.get_action().takes_values() {
                let values: Vec<_> = arg
                    .get_possible_values()
                    .iter()
                    .filter(|v| !v.is_hide_set())
                    .map(|v| v.get_name().to_string())
                    .collect();
                if !values.is_empty() {
                    help.push(format!("Values: {}", values.join(", ")));
                }
                let defaults: Vec<_> = arg
                    .get_default_values()
                    .iter()
                    .map(|v| v.to_string_lossy().into_owned())
                    .collect();
                if !defaults.is_empty() {
                    help.push(format!("Default: {}", defaults.join(",")));
                }
            }
            let help: Vec<_> = help
                .iter()
                .map(|h| h.trim_end_matches('.').to_string())
                .collect();
            roff.text([roman(help.join(". "))]);
        }
        commands(roff, sub, &path);
    }
}

/// `-s, --long <VALUE>` for an option, `<NAME>` for a positional argument.
fn label(arg: &clap::Arg) -> Vec<roff::Inline> {
    let value = || {
        let names = arg
            .get_value_names()
            .map(|n| n.iter().map(ToString::to_string).collect::<Vec<_>>())
            .unwrap_or_else(|| vec![arg.get_id().as_str().to_uppercase()]);
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1);
        format!("<{}>{}", names.join("> <"), if many { "..." } else { "" })
    };
    if arg.is_positional() {
        return vec![italic(value())];
    }
    let mut flags = Vec::new();
    if let Some(s) = arg.get_short() {
        flags.push(format!("-{s}"));
    }
    if let Some(l) = arg.get_long() {
        flags.push(format!("--{l}"));
    }
    let mut out = vec![bold(flags.join(", "))];
    if arg.get_action().takes_values() {
        out.push(roman(" "));
        out.push(italic(value()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn non_ascii_becomes_groff_escapes() {
        assert_eq!(
            super::ascii("a … b — ü"),
            "a \\[u2026] b \\[u2014] \\[u00FC]"
        );
        assert_eq!(super::ascii(".TH opsdeck 1"), ".TH opsdeck 1");
    }
}
