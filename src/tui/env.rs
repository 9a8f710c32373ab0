//! The environment every screen is built and drawn with: theme, live keymap,
//! TUI settings and the known contexts. `test_env()` gives a fixed one for
//! state and render tests.

use super::keymap::Keymap;
use super::screens::{ScreenAction, ScreenId};
use super::theme::Theme;
use crate::config::keys::KeyOverrides;
use crate::config::{Config, TuiSettings};
use crate::error::Result;

#[derive(Debug, Clone)]
pub struct Env {
    pub theme: Theme,
    pub keymap: Keymap<ScreenAction>,
    pub settings: TuiSettings,
    /// Context names from the config, for `:ctx` completion.
    pub contexts: Vec<String>,
}

impl Env {
    pub fn new(config: &Config, theme: Theme) -> Result<Env> {
        Ok(Env {
            theme,
            keymap: keymap(&config.keys)?,
            settings: config.tui.clone(),
            contexts: config.contexts.keys().cloned().collect(),
        })
    }

    /// Dark theme, default keys, contexts `local` and `prod`.
    pub fn test_env() -> Env {
        Env::test_env_with_theme("dark")
    }

    pub fn test_env_with_theme(theme: &str) -> Env {
        Env {
            // Both are covered by unit tests (every built-in theme loads, the
            // default keymap has no conflicts), so these cannot fail.
            theme: Theme::builtin(theme).expect("built-in theme"),
            keymap: keymap(&KeyOverrides::default()).expect("default keymap"),
            settings: TuiSettings::default(),
            contexts: vec!["local".into(), "prod".into()],
        }
    }
}

fn keymap(overrides: &KeyOverrides) -> Result<Keymap<ScreenAction>> {
    let screens: Vec<_> = ScreenId::ALL
        .iter()
        .map(|id| (id.name(), id.actions()))
        .collect();
    Keymap::build(&screens, overrides)
}
