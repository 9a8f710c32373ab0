//! Key bindings as data: defaults live in the TUI's keymap, the config file
//! overrides only the actions it names, per `[keys.global]` and `[keys.screen.<name>]`.

use serde::Deserialize;
use std::collections::BTreeMap;

/// action name -> key string ("q", "ctrl-r", "shift-tab", "f5").
pub type Bindings = BTreeMap<String, String>;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyOverrides {
    #[serde(default)]
    pub global: Bindings,
    #[serde(default)]
    pub screen: BTreeMap<String, Bindings>,
}
