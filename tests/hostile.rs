//! Hostile input to the parsers: arbitrary text gives a value or a typed
//! error, never a panic (the binary's side is in `hostile_cli.rs`).

use clap::Parser;
use opsdeck::cache::{escape, unescape};
use opsdeck::cli::Cli;
use opsdeck::config::Config;
use opsdeck::conn::{conninfo, params, pgpass, service};
use opsdeck::tenants::{Cursor, SortField};
use opsdeck::Error;
use proptest::prelude::*;
use std::path::Path;

fn config() -> ProptestConfig {
    ProptestConfig::with_cases(256)
}

/// Pieces of conninfo strings and URLs, glued at random: real keywords and
/// separators reach deeper into the parser than uniform noise does.
fn conninfo_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("postgres://".to_string()),
        Just("postgresql://".to_string()),
        Just("host=".to_string()),
        Just("port=".to_string()),
        Just("hostaddr=".to_string()),
        Just("dbname=".to_string()),
        Just("user=".to_string()),
        Just("password=".to_string()),
        Just("service=".to_string()),
        Just("sslmode=".to_string()),
        Just("connect_timeout=".to_string()),
        Just("keepalives_idle=".to_string()),
        Just("keepalives_count=".to_string()),
        Just("tcp_user_timeout=".to_string()),
        Just("options=".to_string()),
        Just("?".to_string()),
        Just("&".to_string()),
        Just("@".to_string()),
        Just(":".to_string()),
        Just("/".to_string()),
        Just(",".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just(" ".to_string()),
        Just("%".to_string()),
        "%[0-9a-fA-Fg]{0,2}",
        "-?[0-9]{1,25}",
        "\\PC{0,8}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|v| v.concat())
}

fn empty_env(_: &str) -> Option<String> {
    None
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conninfo_and_urls_never_panic(text in conninfo_text()) {
        let _ = conninfo::parse(&text);
        if let Err(e) = params::resolve(&text, &empty_env) {
            prop_assert!(matches!(e, Error::Usage(_) | Error::Config(_)), "{e:?}");
        }
    }

    #[test]
    fn service_and_pgpass_files_never_panic(text in "(\\PC|\n|\\[|\\]|=|:|\\\\|#|\\*){0,200}", name in "\\PC{0,6}") {
        let _ = service::parse(&text, &name, Path::new("pg_service.conf"));
        let key = pgpass::Key { host: &name, port: "5432", dbname: "d", user: "u" };
        let _ = pgpass::find(&text, key);
    }

    #[test]
    fn config_text_is_ok_or_a_typed_error(text in any::<String>()) {
        if let Err(e) = Config::parse(&text, Path::new("c.toml")) {
            prop_assert!(matches!(e, Error::ConfigSyntax { .. } | Error::Config(_)), "{e:?}");
        }
    }

    #[test]
    fn config_numbers_are_ok_or_config_errors(
        key in prop::sample::select(vec![
            "statement_timeout_ms", "lock_timeout_ms", "idle_in_transaction_timeout_ms",
            "redis_cluster", "read_only",
        ]),
        value in prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|f| format!("{f:?}")),
            Just("nan".to_string()),
            Just("inf".to_string()),
            Just("99999999999999999999999".to_string()),
        ],
        section in prop::sample::select(vec!["[contexts.a]", "[contexts.a.thresholds]", "[contexts.a.cache]", "[tui]"]),
    ) {
        let text = format!("{section}\n{key} = {value}\nrefresh_secs = {value}\nsample_size = {value}\n");
        match Config::parse(&text, Path::new("c.toml")) {
            Ok(cfg) => {
                // Whatever was accepted resolves to the timeouts Postgres takes.
                for (name, ctx) in cfg.contexts {
                    let r = opsdeck::config::ResolvedContext::resolve(name, ctx, &Default::default());
                    prop_assert!(r.statement_timeout.as_millis() <= i32::MAX as u128);
                    prop_assert!(r.lock_timeout.as_millis() <= i32::MAX as u128);
                    prop_assert!(r.idle_in_transaction_timeout.as_millis() <= i32::MAX as u128);
                }
            }
            Err(e) => prop_assert!(matches!(e, Error::ConfigSyntax { .. } | Error::Config(_)), "{e:?}"),
        }
    }

    #[test]
    fn cursors_from_arbitrary_text_are_ok_or_usage_errors(text in any::<String>()) {
        if let Err(e) = Cursor::decode(&text) {
            prop_assert!(matches!(e, Error::Usage(_)), "{e:?}");
        }
    }

    #[test]
    fn cursors_of_arbitrary_bytes_are_ok_or_usage_errors(bytes in any::<Vec<u8>>(), cut in 0usize..64) {
        use base64::Engine;
        let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        let truncated = &text[..text.len().saturating_sub(cut % 3)];
        for t in [text.as_str(), truncated] {
            if let Err(e) = Cursor::decode(t) {
                prop_assert!(matches!(e, Error::Usage(_)), "{e:?}");
            }
        }
    }

    #[test]
    fn cursors_round_trip(key in proptest::option::of(any::<String>()), id in any::<String>(), desc: bool) {
        let c = Cursor { field: SortField::Name, desc, key, id };
        prop_assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    }

    #[test]
    fn escaped_keys_round_trip_and_show_nothing_hostile(bytes in any::<Vec<u8>>()) {
        let shown = escape(&bytes);
        prop_assert_eq!(unescape(&shown).unwrap(), bytes);
        prop_assert!(
            !shown.chars().any(|c| c.is_control() || opsdeck::cache::keyname::is_bidi(c)),
            "{:?}", shown
        );
    }

    #[test]
    fn unescape_of_arbitrary_text_is_ok_or_a_usage_error(text in "(\\PC|\\\\|x|[0-9a-f]){0,40}") {
        if let Err(e) = unescape(&text) {
            prop_assert!(matches!(e, Error::Usage(_)), "{e:?}");
        }
    }

    #[test]
    fn random_command_lines_parse_or_fail_without_panicking(
        words in prop::collection::vec(prop_oneof![
            prop::sample::select(VOCABULARY.to_vec()).prop_map(str::to_string),
            "-?-?[a-z-]{0,12}",
            "-?[0-9]{1,30}[smhdw]?",
            any::<String>(),
        ], 0..10)
    ) {
        let argv = std::iter::once("opsdeck".to_string()).chain(words);
        if let Err(e) = Cli::try_parse_from(argv) {
            // Rendering is what the binary prints; it must not panic either.
            let _ = e.render().to_string();
        }
    }
}

const VOCABULARY: &[&str] = &[
    "demo",
    "--keep",
    "--no-tui",
    "doctor",
    "overview",
    "init",
    "login",
    "--delete",
    "cache",
    "stats",
    "keys",
    "get",
    "del",
    "invalidate",
    "--pattern",
    "--tag",
    "--tenant",
    "--dry-run",
    "--sizes",
    "tenants",
    "list",
    "show",
    "suspend",
    "resume",
    "lint",
    "--status",
    "--search",
    "--sort",
    "--desc",
    "--limit",
    "--after",
    "--no-sizes",
    "audit",
    "--since",
    "--actor",
    "help",
    "--context",
    "--config",
    "--pg",
    "--redis",
    "--read-only",
    "--output",
    "table",
    "json",
    "csv",
    "--yes",
    "-y",
    "--no-color",
    "-v",
    "-vvvv",
    "--log-file",
    "--help",
    "-h",
    "--version",
    "--",
    "=",
];
