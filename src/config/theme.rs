//! Themes as semantic colour slots. The TUI maps slot values to terminal
//! colours; nothing here knows about the terminal.

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Themes shipped in the binary; a user file of the same name in the config
/// dir's `themes/` overrides it.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
];

/// Slot name -> colour spec ("reset", "black", "light-blue", "#rrggbb", "212").
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ThemeSpec {
    pub name: String,
    /// When false the UI marks selection and emphasis with modifiers only.
    #[serde(default = "yes")]
    pub color: bool,
    pub slots: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl ThemeSpec {
    /// Loads a theme by name: user dir first, then the built-ins.
    pub fn load(name: &str, user_dir: &Path) -> Result<ThemeSpec> {
        let user = user_dir.join(format!("{name}.toml"));
        if let Ok(text) = std::fs::read_to_string(&user) {
            return parse(&text, &user);
        }
        BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(n, text)| parse(text, Path::new(&format!("<builtin {n}>"))))
            .unwrap_or_else(|| {
                Err(Error::Config(format!(
                    "unknown theme '{name}'; built-in themes are dark, light, high-contrast, mono, or put {name}.toml in {}",
                    user_dir.display()
                )))
            })
    }
}

fn parse(text: &str, path: &Path) -> Result<ThemeSpec> {
    toml::from_str(text).map_err(|e| Error::ConfigSyntax {
        path: path.display().to_string(),
        line: e
            .span()
            .map(|s| text[..s.start].matches('\n').count() + 1)
            .unwrap_or(1),
        column: 1,
        message: e.message().trim().to_string(),
    })
}
