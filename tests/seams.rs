//! One owner per seam, seen from the command line: the tenant resolver that
//! every `--tenant` goes through, the tenant cache patterns that `tenants
//! show` counts and `cache invalidate --tenant` deletes, the audit list that
//! merges both stores, and the modes of the files opsdeck creates.

mod common;

use common::{home, opsdeck, redis_url, unique, write_config, TestDb};
use redis::AsyncCommands;
use serde_json::Value;
use std::path::Path;

const SCHEMA: &str = r#"
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (acct bigint PRIMARY KEY, handle text UNIQUE NOT NULL,
    "display name" text, state text NOT NULL);
INSERT INTO crm.accounts VALUES (7, 'acme', 'Acme Corp', 'live'),
                                (70, 'acme2', 'Twin', 'live'),
                                (71, 'twin-b', 'Twin', 'live');
"#;

/// A context `c` on a database of its own whose tenants' cache keys follow
/// three patterns under `prefix`: by id, a session pattern inside the id
/// one (overlapping it), and by slug.
async fn system(home: &Path, prefix: &str) -> TestDb {
    let db = TestDb::new().await;
    db.client().await.batch_execute(SCHEMA).await.unwrap();
    write_config(
        home,
        &format!(
            r#"default_context = "c"
[contexts.c]
pg = "{pg}"
redis = "{redis}"
[contexts.c.schema]
app_schema = "crm"
tenants_table = "accounts"
tenant_id = "acct"
tenant_slug = "handle"
tenant_name = "display name"
tenant_plan = ""
tenant_status = "state"
tenant_created_at = ""
status_active = "live"
status_suspended = "frozen"
[contexts.c.cache]
tenant_pattern = ["{prefix}:t:{{tenant}}:*", "{prefix}:t:{{tenant}}:sess:*", "{prefix}:s:{{slug}}:*"]
"#,
            pg = db.url,
            redis = redis_url()
        ),
    );
    db
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

fn json(home: &Path, args: &[&str]) -> Value {
    let out = opsdeck(home)
        .args(["--output", "json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn show_counts_exactly_what_invalidate_tenant_deletes_under_every_pattern() {
    let h = home();
    let prefix = unique("seam");
    let _db = system(h.path(), &prefix).await;
    let mut r = redis().await;
    let mut mine = Vec::new();
    for i in 0..5 {
        mine.push(format!("{prefix}:t:7:page:{i}"));
    }
    for i in 0..3 {
        // Selected by both id patterns: one key each, counted once.
        mine.push(format!("{prefix}:t:7:sess:{i}"));
    }
    for i in 0..4 {
        mine.push(format!("{prefix}:s:acme:{i}"));
    }
    let others = [
        format!("{prefix}:t:70:page:0"),
        format!("{prefix}:s:acme2:0"),
        format!("{prefix}:t:7"),
    ];
    for k in mine.iter().chain(others.iter()) {
        let _: () = r.set(k, "v").await.unwrap();
    }
    let want = mine.len() as u64;

    let show = json(h.path(), &["tenants", "show", "acme"]);
    assert_eq!(show["cache"]["keys"], want, "{}", show["cache"]);
    assert_eq!(show["cache"]["capped"], false);
    assert_eq!(show["cache"]["patterns"].as_array().unwrap().len(), 3);
    // Resolved the same way from an id, a slug or the unique name.
    for typed in ["acme", "7", "Acme Corp"] {
        let dry = json(
            h.path(),
            &["cache", "invalidate", "--tenant", typed, "--dry-run"],
        );
        assert_eq!(dry["matched"], want, "{typed}: {dry}");
        assert_eq!(dry["tenant_id"], "7", "{typed}");
    }
    let done = json(
        h.path(),
        &["cache", "invalidate", "--tenant", "acme", "--yes"],
    );
    assert_eq!(done["deleted"], want, "{done}");
    for k in &mine {
        assert!(!r.exists::<_, bool>(k).await.unwrap(), "{k} deleted");
    }
    for k in &others {
        assert!(r.exists::<_, bool>(k).await.unwrap(), "{k} kept");
        let _: () = r.del(k).await.unwrap();
    }
    let show = json(h.path(), &["tenants", "show", "7"]);
    assert_eq!(show["cache"]["keys"], 0);
}

#[tokio::test]
async fn an_ambiguous_name_is_refused_naming_the_candidates() {
    let h = home();
    let _db = system(h.path(), &unique("seam")).await;
    let out = opsdeck(h.path())
        .args(["cache", "invalidate", "--tenant", "twin", "--dry-run"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("acme2") && err.contains("twin-b"),
        "names both: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = opsdeck(h.path())
        .args(["tenants", "show", "nobody-here"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("tenants list --search"), "{err}");
}

#[tokio::test]
async fn audit_list_merges_the_local_file_and_the_database() {
    let h = home();
    let _db = system(h.path(), &unique("seam")).await;
    opsdeck(h.path()).args(["init", "--yes"]).assert().success();
    // A refusal in a read-only context is kept locally only.
    opsdeck(h.path())
        .args(["--read-only", "tenants", "suspend", "acme"])
        .assert()
        .code(3);
    opsdeck(h.path())
        .args(["tenants", "suspend", "acme", "--yes"])
        .assert()
        .success();
    let entries = json(h.path(), &["audit", "list"]);
    let of = |action: &str, outcome: &str| -> Vec<Value> {
        entries
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == action && e["outcome"] == outcome)
            .cloned()
            .collect()
    };
    let refused = of("tenants.suspend", "refused");
    assert_eq!(refused.len(), 1, "{entries:#}");
    assert_eq!(refused[0]["stored_in"], serde_json::json!(["local"]));
    let done = of("tenants.suspend", "ok");
    assert_eq!(
        done.len(),
        1,
        "once, though both stores hold it: {entries:#}"
    );
    assert_eq!(
        done[0]["stored_in"],
        serde_json::json!(["local", "database"])
    );
}

#[cfg(unix)]
#[tokio::test]
async fn files_opsdeck_creates_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let h = home();
    let db = system(h.path(), &unique("seam")).await;
    let log = h.path().join("logs/cli.log");
    // doctor creates the audit file to check it; a refusal writes to it; a
    // log file goes where --log-file says.
    let _ = opsdeck(h.path()).arg("doctor").output().unwrap();
    opsdeck(h.path())
        .args(["--read-only", "--log-file"])
        .arg(&log)
        .args(["tenants", "resume", "acme"])
        .assert()
        .code(3);
    drop(db);
    let mut seen = 0;
    let mut stack = vec![h.path().join("data"), h.path().join("logs")];
    while let Some(p) = stack.pop() {
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        if p.is_dir() {
            assert_eq!(mode, 0o700, "{}", p.display());
            stack.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", p.display());
            seen += 1;
        }
    }
    assert!(seen >= 2, "the audit file and the log were created");
    assert!(log.exists());
}
