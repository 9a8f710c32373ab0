//! `indexes create NAME` with the built binary on a cluster of its own
//! (pg_stat_statements preloaded): a suggestion built CONCURRENTLY and
//! audited; a build stopped by SIGINT while it waits for a writer is
//! cancelled on the server, its invalid leftover dropped, its end record
//! written and the exit 130; refusals behind a transaction pooler, in a
//! read-only context and for a name that is not a suggestion.

mod common;

use common::pg::client;
use common::{home, kill, opsdeck, spawn, unique, write_config};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use serde_json::Value;
use std::io::Read;
use std::time::{Duration, Instant};

const NAME: &str = "items_sku_idx";

async fn scenario(sb: &PgSandbox) -> String {
    let db = unique("advcreate");
    sb.create_database(&db).await.unwrap();
    let c = client(&sb.url_for(&db)).await;
    c.batch_execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, sku text NOT NULL, qty int NOT NULL);
         INSERT INTO items SELECT g, 'sku-' || g, g % 100 FROM generate_series(1, 200000) g;
         ANALYZE items;",
    )
    .await
    .unwrap();
    let st = c
        .prepare("SELECT id, qty FROM items WHERE sku = $1")
        .await
        .unwrap();
    for i in 0..5 {
        c.query(&st, &[&format!("sku-{}", i * 7)]).await.unwrap();
    }
    db
}

fn config(h: &std::path::Path, url: &str, extra: &str) {
    write_config(
        h,
        &format!("default_context = \"t\"\n[contexts.t]\npg = \"{url}\"\n{extra}\n"),
    );
}

fn audit(h: &std::path::Path) -> Vec<Value> {
    let out = opsdeck(h)
        .args(["audit", "list", "--output", "json"])
        .output()
        .unwrap();
    match serde_json::from_slice(&out.stdout).unwrap() {
        Value::Array(a) => a,
        other => panic!("audit list: {other}"),
    }
}

async fn index_state(sb: &PgSandbox, db: &str) -> Option<bool> {
    let c = client(&sb.url_for(db)).await;
    c.query_opt(
        "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass($1)",
        &[&format!("public.{NAME}")],
    )
    .await
    .unwrap()
    .map(|r| r.get(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_through_the_safety_layer() {
    let sb = PgSandbox::start(
        PgOptions::default().setting("shared_preload_libraries", "pg_stat_statements"),
    )
    .await
    .expect("sandbox");
    refusals(&sb).await;
    builds(&sb).await;
    interrupted(&sb).await;
}

async fn refusals(sb: &PgSandbox) {
    let db = scenario(sb).await;
    let h = home();
    config(h.path(), &sb.url_for(&db), "pooler = \"transaction\"");
    let out = opsdeck(h.path())
        .args(["indexes", "create", NAME, "--yes", "--min-calls", "3"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains("transaction pooler") && err.contains("directly"),
        "{err}"
    );

    let h = home();
    config(h.path(), &sb.url_for(&db), "read_only = true");
    let out = opsdeck(h.path())
        .args(["indexes", "create", NAME, "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let h = home();
    config(h.path(), &sb.url_for(&db), "");
    let out = opsdeck(h.path())
        .args([
            "indexes",
            "create",
            "no_such_idx",
            "--yes",
            "--min-calls",
            "3",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("opsdeck indexes suggest"), "{err}");
    // Without --yes and without a terminal nothing is built.
    let out = opsdeck(h.path())
        .args(["indexes", "create", NAME, "--min-calls", "3"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(index_state(sb, &db).await, None);
}

async fn builds(sb: &PgSandbox) {
    let db = scenario(sb).await;
    let h = home();
    config(h.path(), &sb.url_for(&db), "");
    let out = opsdeck(h.path())
        .args(["indexes", "suggest", "--min-calls", "3", "--output", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v[0]["name"], NAME, "{v:#}");
    let out = opsdeck(h.path())
        .args([
            "indexes",
            "create",
            NAME,
            "--yes",
            "--min-calls",
            "3",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let done: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(done["index"], format!("public.{NAME}"));
    assert!(done["size_bytes"].as_i64().unwrap() > 0, "{done}");
    assert_eq!(index_state(sb, &db).await, Some(true));
    let a = audit(h.path());
    assert!(
        a.iter()
            .any(|e| e["action"] == "indexes.create" && e["outcome"] == "ok"),
        "{a:#?}"
    );
    // Built: the same suggestion is no longer made.
    let out = opsdeck(h.path())
        .args(["indexes", "suggest", "--min-calls", "3", "--output", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v, Value::Array(vec![]), "{v:#}");
}

async fn interrupted(sb: &PgSandbox) {
    let db = scenario(sb).await;
    let h = home();
    config(h.path(), &sb.url_for(&db), "");
    // A writer in an open transaction: the concurrent build waits for it.
    let writer = client(&sb.url_for(&db)).await;
    writer
        .batch_execute("BEGIN; UPDATE items SET qty = qty + 1 WHERE id = 1")
        .await
        .unwrap();
    let mut child = spawn(
        h.path(),
        &["indexes", "create", NAME, "--yes", "--min-calls", "3"],
    );
    let watcher = client(&sb.url_for(&db)).await;
    let started = Instant::now();
    loop {
        let waiting: i64 = watcher
            .query_one("SELECT count(*) FROM pg_stat_progress_create_index", &[])
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the build never started"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Long enough for a progress line.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    kill(child.id(), "INT");
    // The leftover's DROP INDEX CONCURRENTLY waits for the writer too.
    tokio::time::sleep(Duration::from_millis(500)).await;
    writer.batch_execute("COMMIT").await.unwrap();
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("waiting for"),
        "progress from pg_stat_progress_create_index: {err}"
    );
    assert_eq!(
        index_state(sb, &db).await,
        None,
        "the invalid leftover was dropped: {err}"
    );
    let a = audit(h.path());
    let end = a
        .iter()
        .find(|e| e["action"] == "indexes.create" && e["outcome"] == "cancelled")
        .unwrap_or_else(|| panic!("{a:#?}"));
    assert!(end.to_string().contains("leftover_dropped"), "{end}");
}
