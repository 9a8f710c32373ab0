//! A whole-table export must not be cut off by the context's interactive
//! statement_timeout.

mod common;

use common::{home, opsdeck, TestDb};

#[tokio::test]
async fn export_outlives_the_interactive_statement_timeout() {
    let db = TestDb::new().await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE, name text, plan text,
                               status text NOT NULL DEFAULT 'active', created_at timestamptz DEFAULT now());
         INSERT INTO tenants (id, slug, name, plan)
           SELECT g, 'tenant-' || g, repeat('n', 200) || g, 'pro' FROM generate_series(1, 400000) g;
         ANALYZE tenants;",
    )
    .await
    .unwrap();
    let h = home();
    let cfg = h.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[contexts.t]\npg = \"{}\"\nstatement_timeout_ms = 150\n",
            db.url
        ),
    )
    .unwrap();
    let slow: f64 = c
        .query_one(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM tenants ORDER BY id",
            &[],
        )
        .await
        .map(|r| {
            r.get::<_, serde_json::Value>(0)[0]["Execution Time"]
                .as_f64()
                .unwrap_or(0.0)
        })
        .unwrap();
    let out = opsdeck(h.path())
        .args(["--config"])
        .arg(&cfg)
        .args(["tenants", "list", "--output", "csv"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = out.stdout.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        lines, 400_001,
        "header plus every row (the plain scan takes {slow:.0} ms)"
    );
}

/// Runs the built binary with stdout drained through a pipe and returns its
/// stdout, stderr and peak RSS in KiB. The peak is the child's own VmHWM,
/// sampled until it exits: wait4's ru_maxrss would also count the pages a
/// forked child shares with this (large) test process before exec.
fn run_measured(home: &std::path::Path, args: &[&str]) -> (Vec<u8>, String, u64) {
    use std::io::Read;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_opsdeck"));
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd
        .env("OPSDECK_HOME", home)
        // Table rows are counted as lines: wide enough that none wraps.
        .env("COLUMNS", "200")
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        stdout.read_to_end(&mut v).unwrap();
        v
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        stderr.read_to_string(&mut s).unwrap();
        s
    });
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0;
    let status = loop {
        if let Some(kib) = std::fs::read_to_string(&status_file).ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        }) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    let (out, err) = (out.join().unwrap(), err.join().unwrap());
    assert!(status.success(), "{args:?}: {err}");
    assert!(peak_kib > 0, "VmHWM was never read for {args:?}");
    (out, err, peak_kib)
}

/// The first `n` lines of `bytes`, newlines included.
fn head(bytes: &[u8], n: usize) -> &[u8] {
    let end = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .nth(n - 1)
        .map_or(bytes.len(), |(i, _)| i + 1);
    &bytes[..end]
}

fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count()
}

fn cursor(stderr: &str) -> String {
    stderr
        .split("--after ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no next-page cursor on stderr: {stderr}"))
        .to_string()
}

#[tokio::test]
async fn limits_and_cursors_stream_in_bounded_memory() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text NOT NULL UNIQUE, name text, plan text,
                                   status text NOT NULL DEFAULT 'active', created_at timestamptz NOT NULL);
             INSERT INTO tenants SELECT g, 'tenant-' || g,
                    'Tenant ' || g || CASE WHEN g % 1000 = 0 THEN E' \"O''Brien\",\\nLtd' ELSE '' END,
                    'pro', 'active', timestamptz '2020-01-01 00:00:00+00' + g * interval '1 minute'
             FROM generate_series(1, 200000) g;
             ANALYZE tenants;",
        )
        .await
        .unwrap();
    let h = home();
    let base = ["--pg", db.url.as_str(), "tenants", "list"];
    let with = |extra: &[&str]| -> Vec<String> {
        base.iter()
            .chain(extra)
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let args = with(extra);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run_measured(h.path(), &refs)
    };
    let (all, _, _) = run(&["--output", "csv", "--sort", "slug"]);
    assert_eq!(
        lines(&all),
        200_000 + 1 + 200,
        "header, rows, and 200 quoted newlines"
    );

    // --limit is the unlimited stream's prefix (records, not lines: names
    // with newlines are quoted), with a cursor, in bounded memory.
    let (limited, err, rss_kib) = run(&["--output", "csv", "--sort", "slug", "--limit", "150000"]);
    let mut r = csv::Reader::from_reader(limited.as_slice());
    assert_eq!(r.records().count(), 150_000);
    assert_eq!(
        limited.as_slice(),
        &all[..limited.len()],
        "a prefix of the whole stream"
    );
    assert!(
        rss_kib < 60 * 1024,
        "--limit 150000 peaked at {} MiB",
        rss_kib / 1024
    );
    // --after without --limit streams the rest: together they are the whole.
    let (rest, err2, _) = run(&[
        "--output",
        "csv",
        "--sort",
        "slug",
        "--after",
        &cursor(&err),
    ]);
    assert!(
        !err2.contains("--after "),
        "nothing follows the rest: {err2}"
    );
    let header = head(&all, 1);
    assert!(rest.starts_with(header));
    assert_eq!(
        [limited.as_slice(), &rest[header.len()..]].concat(),
        all,
        "limit then after gives every row once, in order"
    );

    // Default order: byte-identical to the first 150,001 lines of the whole stream.
    let (by_id, _, _) = run(&["--output", "csv"]);
    let (limited, _, _) = run(&["--output", "csv", "--limit", "1500"]);
    let records = 1500 + 1 + 1; // header, rows, the one quoted newline (id 1000)
    assert_eq!(limited.as_slice(), head(&by_id, records));

    // JSON with --limit: a valid array of exactly N, and its cursor continues.
    let (json, err, rss_kib) = run(&["--output", "json", "--limit", "150000"]);
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 150_000);
    assert_eq!(arr[149_999]["id"], "150000");
    assert!(rss_kib < 60 * 1024, "JSON peaked at {} MiB", rss_kib / 1024);
    let (rest, err, _) = run(&["--output", "json", "--after", &cursor(&err)]);
    let v: serde_json::Value = serde_json::from_slice(&rest).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 50_000, "{err}");
    assert_eq!(v[0]["id"], "150001");
    // A limit that covers the table prints no cursor.
    let (json, err, _) = run(&["--output", "json", "--limit", "200000"]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&json)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        200_000
    );
    assert!(!err.contains("--after"), "{err}");

    // Table output with a large limit prints in chunks, also bounded.
    let (table, err, rss_kib) = run(&["--limit", "20000", "--no-sizes"]);
    assert_eq!(
        lines(&table),
        20_000 + 1,
        "the header once, then every row on one line (20 names hold a line break)"
    );
    assert_eq!(
        String::from_utf8_lossy(&table).matches("\\n").count(),
        20,
        "the names' line breaks are shown as \\n"
    );
    assert!(cursor(&err).len() > 1);
    assert!(
        rss_kib < 60 * 1024,
        "table peaked at {} MiB",
        rss_kib / 1024
    );
}
