//! The limits every opsdeck session runs under (statement, lock and
//! idle-in-transaction timeouts, read-only, UTC) and the two ways they reach
//! the server: as startup `options` on a direct connection, or as `SET
//! LOCAL` at the start of each transaction behind a transaction pooler,
//! where a session setting would leak to whichever client gets the server
//! connection next.

use crate::config::ResolvedContext;
use crate::error::{Error, Result};
use std::time::Duration;

/// How a context reaches Postgres, as far as session state goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pooler {
    /// A server session of its own for the whole connection.
    #[default]
    None,
    /// PgBouncer in transaction mode, Supabase's or Neon's poolers: the server
    /// connection changes between transactions.
    Transaction,
}

/// The GUCs opsdeck sets, by the name the server knows them by.
const STATEMENT_TIMEOUT: &str = "statement_timeout";
const LOCK_TIMEOUT: &str = "lock_timeout";
const IDLE_TIMEOUT: &str = "idle_in_transaction_session_timeout";

/// Per-session settings derived from the context and the spec's own
/// `options`.
#[derive(Debug, Clone)]
pub struct SessionSettings {
    pub application_name: String,
    pub statement_timeout: Duration,
    pub lock_timeout: Duration,
    pub idle_in_transaction_timeout: Duration,
    pub read_only: bool,
    /// Other `-c name=value` settings from the spec's `options`, kept in
    /// order: sent at startup, or `SET LOCAL` behind a pooler.
    pub extra: Vec<(String, String)>,
    /// Settings from the spec's `options` that opsdeck replaced, each with
    /// why, for a warning.
    pub overridden: Vec<String>,
}

impl SessionSettings {
    pub fn for_context(ctx: &ResolvedContext) -> SessionSettings {
        SessionSettings {
            application_name: format!("opsdeck/{}", ctx.name),
            statement_timeout: ctx.statement_timeout,
            lock_timeout: ctx.lock_timeout,
            idle_in_transaction_timeout: ctx.idle_in_transaction_timeout,
            read_only: ctx.read_only,
            extra: Vec::new(),
            overridden: Vec::new(),
        }
    }

    /// Takes in the `options` of the spec (libpq's `options=`, PGOPTIONS).
    /// A timeout set there is respected: it is the user's explicit choice
    /// for this connection. Read-only and the time zone are not negotiable
    /// (a read-only context must stay read-only; opsdeck reads times as UTC),
    /// so those are overridden and the override is stated.
    pub fn with_spec_options(mut self, options: Option<&str>) -> Result<SessionSettings> {
        let Some(options) = options else {
            return Ok(self);
        };
        for (name, value) in parse_options(options)? {
            match name.to_ascii_lowercase().as_str() {
                STATEMENT_TIMEOUT => self.statement_timeout = guc_duration(&name, &value)?,
                LOCK_TIMEOUT => self.lock_timeout = guc_duration(&name, &value)?,
                IDLE_TIMEOUT => self.idle_in_transaction_timeout = guc_duration(&name, &value)?,
                "default_transaction_read_only" | "transaction_read_only" if self.read_only => {
                    self.overridden.push(format!(
                        "{name}={value} (the context is read-only, so sessions stay read-only)"
                    ))
                }
                "timezone" => self.overridden.push(format!(
                    "{name}={value} (opsdeck reads and prints times in UTC)"
                )),
                _ => self.extra.push((name, value)),
            }
        }
        Ok(self)
    }

    fn gucs(&self) -> Vec<(String, String)> {
        let mut g = vec![
            (STATEMENT_TIMEOUT.to_string(), ms(self.statement_timeout)),
            (LOCK_TIMEOUT.to_string(), ms(self.lock_timeout)),
            (
                IDLE_TIMEOUT.to_string(),
                ms(self.idle_in_transaction_timeout),
            ),
            // Timestamps without time zone are read as UTC and every
            // timestamp opsdeck prints is RFC 3339 UTC, whatever the server's zone.
            ("TimeZone".to_string(), "UTC".to_string()),
        ];
        g.extend(self.extra.iter().cloned());
        g
    }

    /// The `options` startup parameter carrying every setting.
    pub fn options(&self) -> String {
        let mut parts: Vec<String> = self
            .gucs()
            .iter()
            .map(|(n, v)| format!("-c {}={}", escape_option(n), escape_option(v)))
            .collect();
        if self.read_only {
            parts.push("-c default_transaction_read_only=on".into());
        }
        parts.join(" ")
    }

    /// What opens a transaction behind a transaction pooler: BEGIN, then
    /// every setting for this transaction only. One simple-protocol batch,
    /// sent ahead of the statements it guards.
    pub fn begin_local(&self) -> Result<String> {
        let mut sql = String::from(if self.read_only {
            "BEGIN /* opsdeck */ READ ONLY"
        } else {
            "BEGIN /* opsdeck */"
        });
        for (name, value) in self.gucs() {
            sql.push_str(&format!(
                "; SET /* opsdeck */ LOCAL {} = {}",
                guc_name(&name)?,
                crate::conn::sql::literal(&value)?
            ));
        }
        Ok(sql)
    }

    /// The timeouts as the server reports them (pg_settings, in ms), to
    /// check they really apply.
    pub fn expected(&self) -> [(&'static str, u64); 2] {
        [
            (STATEMENT_TIMEOUT, self.statement_timeout.as_millis() as u64),
            (LOCK_TIMEOUT, self.lock_timeout.as_millis() as u64),
        ]
    }
}

fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

/// A GUC name as SQL: custom names carry a dot (`app.tenant`), which quoting
/// would turn into one odd name, so names are checked instead.
fn guc_name(name: &str) -> Result<&str> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if ok {
        Ok(name)
    } else {
        Err(Error::Usage(format!(
            "options: '{}' is not a setting name; use -c name=value",
            name
        )))
    }
}

/// libpq's `options` escaping: a backslash before spaces and backslashes.
fn escape_option(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c == ' ' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `-c name=value`, `-cname=value` and `--name=value` pairs, with libpq's
/// backslash escapes; anything else is a usage error naming it.
pub fn parse_options(s: &str) -> Result<Vec<(String, String)>> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = s.chars();
    let mut in_word = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    word.push(n);
                }
                in_word = true;
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let pair = if w == "-c" {
            it.next().ok_or_else(|| bad_option("-c"))?
        } else if let Some(rest) = w.strip_prefix("-c") {
            rest.to_string()
        } else if let Some(rest) = w.strip_prefix("--") {
            rest.replace('-', "_")
        } else {
            return Err(bad_option(&w));
        };
        let (name, value) = pair.split_once('=').ok_or_else(|| bad_option(&pair))?;
        out.push((name.to_string(), value.to_string()));
    }
    Ok(out)
}

fn bad_option(w: &str) -> Error {
    Error::Usage(format!(
        "options: cannot read '{}'; opsdeck takes settings as -c name=value",
        w
    ))
}

/// A time GUC's value with Postgres's units (bare numbers are ms).
fn guc_duration(name: &str, value: &str) -> Result<Duration> {
    let v = value.trim();
    let split = v
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let factor = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => f64::NAN,
    };
    match num.parse::<f64>().map(|n| n * factor) {
        Ok(n) if n.is_finite() && (0.0..=i32::MAX as f64).contains(&n) => {
            Ok(Duration::from_millis(n.round() as u64))
        }
        _ => Err(Error::Usage(format!(
            "options: {name}={} is not a duration Postgres takes (e.g. 5000, 5s, 2min)",
            value
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> SessionSettings {
        SessionSettings {
            application_name: "opsdeck/t".into(),
            statement_timeout: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(3),
            idle_in_transaction_timeout: Duration::from_secs(60),
            read_only: true,
            extra: Vec::new(),
            overridden: Vec::new(),
        }
    }

    #[test]
    fn the_specs_own_timeouts_are_respected_and_read_only_is_not() {
        let s = base()
            .with_spec_options(Some(
                "-c statement_timeout=5s -clock_timeout=250 --search-path=app,public -c default_transaction_read_only=off",
            ))
            .unwrap();
        assert_eq!(s.statement_timeout, Duration::from_secs(5));
        assert_eq!(s.lock_timeout, Duration::from_millis(250));
        assert_eq!(s.extra, vec![("search_path".into(), "app,public".into())]);
        assert_eq!(s.overridden.len(), 1, "{:?}", s.overridden);
        let o = s.options();
        assert!(o.contains("-c statement_timeout=5000"), "{o}");
        assert!(o.ends_with("-c default_transaction_read_only=on"), "{o}");
        assert!(!o.contains("=off"), "{o}");
    }

    #[test]
    fn begin_local_sets_every_limit_for_the_transaction_only() {
        let s = base()
            .with_spec_options(Some(r"-c app.note=it\'s\ here"))
            .unwrap();
        let b = s.begin_local().unwrap();
        assert!(
            b.starts_with(
                "BEGIN /* opsdeck */ READ ONLY; SET /* opsdeck */ LOCAL statement_timeout = E'30000'"
            ),
            "{b}"
        );
        assert!(
            b.contains("SET /* opsdeck */ LOCAL TimeZone = E'UTC'"),
            "{b}"
        );
        assert!(
            b.ends_with("SET /* opsdeck */ LOCAL app.note = E'it''s here'"),
            "{b}"
        );
    }

    #[test]
    fn odd_options_are_usage_errors() {
        for bad in [
            "statement_timeout=5",
            "-c",
            "-c nameonly",
            "-c statement_timeout=soon",
        ] {
            assert!(
                matches!(base().with_spec_options(Some(bad)), Err(Error::Usage(_))),
                "{bad}"
            );
        }
        let s = base().with_spec_options(Some("-c x;drop=1")).unwrap();
        assert!(s.begin_local().is_err());
    }

    #[test]
    fn escaped_values_round_trip_through_the_startup_options() {
        let s = base().with_spec_options(Some(r"-c a.b=x\ y\\z")).unwrap();
        let o = s.options();
        let back = parse_options(&o).unwrap();
        assert!(back.contains(&("a.b".into(), r"x y\z".into())), "{back:?}");
    }
}
