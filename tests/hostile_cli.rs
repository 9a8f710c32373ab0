//! Hostile input through the built binary: a contract exit code and one
//! bounded stderr line for hostile arguments and config values, refused
//! tampered cursors, and data that cannot drive the operator's terminal
//! while pipes get it byte-exact.

mod common;

use common::{home, opsdeck, TestDb};
use opsdeck::tenants::{Cursor, SortField};
use std::path::Path;

/// A Postgres nobody listens on: connecting fails at once, with exit 4.
const DEAD_PG: &str = "postgres://u@127.0.0.1:1/d";

/// Runs the binary; returns (exit code, stderr).
fn run_binary(home: &Path, args: &[std::ffi::OsString]) -> (i32, String) {
    let out = opsdeck(home).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The arguments for a failure message, cut short: some are 100 KB long.
fn label(args: &[std::ffi::OsString]) -> String {
    format!("{args:?}").chars().take(120).collect()
}

fn os(args: &[&str]) -> Vec<std::ffi::OsString> {
    args.iter().map(Into::into).collect()
}

fn assert_one_bounded_line(what: &str, code: i32, err: &str) {
    assert!((0..=5).contains(&code), "{what}: exit {code}: {err}");
    assert!(!err.contains("panicked"), "{what}: {err}");
    assert_eq!(err.lines().count(), 1, "{what}: {err:?}");
    assert!(err.chars().count() <= 520, "{what}: {} chars", err.len());
    assert!(
        !err.trim_end().chars().any(|c| c.is_control()),
        "{what}: {err:?}"
    );
}

#[test]
fn hostile_arguments_get_a_contract_exit_code_and_one_bounded_line() {
    let h = home();
    let huge = "9".repeat(40);
    let long_db = format!("postgres://u@127.0.0.1:1/{}", "x".repeat(100_000));
    let cases: Vec<(Vec<std::ffi::OsString>, i32)> = vec![
        (os(&["audit", "list", "--since", "100000000d"]), 2),
        (os(&["audit", "list", "--since", "9999999999999999h"]), 2),
        (os(&["audit", "list", "--since", &format!("{huge}s")]), 2),
        (os(&["--pg", &long_db, "tenants", "list"]), 4),
        (
            os(&["--pg", DEAD_PG, "tenants", "list", "--after", "garbage"]),
            2,
        ),
        (
            os(&[
                "--pg",
                DEAD_PG,
                "tenants",
                "show",
                "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{202e}",
            ]),
            4,
        ),
        (
            os(&[
                "--pg",
                "host=127.0.0.1 port=1 keepalives_idle=99999999999",
                "tenants",
                "list",
            ]),
            2,
        ),
        (
            os(&[
                "--redis",
                "redis://127.0.0.1:1",
                "cache",
                "get",
                "\u{1b}[2J\\xZZ",
            ]),
            2,
        ),
        (
            os(&["--context", &"\u{7}".repeat(100_000), "tenants", "list"]),
            2,
        ),
        (
            os(&["--pg", DEAD_PG, "tenants", "list", "--limit", &huge]),
            2,
        ),
        (
            os(&[
                "--redis",
                "redis://127.0.0.1:1",
                "cache",
                "stats",
                "--sample-ms",
                "3600001",
            ]),
            2,
        ),
        (
            os(&[
                "--pg",
                DEAD_PG,
                "overview",
                "--sample-ms",
                &u64::MAX.to_string(),
            ]),
            2,
        ),
    ];
    for (args, want) in cases {
        let what = label(&args);
        let (code, err) = run_binary(h.path(), &args);
        assert_one_bounded_line(&what, code, &err);
        assert_eq!(code, want, "{what}: {err}");
    }
}

#[test]
fn command_line_errors_are_bounded_and_escaped_even_for_invalid_utf8() {
    use std::os::unix::ffi::OsStringExt;
    let h = home();
    let cases: Vec<Vec<std::ffi::OsString>> = vec![
        vec![
            "tenants".into(),
            "show".into(),
            std::ffi::OsString::from_vec(vec![0xff, 0xfe, b'x']),
        ],
        os(&["tenants", "list", "--limit", &"9".repeat(100_000)]),
        os(&["tenants", "list", "--output", "\u{1b}]0;pwned\u{7}"]),
        os(&["\u{1b}[2J", "--\u{202e}"]),
    ];
    for args in cases {
        let what = label(&args);
        let (code, err) = run_binary(h.path(), &args);
        assert_one_bounded_line(&what, code, &err);
        assert_eq!(code, 2, "{what}: {err}");
        assert!(err.starts_with("opsdeck: error: "), "{what}: {err}");
    }
}

/// `tenants list` with `text` as its config file: the exit code and stderr.
fn tenants_list_with_config(text: &str) -> (i32, String) {
    let h = home();
    let cfg = h.path().join("config.toml");
    std::fs::write(&cfg, text).unwrap();
    run_binary(
        h.path(),
        &[
            "--config".into(),
            cfg.into_os_string(),
            "tenants".into(),
            "list".into(),
        ],
    )
}

#[test]
fn a_ten_megabyte_dbname_gives_one_short_line() {
    let db = "x".repeat(10_000_000);
    let (code, err) = tenants_list_with_config(&format!(
        "[contexts.t]\npg = \"postgres://u@127.0.0.1:1/{db}\"\n"
    ));
    assert_one_bounded_line("10 MB dbname", code, &err);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains('…'), "{err}");
}

#[test]
fn out_of_range_timeouts_in_a_context_are_config_errors() {
    let (code, err) = tenants_list_with_config(&format!(
        "[contexts.t]\npg = \"{DEAD_PG}\"\nstatement_timeout_ms = 9223372036854775807\n"
    ));
    assert_one_bounded_line("timeout", code, &err);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("contexts.t.statement_timeout_ms")
            && err.contains("0 (no limit) to 2147483647"),
        "{err}"
    );
}

/// A tenants table whose second tenant's name would retitle the window and
/// clear the screen, and reverse the rest of the line, if a terminal obeyed it.
async fn hostile_tenants() -> (TestDb, tempfile::TempDir, std::path::PathBuf) {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE, name text, plan text,
                                   status text NOT NULL DEFAULT 'active', created_at timestamptz DEFAULT now());
             INSERT INTO tenants (id, slug, name, plan) VALUES
               (1, 'acme', 'Acme', 'pro'),
               (2, 'evil', E'\\x1b]0;pwned\\x07\\x1b[2J two\\nlines \\u202Egpj.exe', 'free'),
               (3, 'zed', 'Zed', 'pro');",
        )
        .await
        .unwrap();
    let h = home();
    let cfg = h.path().join("config.toml");
    std::fs::write(&cfg, format!("[contexts.t]\npg = \"{}\"\n", db.url)).unwrap();
    (db, h, cfg)
}

const EVIL: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J two\nlines \u{202e}gpj.exe";

#[tokio::test]
async fn tampered_cursors_are_usage_errors() {
    use base64::Engine;
    let (_db, h, cfg) = hostile_tenants().await;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let other_sort = Cursor {
        field: SortField::Slug,
        desc: false,
        key: Some("acme".into()),
        id: "1".into(),
    }
    .encode();
    let wrong_id = Cursor {
        field: SortField::Id,
        desc: false,
        key: None,
        id: "1 OR true".into(),
    }
    .encode();
    let good = Cursor {
        field: SortField::Id,
        desc: false,
        key: None,
        id: "1".into(),
    }
    .encode();
    for after in [
        "garbage".to_string(),
        good[..good.len() - 3].to_string(),
        b64("{\"f\":\"id\",\"d\":false"),
        b64("\u{0}\u{1}junk"),
        other_sort,
        wrong_id,
    ] {
        for output in ["table", "csv", "json"] {
            let out = opsdeck(h.path())
                .arg("--config")
                .arg(&cfg)
                .args(["--output", output, "tenants", "list", "--after", &after])
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_one_bounded_line(&after, out.status.code().unwrap_or(-1), &err);
            assert_eq!(out.status.code(), Some(2), "{after} ({output}): {err}");
        }
    }
    // The untampered cursor still continues the listing.
    let out = opsdeck(h.path())
        .arg("--config")
        .arg(&cfg)
        .args(["--output", "csv", "tenants", "list", "--after", &good])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\n3,zed,Zed,"));
}

#[tokio::test]
async fn csv_to_a_pipe_is_byte_exact() {
    let (_db, h, cfg) = hostile_tenants().await;
    let out = opsdeck(h.path())
        .arg("--config")
        .arg(&cfg)
        .args(["--output", "csv", "tenants", "list"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = csv::Reader::from_reader(out.stdout.as_slice());
    let names: Vec<String> = r.records().map(|rec| rec.unwrap()[2].to_string()).collect();
    assert_eq!(names, ["Acme", EVIL, "Zed"]);
}

#[tokio::test]
async fn csv_and_tables_on_a_terminal_show_data_escaped() {
    let (_db, h, cfg) = hostile_tenants().await;
    let cfg = cfg.display().to_string();
    for output in ["csv", "table"] {
        // --wide: on an 80-column pty the table would wrap the long name,
        // and this test is about escaping, one line per row.
        let mut t = common::pty::Tui::spawn(
            h.path(),
            &[
                "--config",
                &cfg,
                "--output",
                output,
                "--wide",
                "tenants",
                "list",
                "--no-sizes",
            ],
        );
        let (text, code, _) = t.finish();
        assert_eq!(code, 0, "{output}: {text}");
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{output}: {text:?}"
        );
        assert!(!text.contains('\u{202e}'), "{output}: {text:?}");
        assert!(
            text.contains("\\u{1b}]0;pwned\\u{7}\\u{1b}[2J two\\nlines \\u{202e}gpj.exe"),
            "{output}: {text:?}"
        );
        // Header and three rows, one line each (the pty turns \n into \r\n).
        let rows: Vec<&str> = text
            .split("\r\n")
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(rows.len(), 4, "{output}: {rows:?}");
    }
}

#[tokio::test]
async fn a_limit_past_bigint_means_every_row() {
    let (_db, h, cfg) = hostile_tenants().await;
    for output in ["csv", "json", "table"] {
        let out = opsdeck(h.path())
            .arg("--config")
            .arg(&cfg)
            .args(["--output", output, "tenants", "list", "--no-sizes"])
            .args(["--limit", &usize::MAX.to_string()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{output}: {err}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("zed"), "{output}: {text}");
    }
}

#[test]
fn nul_characters_in_the_config_are_refused_before_connecting() {
    let h = home();
    let cfg = h.path().join("config.toml");
    for (text, names) in [
        (
            "[contexts.t]\npg = \"host=127.0.0.1 port=1 dbname=a\\u0000b\"\n".to_string(),
            "\"dbname\" contains a NUL",
        ),
        (
            format!("[contexts.t]\npg = \"{DEAD_PG}\"\n[contexts.t.schema]\ntenants_table = \"x\\u0000\"\n"),
            "contexts.t.schema.tenants_table contains a NUL",
        ),
    ] {
        std::fs::write(&cfg, &text).unwrap();
        let (code, err) = run_binary(
            h.path(),
            &["--config".into(), cfg.clone().into_os_string(), "tenants".into(), "list".into()],
        );
        assert_one_bounded_line(&text, code, &err);
        assert_eq!(code, 2, "{text}: {err}");
        assert!(err.contains(names), "{err}");
    }
}

#[tokio::test]
async fn cache_keys_and_values_on_a_terminal_show_data_escaped() {
    let prefix = common::unique("hostile");
    let key = format!("{prefix}:evil\u{1b}]0;pwned\u{7}\u{202e}gpj");
    let mut conn = redis::Client::open(common::redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg("ok\rEVIL \u{202e}txt")
        .query_async(&mut conn)
        .await
        .unwrap();
    let h = home();
    let redis = common::redis_url();
    let pattern = format!("{prefix}:*");
    let shown_key = format!("{prefix}:evil\\x1b]0;pwned\\x07\\xe2\\x80\\xaegpj");
    let runs: [&[&str]; 4] = [
        &["cache", "keys", "--pattern", &pattern, "--output", "csv"],
        &["cache", "keys", "--pattern", &pattern],
        &["cache", "keys", "--pattern", &pattern, "--output", "json"],
        &["cache", "get", &shown_key],
    ];
    for args in runs {
        let mut all = vec!["--redis", redis.as_str()];
        all.extend_from_slice(args);
        let mut t = common::pty::Tui::spawn(h.path(), &all);
        let (text, code, _) = t.finish();
        assert_eq!(code, 0, "{args:?}: {text}");
        // JSON doubles the escapes' backslashes.
        let json_key = shown_key.replace('\\', "\\\\");
        assert!(
            text.contains(&shown_key) || text.contains(&json_key),
            "{args:?}: {text:?}"
        );
        assert!(
            !text
                .chars()
                .any(|c| c != '\r' && c != '\n' && opsdeck_hostile(c)),
            "{args:?}: {text:?}"
        );
        if args[1] == "get" {
            assert!(text.contains("ok\\rEVIL \\u{202e}txt"), "{text:?}");
        }
    }
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
}

fn opsdeck_hostile(c: char) -> bool {
    c.is_control() || opsdeck::cache::keyname::is_bidi(c)
}
