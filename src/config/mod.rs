//! The config file: named contexts, themes, key bindings, audit settings.
//! Located by `--config`, then `OPSDECK_CONFIG`, then the XDG config dir.

pub mod api_keys;
mod context;
pub mod drills;
mod exposure;
pub mod jobs;
pub mod keys;
pub mod migrations;
mod paths;
pub mod private;
pub mod schema_map;
pub mod theme;

pub use context::{CacheLayout, Context, ContextOverrides, ResolvedContext, Thresholds};
pub use paths::Paths;
pub use schema_map::SchemaMap;

use crate::error::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Context used when `--context` is not given.
    pub default_context: Option<String>,
    /// Theme name for the TUI (dark, light, high-contrast, mono or a user theme).
    pub theme: Option<String>,
    /// How long a context's `password_command` may run (default 10).
    pub password_command_timeout_secs: Option<u64>,
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
    #[serde(default)]
    pub audit: AuditSettings,
    #[serde(default)]
    pub tui: TuiSettings,
    #[serde(default)]
    pub keys: keys::KeyOverrides,
    /// Where the config was read from, if anywhere.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSettings {
    /// Local JSONL audit file; default `<data dir>/audit.jsonl`.
    pub local_path: Option<PathBuf>,
    /// Also write to `opsdeck.audit` when `opsdeck init` created it (default true).
    pub database: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TuiSettings {
    pub mouse: bool,
    pub refresh_secs: u64,
}

/// A day: a longer refresh period is a typo, and far larger ones would
/// overflow the clock the console schedules refreshes on.
const MAX_REFRESH_SECS: u64 = 86_400;

/// An hour: a password command that needs longer is waiting for someone.
const MAX_COMMAND_TIMEOUT_SECS: u64 = 3_600;

impl Default for TuiSettings {
    fn default() -> Self {
        TuiSettings {
            mouse: false,
            refresh_secs: 5,
        }
    }
}

impl Config {
    /// Finds and parses the config file. A missing file at the default location
    /// is not an error; an explicitly named file that is missing is.
    pub fn load(explicit: Option<&Path>, paths: &Paths) -> Result<Config> {
        let env_path = std::env::var_os("OPSDECK_CONFIG").map(PathBuf::from);
        let (path, required) = match (explicit, env_path) {
            (Some(p), _) => (p.to_path_buf(), true),
            (None, Some(p)) => (p, true),
            (None, None) => (paths.config_file(), false),
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let mut cfg = Config::parse(&text, &path)?;
                cfg.check_command_source(&path)?;
                cfg.source = Some(path);
                Ok(cfg)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                Ok(Config::default())
            }
            Err(e) => Err(Error::Config(format!(
                "cannot read {}: {e}; check --config / OPSDECK_CONFIG",
                path.display()
            ))),
        }
    }

    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        let cfg = toml::from_str::<Config>(text).map_err(|e| {
            let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
            Error::ConfigSyntax {
                path: path.display().to_string(),
                line,
                column,
                // toml puts some explanations on a second line; errors are one line.
                message: e.message().split_whitespace().collect::<Vec<_>>().join(" "),
            }
        })?;
        for (name, ctx) in &cfg.contexts {
            ctx.check(name)?;
        }
        if let Some(secs) = cfg
            .password_command_timeout_secs
            .filter(|s| !(1..=MAX_COMMAND_TIMEOUT_SECS).contains(s))
        {
            return Err(Error::Config(format!(
                "password_command_timeout_secs = {secs} is out of range: use 1 to {MAX_COMMAND_TIMEOUT_SECS} seconds"
            )));
        }
        if cfg.tui.refresh_secs > MAX_REFRESH_SECS {
            return Err(Error::Config(format!(
                "tui.refresh_secs = {} is out of range: use 0 to {MAX_REFRESH_SECS} seconds",
                cfg.tui.refresh_secs
            )));
        }
        Ok(cfg)
    }

    /// Picks the context: `--context`, then `default_context`, then the only
    /// one defined, else an empty default context.
    pub fn context(&self, name: Option<&str>) -> Result<(String, Context)> {
        let wanted = name
            .map(str::to_string)
            .or_else(|| self.default_context.clone());
        match wanted {
            Some(n) => self
                .contexts
                .get(&n)
                .cloned()
                .map(|c| (n.clone(), c))
                .ok_or_else(|| {
                    let known: Vec<_> = self.contexts.keys().cloned().collect();
                    Error::Usage(format!(
                        "no context named '{n}' in the config (known: {})",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    ))
                }),
            None if self.contexts.len() == 1 => {
                let (n, c) = self.contexts.iter().next().expect("len checked");
                Ok((n.clone(), c.clone()))
            }
            None => Ok(("default".into(), Context::default())),
        }
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_error_names_line_and_column() {
        let text = "default_context = \"a\"\n[contexts.a]\npg = \"x\"\nread_only = tru\n";
        let err = Config::parse(text, Path::new("/tmp/c.toml")).unwrap_err();
        match err {
            Error::ConfigSyntax { line, path, .. } => {
                assert_eq!(line, 4);
                assert_eq!(path, "/tmp/c.toml");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn duplicate_table_error_is_one_line() {
        let text = "[contexts.a]\npg = \"x\"\n[contexts.a]\n";
        let err = Config::parse(text, Path::new("c.toml")).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains('\n'), "{msg:?}");
        assert!(msg.starts_with("c.toml:3:"), "{msg}");
        assert!(msg.contains("duplicate key"), "{msg}");
    }

    #[test]
    fn unknown_key_is_an_error_not_ignored() {
        let err = Config::parse("[contexts.a]\npgg = \"x\"\n", Path::new("c.toml")).unwrap_err();
        assert!(
            matches!(err, Error::ConfigSyntax { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn out_of_range_numbers_are_config_errors_naming_the_key() {
        for (text, key) in [
            (
                "[contexts.a]\nstatement_timeout_ms = 9223372036854775807\n",
                "contexts.a.statement_timeout_ms",
            ),
            (
                "[contexts.b]\nlock_timeout_ms = 2147483648\n",
                "contexts.b.lock_timeout_ms",
            ),
            (
                "[contexts.c]\nidle_in_transaction_timeout_ms = 4294967296\n",
                "contexts.c.idle_in_transaction_timeout_ms",
            ),
            ("[tui]\nrefresh_secs = 86401\n", "tui.refresh_secs"),
        ] {
            let err = Config::parse(text, Path::new("c.toml")).unwrap_err();
            let msg = err.to_string();
            assert!(matches!(err, Error::Config(_)), "{err:?}");
            assert_eq!(err.exit_code(), crate::error::ExitCode::Usage);
            assert!(
                msg.contains(key) && msg.contains("out of range: use 0"),
                "{msg}"
            );
        }
        for secs in [0, 3601] {
            let text = format!("password_command_timeout_secs = {secs}\n");
            let err = Config::parse(&text, Path::new("c.toml")).unwrap_err();
            assert!(
                err.to_string().contains(
                    "password_command_timeout_secs = {secs} is out of range: use 1 to 3600"
                        .replace("{secs}", &secs.to_string())
                        .as_str()
                ),
                "{err}"
            );
        }
        let nul = "[contexts.n.schema]\ntenants_table = \"x\\u0000y\"\n";
        let err = Config::parse(nul, Path::new("c.toml")).unwrap_err();
        assert!(
            err.to_string()
                .contains("contexts.n.schema.tenants_table contains a NUL"),
            "{err}"
        );
        let ok = "[contexts.a]\nstatement_timeout_ms = 2147483647\n[tui]\nrefresh_secs = 86400\n";
        assert!(Config::parse(ok, Path::new("c.toml")).is_ok());
    }

    #[test]
    fn context_selection_order() {
        let cfg = Config::parse(
            "default_context = \"b\"\n[contexts.a]\npg = \"x\"\n[contexts.b]\npg = \"y\"\n",
            Path::new("c.toml"),
        )
        .unwrap();
        assert_eq!(cfg.context(None).unwrap().0, "b");
        assert_eq!(cfg.context(Some("a")).unwrap().0, "a");
        assert!(matches!(cfg.context(Some("zz")), Err(Error::Usage(_))));
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../config.example.toml");
        let cfg = Config::parse(text, Path::new("config.example.toml")).unwrap();
        assert!(!cfg.contexts.is_empty());
    }
}
