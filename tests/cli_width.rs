//! Table output fits the terminal: `COLUMNS` (stdout piped here) bounds every
//! line, `--wide` gives the cells whole, and JSON does not depend on either.

mod common;

use common::{home, opsdeck, redis_conn, redis_del, redis_set, redis_url, unique, TestDb};

fn run(h: &std::path::Path, columns: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = opsdeck(h)
        .env("COLUMNS", columns)
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        !stdout.is_empty(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), stdout)
}

/// Display columns of the widest line; every character here is one column wide.
fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

#[tokio::test]
async fn tenants_lint_fits_100_columns_and_wide_gives_full_fix_sql() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text, name text, status text);
             CREATE TABLE invoice_items (
                 id bigint, tenant_id bigint NOT NULL REFERENCES tenants(id), amount int);",
        )
        .await
        .unwrap();
    let h = home();
    let lint = |extra: &[&str]| {
        let mut args = vec!["--pg", db.url.as_str(), "tenants", "lint"];
        args.extend_from_slice(extra);
        args.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    let call = |columns: &str, extra: &[&str]| {
        let args = lint(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(h.path(), columns, &args)
    };

    let (code, json) = call("100", &["--output", "json"]);
    assert_eq!(code, Some(1), "findings are problems");
    let findings: serde_json::Value = serde_json::from_str(&json).unwrap();
    let fix_lines: Vec<String> = findings
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["fix_sql"].as_str().unwrap().lines().map(str::to_string))
        .collect();
    let kinds: Vec<&str> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"rls_disabled"), "{kinds:?}");
    assert!(kinds.contains(&"missing_tenant_index"), "{kinds:?}");
    assert!(
        fix_lines.iter().any(|l| l.chars().count() > 100),
        "the fixture has a fix line too long for 100 columns: {fix_lines:?}"
    );

    let (code, narrow) = call("100", &[]);
    assert_eq!(code, Some(1));
    assert!(widest(&narrow) <= 100, "{narrow}");
    // Identity columns stay whole; the long ones wrap.
    assert!(narrow.contains("public.invoice_items"), "{narrow}");
    assert!(narrow.contains("missing_tenant_index"), "{narrow}");
    assert!(
        fix_lines.iter().any(|l| !narrow.contains(l.as_str())),
        "something was wrapped: {narrow}"
    );

    let (code, wide) = call("100", &["--wide"]);
    assert_eq!(code, Some(1));
    assert!(widest(&wide) > 100, "{wide}");
    for l in &fix_lines {
        assert!(wide.contains(l.as_str()), "--wide lacks {l:?}: {wide}");
    }

    for (columns, extra) in [
        ("40", &["--output", "json"][..]),
        ("100", &["--wide", "--output", "json"]),
    ] {
        assert_eq!(
            call(columns, extra).1,
            json,
            "JSON at {columns} columns {extra:?}"
        );
    }
}

#[tokio::test]
async fn cache_invalidate_dry_run_fits_100_columns() {
    let prefix = unique("cliwidth");
    let mut conn = redis_conn().await;
    let keys: Vec<String> = (0..12)
        .map(|i| {
            // Longer than 100 columns: one sample key a line still wraps.
            format!(
                "{prefix}:tenant:Zürich-{i}:profile:settings:rendered:{}",
                "v".repeat(60)
            )
        })
        .collect();
    for k in &keys {
        redis_set(&mut conn, k, "x", 120).await;
    }
    let h = home();
    let pattern = format!("{prefix}:*");
    let redis = redis_url();
    let base = [
        "--redis",
        redis.as_str(),
        "cache",
        "invalidate",
        "--pattern",
        pattern.as_str(),
        "--dry-run",
    ];
    let call = |columns: &str, extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        run(h.path(), columns, &args)
    };

    let (code, narrow) = call("100", &[]);
    let (_, wide) = call("100", &["--wide"]);
    let (_, json) = call("100", &["--output", "json"]);
    let (_, json_narrow) = call("30", &["--output", "json"]);
    let (_, json_wide) = call("100", &["--wide", "--output", "json"]);
    redis_del(&mut conn, &keys).await;

    assert_eq!(code, Some(0));
    assert!(widest(&narrow) <= 100, "{narrow}");
    // Bytes would overcount: the keys hold multi-byte characters.
    assert!(
        narrow.lines().any(|l| l.len() > l.chars().count()),
        "{narrow}"
    );
    assert!(narrow.contains("matched"), "{narrow}");
    assert!(widest(&wide) > 100, "{wide}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["matched"], 12, "{json}");
    let sample = v["sample"].as_array().unwrap();
    assert!(!sample.is_empty());
    for k in sample {
        assert!(
            wide.contains(k.as_str().unwrap()),
            "--wide lacks {k}: {wide}"
        );
    }
    assert_eq!(json_narrow, json);
    assert_eq!(json_wide, json);
}

#[tokio::test]
async fn tenants_list_chunks_fit_and_line_up() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text, name text, plan text,
                                   status text, created_at timestamptz DEFAULT now());
             INSERT INTO tenants (id, slug, name, plan, status)
             SELECT g, 'slug-' || g, 'Tenant ' || g || ' of a rather long company name',
                    'pro', 'active'
             FROM generate_series(1000, 2199) g;",
        )
        .await
        .unwrap();
    let h = home();
    // More rows than one chunk of table output (500); values of one width,
    // so the later chunks have no wider value to move a column.
    let (code, table) = run(
        h.path(),
        "70",
        &[
            "--pg",
            &db.url,
            "tenants",
            "list",
            "--limit",
            "1100",
            "--no-sizes",
        ],
    );
    assert_eq!(code, Some(0));
    assert!(widest(&table) <= 70, "{table}");
    let header = table.lines().next().unwrap();
    let slug_at = header.find("SLUG").unwrap();
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("slug-")).collect();
    assert_eq!(rows.len(), 1100, "one line with the slug per tenant");
    for l in &rows {
        assert_eq!(
            l.find("slug-"),
            Some(slug_at),
            "aligned with the header: {l:?}"
        );
    }
}

#[tokio::test]
async fn doctor_stats_audit_get_and_key_sizes_fit_100_columns() {
    let db = TestDb::with(
        "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text, name text, status text);
          CREATE TABLE invoice_items (id bigint, tenant_id bigint REFERENCES tenants(id));",
    )
    .await;
    let prefix = unique("cliwidth_more");
    let long_key = format!("{prefix}:{}", "segment:".repeat(30));
    let text_key = format!("{prefix}:text");
    let mut conn = redis_conn().await;
    let long_line = format!("{} end", "word ".repeat(80));
    redis_set(&mut conn, &long_key, "x", 600).await;
    redis_set(&mut conn, &text_key, &long_line, 600).await;
    let h = home();
    let redis = redis_url();
    let pattern = format!("{prefix}:*");
    let with = |args: &[&str]| {
        let mut all = vec!["--pg", db.url.as_str(), "--redis", redis.as_str()];
        all.extend_from_slice(args);
        all.iter().map(|a| a.to_string()).collect::<Vec<_>>()
    };
    // An audited change, so that audit list has a row with a detail.
    let del = with(&["--yes", "cache", "del", &format!("{prefix}:gone")]);
    let del: Vec<&str> = del.iter().map(String::as_str).collect();
    run(h.path(), "100", &del);
    for args in [
        &["doctor"][..],
        &["cache", "stats", "--sample-ms", "0"],
        &["audit", "list"],
        &["cache", "get", &text_key],
        &["cache", "get", &long_key],
        &["cache", "keys", "--sizes", "--pattern", &pattern],
    ] {
        let all = with(args);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let (_, out) = run(h.path(), "100", &all);
        assert!(widest(&out) <= 100, "{args:?}: {out}");
        if args[0] == "cache" && args[1] == "get" && args[2] == text_key {
            let joined: String = out.lines().skip_while(|l| !l.is_empty()).collect();
            assert!(joined.contains(&long_line), "wrapped, not cut: {out}");
        }
        if args.contains(&"--sizes") {
            assert!(out.contains('…'), "the long key is cut to the width: {out}");
            let (_, wide) = run(h.path(), "100", &[&all[..], &["--wide"]].concat());
            assert!(wide.contains(&long_key), "--wide gives it whole: {wide}");
        }
    }
    redis_del(&mut conn, &[&long_key, &text_key]).await;
}
