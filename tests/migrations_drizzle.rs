//! Interop with the real Drizzle migrator (drizzle-orm + pg from npm,
//! versions pinned in tests/drizzle.sh and README.md): what it applies,
//! opsdeck reports applied; a file added after is pending; an applied file
//! edited since is mismatched.

mod common;

use common::{home, opsdeck, TestDb};
use serde_json::Value;
use std::path::{Path, PathBuf};

const MIGRATE_JS: &str = r#"
const { drizzle } = require('drizzle-orm/node-postgres');
const { migrate } = require('drizzle-orm/node-postgres/migrator');
const { Pool } = require('pg');
(async () => {
  const pool = new Pool({ connectionString: process.env.DATABASE_URL });
  await migrate(drizzle(pool), { migrationsFolder: process.argv[2] });
  await pool.end();
})().catch((e) => { console.error(String(e)); process.exit(1); });
"#;

/// The cached install, made by tests/drizzle.sh when it is not there yet.
fn drizzle_modules() -> PathBuf {
    if let Ok(dir) = std::env::var("OPSDECK_TEST_DRIZZLE") {
        return PathBuf::from(dir).join("node_modules");
    }
    let out = std::process::Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/drizzle.sh"))
        .output()
        .expect("bash runs tests/drizzle.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tests/drizzle.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = text
        .trim()
        .strip_prefix("export OPSDECK_TEST_DRIZZLE=")
        .expect("export line");
    PathBuf::from(dir).join("node_modules")
}

fn migrate(url: &str, folder: &Path, script: &Path) {
    let out = std::process::Command::new("node")
        .arg(script)
        .arg(folder)
        .env("NODE_PATH", drizzle_modules())
        .env("DATABASE_URL", url)
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "drizzle migrate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn write_journal(folder: &Path, tags: &[(&str, i64)]) {
    let entries: Vec<Value> = tags
        .iter()
        .enumerate()
        .map(|(i, (tag, when))| {
            serde_json::json!({"idx": i, "version": "7", "when": when, "tag": tag, "breakpoints": true})
        })
        .collect();
    let journal = serde_json::json!({"version": "7", "dialect": "postgresql", "entries": entries});
    std::fs::write(folder.join("meta/_journal.json"), journal.to_string()).unwrap();
}

fn status(url: &str, folder: &Path) -> (i32, Value) {
    let h = home();
    let out = opsdeck(h.path())
        .args([
            "--pg",
            url,
            "migrations",
            "status",
            "--output",
            "json",
            "--dir",
        ])
        .arg(folder)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let drizzle = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["tool"] == "drizzle")
        .cloned()
        .unwrap_or_else(|| panic!("no drizzle in {v}"));
    (out.status.code().unwrap(), drizzle)
}

#[tokio::test]
async fn drizzle_migrator_applied_pending_and_mismatched() {
    let db = TestDb::new().await;
    let work = tempfile::tempdir().unwrap();
    let script = work.path().join("migrate.cjs");
    std::fs::write(&script, MIGRATE_JS).unwrap();
    let folder = work.path().join("drizzle");
    std::fs::create_dir_all(folder.join("meta")).unwrap();
    std::fs::write(
        folder.join("0000_init.sql"),
        "CREATE TABLE \"tenants\" (\"id\" serial PRIMARY KEY, \"slug\" text);\n--> statement-breakpoint\nCREATE INDEX \"tenants_slug\" ON \"tenants\" (\"slug\");\n",
    )
    .unwrap();
    std::fs::write(
        folder.join("0001_users.sql"),
        "CREATE TABLE \"users\" (\"id\" serial PRIMARY KEY, \"name\" text);\n",
    )
    .unwrap();
    write_journal(
        &folder,
        &[
            ("0000_init", 1_700_000_000_000),
            ("0001_users", 1_700_000_100_000),
        ],
    );
    migrate(&db.url, &folder, &script);

    let (code, d) = status(&db.url, &folder);
    assert_eq!(code, 0, "{d}");
    assert_eq!(
        (d["applied_count"].as_i64(), d["latest"].as_str()),
        (Some(2), Some("0001_users"))
    );
    assert_eq!(
        (d["pending"].clone(), d["problems"].clone()),
        (serde_json::json!([]), serde_json::json!([]))
    );
    assert_eq!(d["latest_at"], "2023-11-14T22:15:00Z");

    std::fs::write(
        folder.join("0002_posts.sql"),
        "CREATE TABLE \"posts\" (\"id\" serial PRIMARY KEY);\n",
    )
    .unwrap();
    write_journal(
        &folder,
        &[
            ("0000_init", 1_700_000_000_000),
            ("0001_users", 1_700_000_100_000),
            ("0002_posts", 1_700_000_200_000),
        ],
    );
    let (code, d) = status(&db.url, &folder);
    assert_eq!(code, 1, "{d}");
    assert_eq!(d["pending"], serde_json::json!(["0002_posts"]));

    // Drizzle applies what opsdeck called pending, and nothing else is left.
    migrate(&db.url, &folder, &script);
    let (code, d) = status(&db.url, &folder);
    assert_eq!((code, d["applied_count"].as_i64()), (0, Some(3)), "{d}");

    std::fs::write(
        folder.join("0001_users.sql"),
        "CREATE TABLE \"users\" (\"id\" bigserial PRIMARY KEY, \"name\" text);\n",
    )
    .unwrap();
    let (code, d) = status(&db.url, &folder);
    assert_eq!(code, 1, "{d}");
    let problems = d["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{d}");
    assert_eq!(
        (
            problems[0]["kind"].as_str(),
            problems[0]["migration"].as_str()
        ),
        (Some("mismatched"), Some("0001_users"))
    );
}
