//! `migrations status` while a migration runs: the session holding ACCESS
//! EXCLUSIVE and the one queued behind it, each with its role, and a
//! CREATE INDEX CONCURRENTLY build with its progress.

mod common;

use common::{home, opsdeck, TestDb};
use serde_json::Value;

fn status(url: &str) -> Value {
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", url, "migrations", "status", "--output", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

async fn wait_for_lock_waiter(db: &TestDb) {
    let watcher = db.client().await;
    for _ in 0..200 {
        let waiting: i64 = watcher
            .query_one("SELECT count(*) FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())", &[])
            .await
            .unwrap()
            .get(0);
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the reader never queued behind the lock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_exclusive_holder_and_its_waiter() {
    let db = TestDb::with("CREATE TABLE accounts (id int); INSERT INTO accounts VALUES (1);").await;
    let holder = db.client().await;
    holder
        .batch_execute("BEGIN; LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let holder_pid: i32 = db.client().await
        .query_one("SELECT pid FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'accounts'::regclass", &[])
        .await
        .unwrap()
        .get(0);
    let reader = db.client().await;
    let reader_pid: i32 = reader
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .unwrap()
        .get(0);
    let read = tokio::spawn(async move {
        reader
            .query("SELECT * FROM accounts", &[])
            .await
            .map(|r| r.len())
    });
    wait_for_lock_waiter(&db).await;

    let v = status(&db.url);
    let sessions = v["ddl"]["sessions"].as_array().unwrap();
    assert_eq!(
        sessions.len(),
        2,
        "only the holder and its waiter, never opsdeck itself: {v}"
    );
    let h = sessions
        .iter()
        .find(|s| s["pid"] == holder_pid)
        .expect("holder listed");
    assert_eq!(h["role"], "holder");
    assert_eq!(
        h["holds"],
        serde_json::json!(["accounts AccessExclusiveLock"])
    );
    let w = sessions
        .iter()
        .find(|s| s["pid"] == reader_pid)
        .expect("waiter listed");
    assert_eq!(w["role"], "waiter");
    assert_eq!(w["waits_for"], "accounts AccessShareLock");
    assert_eq!(w["blocked_by"], serde_json::json!([holder_pid]));
    assert!(w["query"]
        .as_str()
        .unwrap()
        .contains("SELECT * FROM accounts"));

    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "migrations", "status"])
        .env("COLUMNS", "200")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("holder") && table.contains("waiter"),
        "{table}"
    );

    holder.batch_execute("ROLLBACK").await.unwrap();
    assert_eq!(read.await.unwrap().unwrap(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_index_concurrently_shows_its_progress() {
    let db = TestDb::with("CREATE TABLE orders (id int, total int); INSERT INTO orders SELECT g, g FROM generate_series(1, 1000) g;").await;
    let writer = db.client().await;
    // An open writing transaction: the build waits for it before it starts.
    writer
        .batch_execute("BEGIN; UPDATE orders SET total = total + 1 WHERE id = 1")
        .await
        .unwrap();
    let builder = db.client().await;
    let build = tokio::spawn(async move {
        builder
            .batch_execute("CREATE INDEX CONCURRENTLY orders_total ON orders (total)")
            .await
    });
    let watcher = db.client().await;
    for _ in 0..200 {
        let n: i64 = watcher
            .query_one("SELECT count(*) FROM pg_stat_progress_create_index", &[])
            .await
            .unwrap()
            .get(0);
        if n > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    let v = status(&db.url);
    let builds = v["ddl"]["index_builds"].as_array().unwrap();
    assert_eq!(builds.len(), 1, "{v}");
    assert_eq!(builds[0]["table"], "orders");
    assert_eq!(builds[0]["command"], "CREATE INDEX CONCURRENTLY");
    assert!(
        builds[0]["phase"].as_str().unwrap().starts_with("waiting"),
        "{v}"
    );
    let sessions = v["ddl"]["sessions"].as_array().unwrap();
    assert!(
        sessions.iter().any(|s| s["role"] == "holder"
            && s["query"]
                .as_str()
                .unwrap()
                .contains("CREATE INDEX CONCURRENTLY")),
        "the build holds SHARE UPDATE EXCLUSIVE: {v}"
    );
    writer.batch_execute("COMMIT").await.unwrap();
    build.await.unwrap().unwrap();
}
