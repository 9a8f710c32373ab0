//! What the CLI prints: results as records with columns in meaning order,
//! human units in tables and raw numbers in CSV/JSON, JSON from every
//! command (escaped so a terminal shows it as it is), help that keeps the
//! global options apart, `cache get` bounded, and one form of narration.

mod common;

use common::{home, opsdeck, redis_conn, redis_del, redis_set, redis_url, unique, TestDb};
use serde_json::Value;

/// Runs opsdeck at 100 columns; returns (exit code, stdout, stderr).
fn run(h: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = opsdeck(h)
        .env("COLUMNS", "100")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn results_are_records_with_columns_in_meaning_order() {
    let prefix = unique("cliout_rec");
    let mut conn = redis_conn().await;
    for i in 0..5 {
        redis_set(&mut conn, &format!("{prefix}:k{i}"), "v", 600).await;
    }
    let h = home();
    let r = redis_url();
    let pattern = format!("{prefix}:*");
    let (code, out, err) = run(
        h.path(),
        &[
            "--redis",
            &r,
            "--output",
            "csv",
            "cache",
            "invalidate",
            "--pattern",
            &pattern,
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 2, "a header and one record: {out}");
    assert_eq!(
        rows[0],
        [
            "by",
            "target",
            "pattern",
            "tag_key",
            "tenant_id",
            "dry_run",
            "matched",
            "sample"
        ]
    );
    assert_eq!(
        &rows[1][..3],
        ["pattern", pattern.as_str(), pattern.as_str()]
    );
    assert_eq!(rows[1][6], "5");
    let sample: Vec<&str> = rows[1][7].lines().collect();
    assert_eq!(sample.len(), 5, "{out}");
    assert!(sample.iter().all(|k| k.starts_with(&prefix)), "{out}");

    let (code, out, err) = run(
        h.path(),
        &[
            "--redis",
            &r,
            "--output",
            "csv",
            "cache",
            "stats",
            "--sample-ms",
            "0",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let rows = csv_rows(&out);
    assert_eq!(
        &rows[0][..4],
        ["node", "role", "redis_version", "uptime_ms"]
    );
    assert_eq!(rows.len(), 2, "one record per node: {out}");
    assert!(
        rows[1]
            .iter()
            .all(|c| !c.starts_with('{') && !c.starts_with('[')),
        "no JSON in cells: {out}"
    );
    let used = rows[0]
        .iter()
        .position(|c| c == "used_memory_bytes")
        .unwrap();
    assert!(
        rows[1][used].parse::<u64>().unwrap() > 0,
        "raw bytes: {out}"
    );

    let key = format!("{prefix}:k0");
    let (code, out, err) = run(
        h.path(),
        &[
            "--redis", &r, "--yes", "--output", "csv", "cache", "del", &key,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(csv_rows(&out), [["requested", "deleted"], ["1", "1"]]);

    let (code, out, _) = run(
        h.path(),
        &[
            "--redis",
            &r,
            "cache",
            "invalidate",
            "--pattern",
            &pattern,
            "--dry-run",
        ],
    );
    assert_eq!(code, 0);
    let firsts: Vec<&str> = out
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let at = |f: &str| firsts.iter().position(|x| *x == f).unwrap_or(usize::MAX);
    assert!(
        at("by") < at("matched") && at("matched") < at("sample"),
        "{out}"
    );
    redis_del(
        &mut conn,
        &(1..5).map(|i| format!("{prefix}:k{i}")).collect::<Vec<_>>(),
    )
    .await;
}

#[tokio::test]
async fn tables_show_ttls_human_and_csv_keeps_milliseconds() {
    let key = unique("cliout_ttl");
    let mut conn = redis_conn().await;
    // 6.3 hours.
    redis_set(&mut conn, &key, "plain text", 22_680).await;
    let h = home();
    let r = redis_url();
    let (code, table, err) = run(h.path(), &["--redis", &r, "cache", "get", &key]);
    assert_eq!(code, 0, "{err}");
    assert!(table.lines().any(|l| l == "ttl:      6.3 h"), "{table}");
    let (_, csv, _) = run(
        h.path(),
        &["--redis", &r, "--output", "csv", "cache", "get", &key],
    );
    let rows = csv_rows(&csv);
    let ttl = rows[0].iter().position(|c| c == "ttl_ms").unwrap();
    let ms: u64 = rows[1][ttl].parse().unwrap();
    assert!((22_600_000..=22_680_000).contains(&ms), "{csv}");
    let (_, keys, _) = run(
        h.path(),
        &["--redis", &r, "cache", "keys", "--sizes", "--pattern", &key],
    );
    assert!(keys.lines().next().unwrap().contains("TTL"), "{keys}");
    assert!(
        keys.lines()
            .any(|l| l.contains("6.3 h") && l.ends_with(&key)),
        "{keys}"
    );
    redis_del(&mut conn, &[&key]).await;
}

#[tokio::test]
async fn every_command_prints_json_with_hostile_text_escaped() {
    let db = TestDb::with(
        "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text, name text, plan text,
                                status text, created_at timestamptz DEFAULT now());
          INSERT INTO tenants (id, slug, name, plan, status)
          VALUES (1, 'evil', E'gpj\\u202e.exe \\u009b2J', 'pro', 'active');",
    )
    .await;
    let h = home();
    let r = redis_url();
    let json = |args: &[&str]| {
        let mut all = vec![
            "--pg",
            db.url.as_str(),
            "--redis",
            r.as_str(),
            "--output",
            "json",
        ];
        all.extend_from_slice(args);
        let (code, out, err) = run(h.path(), &all);
        let v: Value = serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("{args:?} (exit {code}): {e}: {out:?} {err}"));
        (code, out, v)
    };
    let (code, _, init) = json(&["--yes", "init"]);
    assert_eq!(code, 0);
    assert_eq!(init["schema"], "opsdeck");
    assert_eq!(init["ready"], true);
    assert!(json(&["doctor"]).2.is_array());
    assert!(json(&["overview", "--sample-ms", "0"]).2["figures"].is_array());
    assert!(json(&["cache", "stats", "--sample-ms", "0"]).2["totals"]["keys"].is_u64());
    assert!(json(&["tenants", "lint"]).2.is_array());
    assert!(json(&["audit", "list"]).2.is_array());

    for args in [&["tenants", "list"][..], &["tenants", "show", "evil"]] {
        let (code, out, v) = json(args);
        assert_eq!(code, 0, "{args:?}");
        assert!(
            !out.chars().any(|c| c == '\u{202e}' || c == '\u{9b}'),
            "{args:?}: raw bidi/C1 on stdout: {out:?}"
        );
        assert!(out.contains(r"gpj\u202e.exe \u009b2J"), "{args:?}: {out}");
        let name = if v.is_array() {
            &v[0]["name"]
        } else {
            &v["name"]
        };
        assert_eq!(
            name, "gpj\u{202e}.exe \u{9b}2J",
            "{args:?}: the same text once parsed"
        );
    }
}

#[test]
fn subcommand_help_lists_its_own_options_apart_from_global_ones() {
    let h = home();
    for args in [
        &["tenants", "list", "--help"][..],
        &["cache", "invalidate", "--help"],
    ] {
        let (code, out, _) = run(h.path(), args);
        assert_eq!(code, 0);
        let (own, global) = out
            .split_once("Global options:")
            .unwrap_or_else(|| panic!("{args:?}: no Global options heading: {out}"));
        let own = own.split_once("Options:").map_or("", |(_, o)| o);
        let own_flag = if args[0] == "tenants" {
            "--status"
        } else {
            "--dry-run"
        };
        assert!(own.contains(own_flag), "{args:?}: {out}");
        for g in ["--pg", "--redis", "--output", "--wide", "--yes"] {
            assert!(
                global.contains(g),
                "{args:?}: {g} under Global options: {out}"
            );
            assert!(
                !own.contains(g),
                "{args:?}: {g} among the command's own: {out}"
            );
        }
    }
}

#[tokio::test]
async fn cache_get_pretty_prints_json_up_to_a_bound_and_says_what_was_cut() {
    let whole = unique("cliout_json");
    let cut = unique("cliout_bigjson");
    let items = |n: usize| {
        Value::Array(
            (0..n)
                .map(|i| serde_json::json!({"id": i, "name": format!("n{i}")}))
                .collect(),
        )
    };
    let mut conn = redis_conn().await;
    redis_set(&mut conn, &whole, &items(1000).to_string(), 600).await;
    let big = items(4000).to_string();
    assert!(big.len() > 64 * 1024, "past what cache get reads");
    redis_set(&mut conn, &cut, &big, 600).await;
    let h = home();
    let r = redis_url();

    let (code, out, err) = run(h.path(), &["--redis", &r, "cache", "get", &whole]);
    assert_eq!(code, 0, "{err}");
    let total = serde_json::to_string_pretty(&items(1000))
        .unwrap()
        .lines()
        .count();
    assert!(out.contains("format:   json\n"), "{out}");
    assert!(
        out.contains(&format!("shown:    first 200 of {total} lines")),
        "{}",
        &out[..600]
    );
    assert!(
        out.ends_with(&format!("… {} more lines\n", total - 200)),
        "{}",
        &out[out.len() - 200..]
    );
    assert!(
        out.lines().count() < 220,
        "bounded: {} lines",
        out.lines().count()
    );
    assert!(
        out.contains("\n[\n  {\n    \"id\": 0,\n"),
        "indented: {}",
        &out[..600]
    );
    let (_, json, _) = run(
        h.path(),
        &["--redis", &r, "--output", "json", "cache", "get", &whole],
    );
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["value"].as_array().unwrap().len(),
        1000,
        "JSON has it whole"
    );

    let (code, out, err) = run(h.path(), &["--redis", &r, "cache", "get", &cut]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("format:   json (cut off)\n"),
        "{}",
        &out[..600]
    );
    assert!(
        out.contains("read:     first 64.0 KiB of "),
        "{}",
        &out[..600]
    );
    assert!(
        out.contains("\n[\n  {\n    \"id\": 0,\n"),
        "indented though cut: {}",
        &out[..600]
    );
    assert!(
        out.lines().count() < 220,
        "bounded: {} lines",
        out.lines().count()
    );
    redis_del(&mut conn, &[&whole, &cut]).await;
}

#[tokio::test]
async fn a_cursor_with_a_junk_sort_key_is_a_usage_error() {
    let db = TestDb::with(
        "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text, name text, plan text,
                                status text, created_at timestamptz NOT NULL DEFAULT now());
          INSERT INTO tenants VALUES (1, 'a', 'A', 'pro', 'active', now());",
    )
    .await;
    use base64::Engine;
    let junk = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(r#"{"f":"created_at","d":false,"k":"not a time","i":"1"}"#);
    let h = home();
    for output in ["table", "csv", "json"] {
        let (code, out, err) = run(
            h.path(),
            &[
                "--pg",
                &db.url,
                "--output",
                output,
                "tenants",
                "list",
                "--sort",
                "created_at",
                "--after",
                &junk,
            ],
        );
        assert_eq!(code, 2, "{output}: {err}");
        assert!(
            err.starts_with("opsdeck: error: invalid cursor"),
            "{output}: {err}"
        );
        assert!(!out.contains("\"id\""), "{output}: {out}");
    }
}

#[test]
fn audit_list_reads_a_long_local_log_bounded_newest_first() {
    let h = home();
    std::fs::create_dir_all(h.path().join("data")).unwrap();
    let start = chrono::Utc::now() - chrono::Duration::hours(2);
    let mut text = String::new();
    for i in 0..10_050 {
        let rec = serde_json::json!({
            "op_id": format!("op-{i:05}"),
            "ts": (start + chrono::Duration::milliseconds(i * 10)).to_rfc3339(),
            "phase": "end", "actor": "ops@host", "db_role": null, "context": "default",
            "action": "cache.del", "target": "k", "params": null, "outcome": "ok",
            "detail": {"deleted": 1}, "duration_ms": 5,
        });
        text.push_str(&rec.to_string());
        text.push('\n');
    }
    std::fs::write(h.path().join("data/audit.jsonl"), text).unwrap();
    let (code, out, err) = run(h.path(), &["--output", "json", "audit", "list"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let entries = v.as_array().unwrap();
    assert_eq!(entries.len(), 10_000, "the newest records only");
    assert_eq!(entries[0]["op_id"], "op-10049", "newest first");
    assert_eq!(entries[9_999]["op_id"], "op-00050");
    assert!(
        err.lines()
            .any(|l| l.starts_with("opsdeck: warning: ") && l.contains("--since")),
        "{err}"
    );
    let (_, table, _) = run(h.path(), &["audit", "list", "--since", "3h"]);
    assert!(
        table.lines().nth(1).is_some_and(|l| l.contains(" 5 ms ")),
        "{table}"
    );
}

#[tokio::test]
async fn narration_lines_share_one_form() {
    let db = TestDb::with(
        "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text, name text, status text);
          CREATE TABLE notes (id bigint, tenant_id bigint REFERENCES tenants(id));",
    )
    .await;
    let h = home();
    // A directory cannot be opened as the log file.
    let log = h.path().to_path_buf();
    let (code, _, err) = run(
        h.path(),
        &[
            "--pg",
            &db.url,
            "--log-file",
            log.to_str().unwrap(),
            "tenants",
            "lint",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("opsdeck: warning: cannot open log file"),
        "{err}"
    );
    assert!(
        err.lines()
            .any(|l| l.starts_with("opsdeck: ") && l.ends_with("tenancy finding(s)")),
        "{err}"
    );
    for l in err.lines() {
        let rest = l
            .strip_prefix("opsdeck: ")
            .unwrap_or_else(|| panic!("{l:?} in {err}"));
        assert!(!rest.starts_with(' ') && !rest.is_empty(), "{l:?}");
    }
}

#[test]
fn demo_no_tui_prints_its_settings_as_json() {
    use std::io::BufRead;
    let h = home();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("opsdeck"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OPSDECK_HOME", h.path())
        .args(["demo", "--no-tui", "--scale", "tiny", "--output", "json"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut doc = String::new();
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        doc.push_str(&line);
        doc.push('\n');
        if line == "}" {
            break;
        }
    }
    let stopped = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let v: Value = serde_json::from_str(&doc).unwrap_or_else(|e| panic!("{e}: {doc}"));
    assert!(
        v["pg_url"].as_str().unwrap().starts_with("postgres"),
        "{doc}"
    );
    assert!(
        v["redis_url"].as_str().unwrap().starts_with("redis://"),
        "{doc}"
    );
    assert!(stopped.success() && status.success(), "{status:?}");
}
