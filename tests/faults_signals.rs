//! Fault matrix, signals to long reads: SIGINT, SIGTERM and SIGHUP to
//! `tenants list` streaming a 1,000,000-row table (CSV, JSON, table) and to
//! `cache keys` over 300,000 keys stop between rows: exit 128+n, one line
//! saying the output is incomplete, and what was written is whole rows.
//! (Changes under signals: tests/interrupt.rs for suspend, tests/cache_cli.rs
//! for invalidate; the console: tests/faults_tui.rs.)

mod common;
mod faults_support;

use faults_support::{read_around, System};
use opsdeck::sandbox::RedisSandbox;

const SIGNALS: [(&str, i32, &str); 3] = [
    ("INT", 2, "interrupted"),
    ("TERM", 15, "terminated"),
    ("HUP", 1, "hangup"),
];

/// Runs opsdeck with `args`, reads 64 KiB of its stdout, sends `sig`, then
/// reads the rest: (exit code, stdout, stderr).
fn signalled(home: &std::path::Path, args: &[&str], sig: &str) -> (Option<i32>, Vec<u8>, String) {
    read_around(home, args, 64 * 1024, |pid| common::kill(pid, sig))
}

/// Exit 128+n, the last stderr line says the listing stopped, the output
/// ends on a whole line (a JSON array's elements end at their `}`, the
/// newline comes with the next); returns its lines.
fn stopped(
    what: &str,
    (code, out, err): (Option<i32>, Vec<u8>, String),
    n: i32,
    name: &str,
) -> Vec<String> {
    assert_eq!(code, Some(128 + n), "{what}: {err}");
    let last = err.trim_end().lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!("opsdeck: {name}: stopped;")) && last.contains("not the whole"),
        "{what}: {err}"
    );
    let end = if what == "json" {
        &b"}"[..]
    } else {
        &b"\n"[..]
    };
    assert!(
        out.ends_with(end),
        "{what}: ends on a whole line: {:?}",
        &out[out.len() - 40..]
    );
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

/// CSV rows all have the header's number of fields; fewer than `all`.
fn whole_csv(what: &str, lines: &[String], all: usize) {
    let text = lines.join("\n") + "\n";
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let fields = r.headers().unwrap().len();
    let n = r
        .records()
        .map(|rec| assert_eq!(rec.unwrap().len(), fields, "{what}"))
        .count();
    assert!(n > 0 && n < all, "{what}: {n} rows");
}

/// A JSON array cut after whole elements: `[`, then one object a line.
fn whole_json(what: &str, lines: &[String], all: usize) {
    assert_eq!(lines[0], "[", "{what}");
    for l in &lines[1..] {
        let v: serde_json::Value = serde_json::from_str(l.trim().trim_end_matches(','))
            .unwrap_or_else(|e| panic!("{what}: {e}: {l}"));
        assert!(v.is_object(), "{what}: {l}");
    }
    assert!(lines.len() - 1 < all, "{what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_stop_a_streaming_tenants_list_between_rows() {
    const ROWS: usize = 1_000_000;
    let s = System::start("", "").await;
    s.client()
        .await
        .batch_execute(&format!(
            "INSERT INTO billing.orgs SELECT g, 'org-' || g, 'Org ' || g, 'on'
             FROM generate_series(100, {}) g",
            ROWS + 97
        ))
        .await
        .unwrap();
    for (sig, n, name) in SIGNALS {
        let csv = signalled(s.home(), &["tenants", "list", "--output", "csv"], sig);
        whole_csv(
            &format!("csv SIG{sig}"),
            &stopped("csv", csv, n, name),
            ROWS,
        );
        let json = signalled(s.home(), &["tenants", "list", "--output", "json"], sig);
        whole_json(
            &format!("json SIG{sig}"),
            &stopped("json", json, n, name),
            ROWS,
        );
        let table = signalled(s.home(), &["tenants", "list", "--limit", "1000000"], sig);
        let lines = stopped("table", table, n, name);
        assert!(lines.len() < ROWS, "table SIG{sig}");
    }
    assert_eq!(s.state_of(7).await, "on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signals_stop_cache_keys_between_keys() {
    const KEYS: usize = 300_000;
    let sb = RedisSandbox::start().await.unwrap();
    let mut c = redis::Client::open(sb.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        pipe.cmd("SET").arg(format!("big:{i}")).arg("v").ignore();
        if i % 20_000 == 19_999 {
            pipe.query_async::<()>(&mut c).await.unwrap();
            pipe = redis::pipe();
        }
    }
    let h = common::home();
    let url = sb.url();
    for (sig, n, name) in SIGNALS {
        let keys = [
            "--redis",
            &url,
            "cache",
            "keys",
            "--pattern",
            "big:*",
            "--limit",
            "1000000",
        ];
        let lines = stopped("lines", signalled(h.path(), &keys, sig), n, name);
        assert!(
            lines.len() < KEYS && lines.iter().all(|k| k.starts_with("big:")),
            "SIG{sig}"
        );
        let mut csv = keys.to_vec();
        csv.extend(["--output", "csv"]);
        whole_csv(
            &format!("csv SIG{sig}"),
            &stopped("csv", signalled(h.path(), &csv, sig), n, name),
            KEYS,
        );
        let mut json = keys.to_vec();
        json.extend(["--output", "json"]);
        let lines = stopped("json", signalled(h.path(), &json, sig), n, name);
        whole_json(&format!("json SIG{sig}"), &lines, KEYS);
    }
    let left: u64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
    assert_eq!(left, KEYS as u64, "a read deleted nothing");
}
