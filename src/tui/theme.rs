//! Semantic styles for every widget. Screens ask for a role (`theme.muted()`,
//! `theme.level(level)`), never for a colour: this is the only file in the
//! TUI that names `Color`.

use crate::config::theme::ThemeSpec;
use crate::error::{Error, Result};
use crate::health::overview::Level;
use ratatui::style::{Color, Modifier, Style};
use std::path::Path;

/// Slots every theme file must define.
pub const SLOTS: &[&str] = &[
    "fg",
    "bg",
    "accent",
    "muted",
    "ok",
    "warn",
    "error",
    "danger",
    "selection_fg",
    "selection_bg",
    "border",
    "title",
    "header_bg",
    "read_only",
    "prod_banner",
];

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    color: bool,
    fg: Color,
    bg: Color,
    accent: Color,
    muted: Color,
    ok: Color,
    warn: Color,
    error: Color,
    danger: Color,
    selection_fg: Color,
    selection_bg: Color,
    border: Color,
    title: Color,
    header_bg: Color,
    read_only: Color,
    prod_banner: Color,
}

impl Theme {
    /// Picks the theme: monochrome when colour is off, else the context's
    /// theme, the config's, or dark.
    pub fn choose(
        color: bool,
        context_theme: Option<&str>,
        config_theme: Option<&str>,
        themes_dir: &Path,
    ) -> Result<Theme> {
        let name = if color {
            context_theme.or(config_theme).unwrap_or("dark")
        } else {
            "mono"
        };
        let spec = ThemeSpec::load(name, themes_dir)?;
        let mut theme = Theme::from_spec(&spec)?;
        if !color {
            theme.color = false;
        }
        Ok(theme)
    }

    /// A built-in theme by name (tests, benches).
    pub fn builtin(name: &str) -> Result<Theme> {
        let text = crate::config::theme::BUILTIN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| *t)
            .ok_or_else(|| Error::Config(format!("no built-in theme '{name}'")))?;
        let spec: ThemeSpec = toml::from_str(text)
            .map_err(|e| Error::Config(format!("built-in theme {name}: {e}")))?;
        Theme::from_spec(&spec)
    }

    pub fn from_spec(spec: &ThemeSpec) -> Result<Theme> {
        let slot = |name: &str| -> Result<Color> {
            let value = spec.slots.get(name).ok_or_else(|| {
                Error::Config(format!(
                    "theme '{}' lacks the slot '{name}'; every theme needs {}",
                    spec.name,
                    SLOTS.join(", ")
                ))
            })?;
            parse_color(value).ok_or_else(|| {
                Error::Config(format!(
                    "theme '{}': slot {name} = '{value}' is not a colour (use a name like light-blue, #rrggbb, 0-255 or reset)",
                    spec.name
                ))
            })
        };
        if let Some(extra) = spec.slots.keys().find(|k| !SLOTS.contains(&k.as_str())) {
            return Err(Error::Config(format!(
                "theme '{}': unknown slot '{extra}'; slots are {}",
                spec.name,
                SLOTS.join(", ")
            )));
        }
        Ok(Theme {
            name: spec.name.clone(),
            color: spec.color,
            fg: slot("fg")?,
            bg: slot("bg")?,
            accent: slot("accent")?,
            muted: slot("muted")?,
            ok: slot("ok")?,
            warn: slot("warn")?,
            error: slot("error")?,
            danger: slot("danger")?,
            selection_fg: slot("selection_fg")?,
            selection_bg: slot("selection_bg")?,
            border: slot("border")?,
            title: slot("title")?,
            header_bg: slot("header_bg")?,
            read_only: slot("read_only")?,
            prod_banner: slot("prod_banner")?,
        })
    }

    pub fn is_color(&self) -> bool {
        self.color
    }

    fn paint(&self, fg: Color, mono: Modifier) -> Style {
        if self.color {
            Style::new().fg(fg)
        } else {
            Style::new().add_modifier(mono)
        }
    }

    pub fn base(&self) -> Style {
        if self.color {
            Style::new().fg(self.fg).bg(self.bg)
        } else {
            Style::new()
        }
    }

    pub fn text(&self) -> Style {
        self.paint(self.fg, Modifier::empty())
    }

    pub fn muted(&self) -> Style {
        self.paint(self.muted, Modifier::DIM)
    }

    pub fn accent(&self) -> Style {
        self.paint(self.accent, Modifier::BOLD)
    }

    pub fn title(&self) -> Style {
        self.paint(self.title, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.paint(self.accent, Modifier::BOLD)
        } else {
            self.paint(self.border, Modifier::empty())
        }
    }

    pub fn header(&self) -> Style {
        if self.color {
            Style::new().fg(self.fg).bg(self.header_bg)
        } else {
            Style::new()
        }
    }

    /// Selected row: colours in colour themes, reverse video in mono.
    pub fn selection(&self) -> Style {
        if self.color {
            Style::new().fg(self.selection_fg).bg(self.selection_bg)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    pub fn ok(&self) -> Style {
        self.paint(self.ok, Modifier::empty())
    }

    pub fn warn(&self) -> Style {
        self.paint(self.warn, Modifier::BOLD)
    }

    pub fn error(&self) -> Style {
        self.paint(self.error, Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn danger(&self) -> Style {
        self.paint(self.danger, Modifier::BOLD | Modifier::REVERSED)
    }

    pub fn read_only_badge(&self) -> Style {
        if self.color {
            Style::new()
                .fg(self.read_only)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    /// Banners that must not be missed (connection lost, bad config).
    pub fn banner(&self) -> Style {
        if self.color {
            Style::new()
                .fg(self.prod_banner)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED)
        } else {
            Style::new().add_modifier(Modifier::BOLD | Modifier::REVERSED)
        }
    }

    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Ok => self.ok(),
            Level::Warn => self.warn(),
            Level::Error => self.error(),
            Level::Unknown => self.muted(),
        }
    }

    /// Key names in the footer and help.
    pub fn key(&self) -> Style {
        self.paint(self.accent, Modifier::BOLD)
            .add_modifier(Modifier::BOLD)
    }
}

/// "reset", a name ("light-blue", "dark-gray"), "#rrggbb" or an index 0-255.
pub fn parse_color(s: &str) -> Option<Color> {
    let s = s.trim().to_ascii_lowercase();
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 {
            return None;
        }
        let v = u32::from_str_radix(hex, 16).ok()?;
        return Some(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
    }
    if let Ok(i) = s.parse::<u8>() {
        return Some(Color::Indexed(i));
    }
    Some(match s.replace('_', "-").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark-gray" | "dark-grey" => Color::DarkGray,
        "light-red" => Color::LightRed,
        "light-green" => Color::LightGreen,
        "light-yellow" => Color::LightYellow,
        "light-blue" => Color::LightBlue,
        "light-magenta" => Color::LightMagenta,
        "light-cyan" => Color::LightCyan,
        "white" => Color::White,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_theme_loads_with_every_slot() {
        for (name, _) in crate::config::theme::BUILTIN {
            let t = Theme::builtin(name).unwrap();
            assert_eq!(&t.name, name);
        }
    }

    #[test]
    fn mono_selects_by_reverse_video_and_names_no_colour() {
        let t = Theme::builtin("mono").unwrap();
        assert!(!t.is_color());
        assert!(t.selection().add_modifier.contains(Modifier::REVERSED));
        assert_eq!(t.selection().fg, None);
        assert_eq!(t.level(Level::Error).fg, None);
    }

    #[test]
    fn no_color_forces_mono_whatever_the_config_says() {
        let dir = tempfile::tempdir().unwrap();
        let t = Theme::choose(false, Some("dark"), Some("light"), dir.path()).unwrap();
        assert_eq!(t.name, "mono");
        let t = Theme::choose(true, None, Some("light"), dir.path()).unwrap();
        assert_eq!(t.name, "light");
    }

    #[test]
    fn user_theme_overrides_builtin_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let text = crate::config::theme::BUILTIN[0]
            .1
            .replace("cyan", "magenta");
        std::fs::write(dir.path().join("dark.toml"), text).unwrap();
        let t = Theme::choose(true, None, None, dir.path()).unwrap();
        assert_eq!(t.accent().fg, Some(Color::Magenta));
    }

    #[test]
    fn bad_slot_value_is_reported() {
        let spec = ThemeSpec {
            name: "x".into(),
            color: true,
            slots: SLOTS
                .iter()
                .map(|s| (s.to_string(), "purple-ish".to_string()))
                .collect(),
        };
        let err = Theme::from_spec(&spec).unwrap_err().to_string();
        assert!(err.contains("purple-ish"), "{err}");
    }

    #[test]
    fn colours_parse() {
        assert_eq!(parse_color("#1f2430"), Some(Color::Rgb(0x1f, 0x24, 0x30)));
        assert_eq!(parse_color("212"), Some(Color::Indexed(212)));
        assert_eq!(parse_color("light-cyan"), Some(Color::LightCyan));
        assert_eq!(parse_color("nope"), None);
    }
}
