//! Keys as data. Every action has default keys here (global) or in its
//! screen's action table; `[keys.global]` and `[keys.screen.NAME]` in the
//! config override only the actions they name. The same table resolves a key
//! press and feeds the footer hints and the `?` help, so what is announced is
//! what works.

use crate::config::keys::KeyOverrides;
use crate::error::{Error, Result};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::collections::BTreeMap;
use std::fmt;

/// A key with its modifiers, normalised so that `G` and `shift-g` are one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub mods: KeyModifiers,
}

impl Key {
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & (KeyModifiers::CONTROL | KeyModifiers::ALT | KeyModifiers::SHIFT);
        let code = match code {
            KeyCode::Char(c) => {
                // The character already says whether shift was down.
                mods.remove(KeyModifiers::SHIFT);
                if mods.contains(KeyModifiers::CONTROL) {
                    KeyCode::Char(c.to_ascii_lowercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    pub fn from_event(ev: &KeyEvent) -> Key {
        Key::new(ev.code, ev.modifiers)
    }

    pub fn char(c: char) -> Key {
        Key::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    /// Parses "q", "G", "ctrl-r", "alt-x", "shift-tab", "f5", "enter", "esc",
    /// "up", "pgdn", "space".
    pub fn parse(s: &str) -> Option<Key> {
        let mut mods = KeyModifiers::NONE;
        let mut rest = s;
        loop {
            let lower = rest.to_ascii_lowercase();
            if let Some(r) = lower
                .strip_prefix("ctrl-")
                .or_else(|| lower.strip_prefix("c-"))
            {
                mods |= KeyModifiers::CONTROL;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower
                .strip_prefix("alt-")
                .or_else(|| lower.strip_prefix("m-"))
            {
                mods |= KeyModifiers::ALT;
                rest = &rest[rest.len() - r.len()..];
            } else if let Some(r) = lower.strip_prefix("shift-") {
                mods |= KeyModifiers::SHIFT;
                rest = &rest[rest.len() - r.len()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => {
                if mods.contains(KeyModifiers::SHIFT) {
                    mods.remove(KeyModifiers::SHIFT);
                    KeyCode::Char(c.to_ascii_uppercase())
                } else {
                    KeyCode::Char(c)
                }
            }
            _ => match rest.to_ascii_lowercase().as_str() {
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if mods.contains(KeyModifiers::SHIFT) => KeyCode::BackTab,
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "space" => KeyCode::Char(' '),
                f if f.starts_with('f') => KeyCode::F(f[1..].parse().ok().filter(|n| *n >= 1)?),
                _ => return None,
            },
        };
        Some(Key::new(code, mods))
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mods.contains(KeyModifiers::CONTROL) {
            f.write_str("ctrl-")?;
        }
        if self.mods.contains(KeyModifiers::ALT) {
            f.write_str("alt-")?;
        }
        if self.mods.contains(KeyModifiers::SHIFT) {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("shift-tab"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("del"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::F(n) => write!(f, "f{n}"),
            _ => f.write_str("?"),
        }
    }
}

/// Actions every screen shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Global {
    Quit,
    Help,
    Command,
    Filter,
    Back,
    Refresh,
    Pause,
    Up,
    Down,
    Left,
    Right,
    Top,
    Bottom,
    PageUp,
    PageDown,
    Enter,
    Sort,
    SortReverse,
}

/// One bindable action: config name, help label, default keys (space
/// separated) and the typed action it stands for. Config files name actions
/// by `name`; code only ever sees `action`.
#[derive(Debug, Clone, Copy)]
pub struct ActionDef<A> {
    pub action: A,
    pub name: &'static str,
    pub label: &'static str,
    pub keys: &'static str,
}

impl<A> ActionDef<A> {
    /// The same binding for a wider action type, e.g. a screen's own action
    /// wrapped in the app-level enum that routes it.
    pub fn map<B>(self, f: impl FnOnce(A) -> B) -> ActionDef<B> {
        ActionDef {
            action: f(self.action),
            name: self.name,
            label: self.label,
            keys: self.keys,
        }
    }
}

/// Global defaults. Vim and arrow keys both work; nothing on ctrl-b or
/// ctrl-a, tmux's and screen's prefixes.
pub const GLOBAL: &[ActionDef<Global>] = &[
    def(Global::Quit, "quit", "quit", "q ctrl-c"),
    def(Global::Help, "help", "help", "?"),
    def(Global::Command, "command", "command", ":"),
    def(Global::Filter, "filter", "filter", "/"),
    def(Global::Back, "back", "back", "esc"),
    def(Global::Refresh, "refresh", "refresh", "ctrl-r f5"),
    def(Global::Pause, "pause", "pause refresh", "p"),
    def(Global::Up, "up", "up", "k up"),
    def(Global::Down, "down", "down", "j down"),
    def(Global::Left, "left", "left", "h left"),
    def(Global::Right, "right", "right", "l right"),
    def(Global::Top, "top", "first row", "g home"),
    def(Global::Bottom, "bottom", "last row", "G end"),
    def(Global::PageUp, "page_up", "page up", "pgup ctrl-u"),
    def(Global::PageDown, "page_down", "page down", "pgdn ctrl-d"),
    def(Global::Enter, "enter", "open", "enter"),
    def(Global::Sort, "sort", "sort by next column", "o"),
    def(Global::SortReverse, "sort_reverse", "reverse sort", "O"),
];

pub const fn def<A>(
    action: A,
    name: &'static str,
    label: &'static str,
    keys: &'static str,
) -> ActionDef<A> {
    ActionDef {
        action,
        name,
        label,
        keys,
    }
}

/// The live keymap: defaults with the config's overrides applied. `A` is
/// the app-level screen action; the keymap only compares and copies it, so
/// it knows nothing of what any screen does.
#[derive(Debug, Clone)]
pub struct Keymap<A> {
    global: Vec<(Key, Global)>,
    screens: BTreeMap<&'static str, Vec<(Key, ActionDef<A>)>>,
}

fn parse_keys(spec: &str, what: &str) -> Result<Vec<Key>> {
    spec.split_whitespace()
        .map(|k| {
            Key::parse(k).ok_or_else(|| {
                Error::Config(format!(
                    "keys: '{k}' for {what} is not a key; use forms like q, G, ctrl-r, shift-tab, f5, enter, esc, pgdn"
                ))
            })
        })
        .collect()
}

impl<A: Copy + PartialEq> Keymap<A> {
    /// Builds the keymap for the given screens (name, actions) with overrides.
    pub fn build(
        screens: &[(&'static str, Vec<ActionDef<A>>)],
        overrides: &KeyOverrides,
    ) -> Result<Keymap<A>> {
        let mut map = Keymap {
            global: Vec::new(),
            screens: BTreeMap::new(),
        };
        for name in overrides.global.keys() {
            if !GLOBAL.iter().any(|d| d.name == name) {
                return Err(Error::Config(format!(
                    "[keys.global]: unknown action '{name}'; actions are {}",
                    GLOBAL.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        for d in GLOBAL {
            let spec = overrides
                .global
                .get(d.name)
                .map(String::as_str)
                .unwrap_or(d.keys);
            for key in parse_keys(spec, d.name)? {
                if let Some((_, other)) = map.global.iter().find(|(k, _)| *k == key) {
                    return Err(Error::Config(format!(
                        "[keys.global]: {key} is bound to both {other:?} and {}; give one of them another key",
                        d.name
                    )));
                }
                map.global.push((key, d.action));
            }
        }
        for screen in overrides.screen.keys() {
            if !screens.iter().any(|(n, _)| n == screen) {
                return Err(Error::Config(format!(
                    "[keys.screen.{screen}]: no such screen; screens are {}",
                    screens
                        .iter()
                        .map(|(n, _)| *n)
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        for (screen, defs) in screens {
            let over = overrides.screen.get(*screen);
            if let Some(over) = over {
                if let Some(bad) = over
                    .keys()
                    .find(|a| !defs.iter().any(|d| d.name == a.as_str()))
                {
                    return Err(Error::Config(format!(
                        "[keys.screen.{screen}]: unknown action '{bad}'; actions are {}",
                        defs.iter().map(|d| d.name).collect::<Vec<_>>().join(", ")
                    )));
                }
            }
            let mut bound: Vec<(Key, ActionDef<A>)> = Vec::new();
            for d in defs.iter() {
                let spec = over
                    .and_then(|o| o.get(d.name))
                    .map(String::as_str)
                    .unwrap_or(d.keys);
                for key in parse_keys(spec, d.name)? {
                    if let Some((_, g)) = map.global.iter().find(|(k, _)| *k == key) {
                        return Err(Error::Config(format!(
                            "[keys.screen.{screen}]: {key} for {} is already the global key for {g:?}; pick another",
                            d.name
                        )));
                    }
                    if let Some((_, other)) = bound.iter().find(|(k, _)| *k == key) {
                        return Err(Error::Config(format!(
                            "[keys.screen.{screen}]: {key} is bound to both {} and {}",
                            other.name, d.name
                        )));
                    }
                    bound.push((key, *d));
                }
            }
            map.screens.insert(screen, bound);
        }
        Ok(map)
    }

    pub fn global(&self, key: &Key) -> Option<Global> {
        self.global.iter().find(|(k, _)| k == key).map(|(_, a)| *a)
    }

    /// The screen action a key is bound to, with its name for messages.
    pub fn screen(&self, screen: &str, key: &Key) -> Option<ActionDef<A>> {
        self.screens
            .get(screen)?
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, d)| *d)
    }

    /// "j/↓" for an action, as the footer and help show it.
    pub fn global_hint(&self, action: Global) -> String {
        join(
            self.global
                .iter()
                .filter(|(_, a)| *a == action)
                .map(|(k, _)| k),
        )
    }

    pub fn screen_hint(&self, screen: &str, action: A) -> String {
        join(
            self.screens
                .get(screen)
                .into_iter()
                .flatten()
                .filter(|(_, d)| d.action == action)
                .map(|(k, _)| k),
        )
    }

    /// The first key of an action, for the footer where space is short.
    pub fn global_first(&self, action: Global) -> String {
        self.global
            .iter()
            .find(|(_, a)| *a == action)
            .map(|(k, _)| k.to_string())
            .unwrap_or_default()
    }

    pub fn screen_first(&self, screen: &str, action: A) -> String {
        self.screens
            .get(screen)
            .into_iter()
            .flatten()
            .find(|(_, d)| d.action == action)
            .map(|(k, _)| k.to_string())
            .unwrap_or_default()
    }

    /// Every key bound anywhere, for tests.
    pub fn all_keys(&self) -> Vec<Key> {
        self.global
            .iter()
            .map(|(k, _)| *k)
            .chain(self.screens.values().flatten().map(|(k, _)| *k))
            .collect()
    }
}

fn join<'a>(keys: impl Iterator<Item = &'a Key>) -> String {
    keys.map(|k| k.to_string()).collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Demo {
        Suspend,
    }

    const DEMO: &[ActionDef<Demo>] = &[def(Demo::Suspend, "suspend", "suspend tenant", "s")];

    fn demo(overrides: &KeyOverrides) -> Result<Keymap<Demo>> {
        Keymap::build(&[("demo", DEMO.to_vec())], overrides)
    }

    fn overrides(text: &str) -> KeyOverrides {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn parses_and_normalises() {
        assert_eq!(Key::parse("G"), Some(Key::char('G')));
        assert_eq!(Key::parse("shift-g"), Some(Key::char('G')));
        assert_eq!(
            Key::parse("ctrl-r"),
            Some(Key::new(KeyCode::Char('r'), KeyModifiers::CONTROL))
        );
        assert_eq!(
            Key::from_event(&KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)),
            Key::char('G')
        );
        assert_eq!(
            Key::parse("shift-tab").map(|k| k.code),
            Some(KeyCode::BackTab)
        );
        assert_eq!(Key::parse("f5").map(|k| k.code), Some(KeyCode::F(5)));
        assert_eq!(Key::parse("pgdn").map(|k| k.code), Some(KeyCode::PageDown));
        assert_eq!(Key::parse("bogus"), None);
        assert_eq!(Key::parse("ctrl-r").unwrap().to_string(), "ctrl-r");
    }

    #[test]
    fn no_default_binding_on_tmux_prefixes() {
        let map = demo(&KeyOverrides::default()).unwrap();
        for prefix in ["ctrl-b", "ctrl-a"] {
            let k = Key::parse(prefix).unwrap();
            assert!(!map.all_keys().contains(&k), "{prefix} is bound by default");
        }
    }

    #[test]
    fn vim_and_arrows_both_move() {
        let map = Keymap::<Demo>::build(&[], &KeyOverrides::default()).unwrap();
        assert_eq!(map.global(&Key::char('j')), Some(Global::Down));
        assert_eq!(
            map.global(&Key::new(KeyCode::Down, KeyModifiers::NONE)),
            Some(Global::Down)
        );
        assert_eq!(map.global_hint(Global::Down), "j/↓");
    }

    #[test]
    fn overrides_replace_only_named_actions() {
        let o = overrides("[global]\nquit = \"ctrl-q\"\n[screen.demo]\nsuspend = \"S\"\n");
        let map = demo(&o).unwrap();
        assert_eq!(map.global(&Key::char('q')), None);
        assert_eq!(
            map.global(&Key::parse("ctrl-q").unwrap()),
            Some(Global::Quit)
        );
        assert_eq!(map.global(&Key::char('?')), Some(Global::Help));
        let bound = map.screen("demo", &Key::char('S')).unwrap();
        assert_eq!((bound.action, bound.name), (Demo::Suspend, "suspend"));
        assert!(map.screen("demo", &Key::char('s')).is_none());
        assert_eq!(map.screen_hint("demo", Demo::Suspend), "S");
    }

    #[test]
    fn bad_config_is_reported_not_dropped() {
        for (text, needle) in [
            ("[global]\nqiut = \"x\"\n", "unknown action 'qiut'"),
            ("[global]\nquit = \"ctrl-nope\"\n", "not a key"),
            ("[global]\nquit = \"?\"\n", "bound to both"),
            ("[screen.demo]\nsuspend = \"q\"\n", "already the global key"),
            (
                "[screen.demo]\nsuspend = \"x x\"\n",
                "bound to both suspend and suspend",
            ),
            (
                "[screen.demo]\nsupsend = \"x\"\n",
                "unknown action 'supsend'",
            ),
            ("[screen.nope]\nx = \"y\"\n", "no such screen"),
        ] {
            let err = demo(&overrides(text)).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
