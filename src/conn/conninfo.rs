//! Connection specs the libpq way: `postgres://` / `postgresql://` URLs and
//! `key=value` conninfo strings, split, unquoted and percent-decoded exactly as
//! libpq's `conninfo_parse` and `conninfo_uri_parse` do. The result is a map of
//! libpq keywords; `params` turns it into something to connect with.

use crate::error::{Error, Result};
use std::collections::BTreeMap;

/// Keywords opsdeck honours, under their libpq names.
pub const SUPPORTED: &[&str] = &[
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "service",
    "options",
    "application_name",
    "fallback_application_name",
    "connect_timeout",
    "sslmode",
    "sslrootcert",
    "sslnegotiation",
    "target_session_attrs",
    "load_balance_hosts",
    "channel_binding",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
];

/// Keywords libpq knows but opsdeck cannot honour. Ignoring them silently would
/// connect differently than the operator asked (no client certificate, no GSS),
/// so naming one is an error that says so.
const UNSUPPORTED: &[&str] = &[
    "client_encoding",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslcertmode",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requiressl",
    "sslcompression",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "gssdelegation",
    "requirepeer",
    "require_auth",
    "replication",
];

/// libpq keywords and their values, later settings replacing earlier ones.
/// Debug never shows the password.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Settings(BTreeMap<&'static str, String>);

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.0 {
            if *k == "password" {
                m.entry(k, &"[redacted]");
            } else {
                m.entry(k, v);
            }
        }
        m.finish()
    }
}

impl Settings {
    pub fn get(&self, keyword: &str) -> Option<&str> {
        self.0.get(keyword).map(String::as_str)
    }

    /// Sets a keyword, refusing unknown and unsupported ones by name.
    pub fn set(&mut self, keyword: &str, value: impl Into<String>) -> Result<()> {
        let k = keyword_of(keyword)?;
        self.0.insert(k, no_nul(k, value.into())?);
        Ok(())
    }

    /// Sets a keyword only where nothing set it before (service file, env).
    pub fn set_default(&mut self, keyword: &str, value: impl Into<String>) -> Result<()> {
        let k = keyword_of(keyword)?;
        if !self.0.contains_key(k) {
            self.0.insert(k, no_nul(k, value.into())?);
        }
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.0.iter().map(|(k, v)| (*k, v.as_str()))
    }

    pub fn remove(&mut self, keyword: &str) -> Option<String> {
        self.0.remove(keyword)
    }

    /// Keyword/value conninfo, every value quoted the way libpq and
    /// [`parse_kv`] read it back.
    pub fn to_conninfo(&self) -> String {
        self.iter()
            .map(|(k, v)| format!("{k}='{}'", v.replace('\\', "\\\\").replace('\'', "\\'")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// The startup packet and socket paths are C strings: a NUL would fail the
/// connection later with a message that reads like a network problem.
fn no_nul(keyword: &str, value: String) -> Result<String> {
    if value.contains('\0') {
        return Err(Error::Usage(format!(
            "connection option \"{keyword}\" contains a NUL character (\\0); remove it"
        )));
    }
    Ok(value)
}

fn keyword_of(keyword: &str) -> Result<&'static str> {
    if let Some(k) = SUPPORTED.iter().find(|k| **k == keyword) {
        return Ok(k);
    }
    if UNSUPPORTED.contains(&keyword) {
        return Err(Error::Usage(format!(
            "connection option \"{keyword}\" is not supported by opsdeck; remove it from the connection string, service file or environment"
        )));
    }
    Err(Error::Usage(format!(
        "invalid connection option \"{keyword}\"; see the libpq connection parameters for valid names"
    )))
}

/// Parses a URL or a conninfo string; an empty spec gives no settings.
pub fn parse(spec: &str) -> Result<Settings> {
    for prefix in ["postgresql://", "postgres://"] {
        if let Some(rest) = spec.strip_prefix(prefix) {
            return parse_url(rest);
        }
    }
    parse_kv(spec)
}

/// `key = value key2='quoted \' value'`: whitespace separates pairs, spaces may
/// surround `=`, single quotes allow spaces, and a backslash escapes the next
/// character inside and outside quotes.
pub fn parse_kv(spec: &str) -> Result<Settings> {
    let mut out = Settings::default();
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let n = chars.len();
    loop {
        while i < n && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= n {
            break;
        }
        let start = i;
        while i < n && chars[i] != '=' && !chars[i].is_whitespace() {
            i += 1;
        }
        let name: String = chars[start..i].iter().collect();
        while i < n && chars[i].is_whitespace() {
            i += 1;
        }
        if i >= n || chars[i] != '=' {
            return Err(Error::Usage(format!(
                "missing \"=\" after \"{name}\" in connection info string"
            )));
        }
        i += 1;
        while i < n && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < n && chars[i] == '\'' {
            i += 1;
            let mut closed = false;
            while i < n {
                match chars[i] {
                    '\\' if i + 1 < n => {
                        value.push(chars[i + 1]);
                        i += 2;
                    }
                    '\'' => {
                        closed = true;
                        i += 1;
                        break;
                    }
                    c => {
                        value.push(c);
                        i += 1;
                    }
                }
            }
            if !closed {
                return Err(Error::Usage(
                    "unterminated quoted string in connection info string".into(),
                ));
            }
        } else {
            while i < n && !chars[i].is_whitespace() {
                if chars[i] == '\\' && i + 1 < n {
                    i += 1;
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        out.set(&name, value)?;
    }
    Ok(out)
}

/// `[user[:password]@][host[:port][,host[:port]...]][/dbname][?k=v&...]`, the
/// part after the scheme. Hosts may be `[IPv6]`; every component is percent-decoded.
fn parse_url(rest: &str) -> Result<Settings> {
    let mut out = Settings::default();
    let mut s = rest;
    // libpq looks for credentials only before the first '/'.
    if let Some(at) = s.find(['@', '/']).filter(|&p| s.as_bytes()[p] == b'@') {
        let cred = &s[..at];
        let (user, password) = match cred.find(':') {
            Some(c) => (&cred[..c], Some(&cred[c + 1..])),
            None => (cred, None),
        };
        if !user.is_empty() {
            out.set("user", decode(user, "user name")?)?;
        }
        if let Some(p) = password {
            out.set("password", decode(p, "password")?)?;
        }
        s = &s[at + 1..];
    }
    let mut hosts = String::new();
    let mut ports = String::new();
    loop {
        let (host, after) = if let Some(inner) = s.strip_prefix('[') {
            let close = inner.find(']').ok_or_else(|| {
                Error::Usage(
                    "end of string reached when looking for matching \"]\" in IPv6 host address in URI"
                        .into(),
                )
            })?;
            if close == 0 {
                return Err(Error::Usage(
                    "IPv6 host address may not be empty in URI".into(),
                ));
            }
            let after = &inner[close + 1..];
            if let Some(c) = after.chars().next().filter(|c| !":/?,".contains(*c)) {
                return Err(Error::Usage(format!(
                    "unexpected character \"{c}\" after IPv6 host address in URI (expected \":\" or \"/\")"
                )));
            }
            (&inner[..close], after)
        } else {
            let end = s.find([':', '/', '?', ',']).unwrap_or(s.len());
            (&s[..end], &s[end..])
        };
        hosts.push_str(host);
        s = after;
        if let Some(p) = s.strip_prefix(':') {
            let end = p.find(['/', '?', ',']).unwrap_or(p.len());
            ports.push_str(&p[..end]);
            s = &p[end..];
        }
        match s.strip_prefix(',') {
            Some(next) => {
                hosts.push(',');
                ports.push(',');
                s = next;
            }
            None => break,
        }
    }
    if !hosts.is_empty() {
        out.set("host", decode(&hosts, "host")?)?;
    }
    if !ports.is_empty() {
        out.set("port", decode(&ports, "port")?)?;
    }
    if let Some(p) = s.strip_prefix('/') {
        let end = p.find('?').unwrap_or(p.len());
        if end > 0 {
            out.set("dbname", decode(&p[..end], "database name")?)?;
        }
        s = &p[end..];
    }
    if let Some(q) = s.strip_prefix('?') {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                Error::Usage(format!(
                    "missing key/value separator \"=\" in URI query parameter: \"{pair}\""
                ))
            })?;
            if v.contains('=') {
                return Err(Error::Usage(format!(
                    "extra key/value separator \"=\" in URI query parameter: \"{k}\""
                )));
            }
            let key = decode(k, "query parameter")?;
            let value = decode(v, "query parameter")?;
            // libpq accepts the JDBC spelling `ssl=true` as sslmode=require.
            if key == "ssl" && value == "true" {
                out.set("sslmode", "require")?;
            } else {
                out.set(&key, value).map_err(|e| match e {
                    Error::Usage(m) if m.starts_with("invalid connection option") => {
                        Error::Usage(format!("invalid URI query parameter: \"{key}\""))
                    }
                    other => other,
                })?;
            }
        }
    }
    Ok(out)
}

/// Percent-decoding as libpq does it: `%XX` only (no `+` for space), `%00`
/// forbidden. Errors name the component, never its text, which may be a password.
fn decode(s: &str, what: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::Usage(format!("invalid percent-encoded token in URI {what}"))
                })?;
            if hex == 0 {
                return Err(Error::Usage(format!(
                    "forbidden value %00 in percent-encoded URI {what}"
                )));
            }
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        Error::Usage(format!(
            "URI {what} is not valid UTF-8 after percent-decoding"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(s: &str) -> Vec<(&'static str, String)> {
        parse(s)
            .unwrap()
            .iter()
            .map(|(k, v)| (k, v.to_string()))
            .collect()
    }

    fn usage(s: &str) -> String {
        match parse(s) {
            Err(Error::Usage(m)) => m,
            other => panic!("expected a usage error for {s:?}, got {other:?}"),
        }
    }

    #[test]
    fn conninfo_quotes_escapes_and_spaces_around_equals() {
        let s =
            parse(r"host = db1  port=5433 dbname='my db' password='it\'s a \\ secret' user=a\ b")
                .unwrap();
        assert_eq!(s.get("host"), Some("db1"));
        assert_eq!(s.get("port"), Some("5433"));
        assert_eq!(s.get("dbname"), Some("my db"));
        assert_eq!(s.get("password"), Some(r"it's a \ secret"));
        assert_eq!(s.get("user"), Some("a b"));
    }

    #[test]
    fn conninfo_empty_quoted_value_and_later_wins() {
        let s = parse("user=x password='' user=y").unwrap();
        assert_eq!(s.get("password"), Some(""));
        assert_eq!(s.get("user"), Some("y"));
        assert!(parse("").unwrap().iter().next().is_none());
    }

    #[test]
    fn conninfo_errors_name_the_problem() {
        assert!(usage("host").contains("missing \"=\" after \"host\""));
        assert!(usage("password='abc").contains("unterminated quoted string"));
        assert!(usage("hots=x").contains("invalid connection option \"hots\""));
        assert!(usage("sslcert=/x").contains("\"sslcert\" is not supported"));
    }

    #[test]
    fn url_with_percent_encoded_password_and_params() {
        let s = parse("postgresql://app%40corp:p%3Ass%2Fw%25rd@db.example.com:6432/my%20db?sslmode=verify-full&application_name=x%20y&connect_timeout=5&options=-c%20search_path%3Dapp")
            .unwrap();
        assert_eq!(s.get("user"), Some("app@corp"));
        assert_eq!(s.get("password"), Some("p:ss/w%rd"));
        assert_eq!(s.get("host"), Some("db.example.com"));
        assert_eq!(s.get("port"), Some("6432"));
        assert_eq!(s.get("dbname"), Some("my db"));
        assert_eq!(s.get("sslmode"), Some("verify-full"));
        assert_eq!(s.get("application_name"), Some("x y"));
        assert_eq!(s.get("connect_timeout"), Some("5"));
        assert_eq!(s.get("options"), Some("-c search_path=app"));
    }

    #[test]
    fn url_password_may_contain_colons_and_plus_is_literal() {
        let s = parse("postgres://u:a:b+c@h/d").unwrap();
        assert_eq!(s.get("user"), Some("u"));
        assert_eq!(s.get("password"), Some("a:b+c"));
    }

    #[test]
    fn url_multiple_hosts_and_ipv6() {
        assert_eq!(
            kv("postgres://h1:5432,h2:5433,[::1]:5434/db"),
            vec![
                ("dbname", "db".to_string()),
                ("host", "h1,h2,::1".to_string()),
                ("port", "5432,5433,5434".to_string())
            ]
        );
        let s = parse("postgresql://[2001:db8::1]/x").unwrap();
        assert_eq!(s.get("host"), Some("2001:db8::1"));
        assert_eq!(s.get("port"), None);
        let s = parse("postgresql://h1,h2:5433/x").unwrap();
        assert_eq!(s.get("host"), Some("h1,h2"));
        assert_eq!(s.get("port"), Some(",5433"));
    }

    #[test]
    fn url_unix_socket_hosts() {
        let s = parse("postgresql:///mydb?host=/var/run/postgresql&port=5433").unwrap();
        assert_eq!(s.get("host"), Some("/var/run/postgresql"));
        assert_eq!(s.get("dbname"), Some("mydb"));
        assert_eq!(s.get("port"), Some("5433"));
        let s = parse("postgresql://%2Ftmp%2Fpg/db").unwrap();
        assert_eq!(s.get("host"), Some("/tmp/pg"));
        assert!(parse("postgresql://").unwrap().iter().next().is_none());
    }

    #[test]
    fn url_at_after_slash_is_not_credentials() {
        let s = parse("postgresql://host/db@x").unwrap();
        assert_eq!(s.get("host"), Some("host"));
        assert_eq!(s.get("dbname"), Some("db@x"));
        assert_eq!(s.get("user"), None);
    }

    #[test]
    fn url_ssl_true_and_service() {
        let s = parse("postgres://h/d?ssl=true&service=prod&sslrootcert=/c.pem").unwrap();
        assert_eq!(s.get("sslmode"), Some("require"));
        assert_eq!(s.get("service"), Some("prod"));
        assert_eq!(s.get("sslrootcert"), Some("/c.pem"));
    }

    #[test]
    fn url_errors() {
        assert!(usage("postgres://h/d?foo=1").contains("invalid URI query parameter: \"foo\""));
        assert!(usage("postgres://h/d?sslmode").contains("missing key/value separator"));
        assert!(usage("postgres://h/d?a=b=c").contains("extra key/value separator"));
        assert!(usage("postgres://[::1/d").contains("matching \"]\""));
        assert!(usage("postgres://[]/d").contains("may not be empty"));
        assert!(usage("postgres://[::1]x/d").contains("unexpected character \"x\""));
        let m = usage("postgres://u:se%zzcret@h/d");
        assert!(m.contains("invalid percent-encoded token"), "{m}");
        assert!(
            !m.contains("se%zzcret"),
            "an error must not echo the password: {m}"
        );
        assert!(usage("postgres://u:a%00b@h/d").contains("%00"));
    }

    #[test]
    fn nul_in_a_value_is_a_usage_error() {
        for spec in ["dbname=a\0b", "host=\0", "user=u options='-c x=\0'"] {
            assert!(
                matches!(parse(spec), Err(Error::Usage(m)) if m.contains("NUL")),
                "{spec:?}"
            );
        }
        let mut s = Settings::default();
        assert!(s.set_default("dbname", "a\0").is_err());
    }

    #[test]
    fn debug_redacts_password() {
        let s = parse("user=u password=hunter2").unwrap();
        let d = format!("{s:?}");
        assert!(!d.contains("hunter2") && d.contains("redacted"), "{d}");
    }
}
