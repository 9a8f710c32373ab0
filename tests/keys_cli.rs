//! `opsdeck keys …` as scripts run it: the key printed once on stdout and
//! nowhere else (not the log, not the audit file, not any file opsdeck
//! wrote), hashes the backend accepts, typed confirmation for revoke,
//! read-only refusal, and the exit-code contract.

mod common;
mod keys_support;

use common::{home, opsdeck, write_config, TestDb};
use keys_support::{backend_accepts, files_under, fixture};
use std::path::Path;

fn config(h: &Path, db: &TestDb, read_only: bool) {
    write_config(
        h,
        &format!(
            "[contexts.t]\npg = \"{}\"\nread_only = {read_only}\n",
            db.url
        ),
    );
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// `keys create … --output json --yes`: the key's fields and its `secret`.
fn create(h: &Path, tenant: &str, name: &str) -> serde_json::Value {
    json(
        &opsdeck(h)
            .args(["keys", "create", "--tenant", tenant, "--name", name])
            .args(["--output", "json", "--yes"])
            .output()
            .unwrap(),
    )
}

fn verify(h: &Path, key: &str) -> std::process::Output {
    opsdeck(h)
        .args(["keys", "verify", "--output", "json"])
        .write_stdin(format!("{key}\n"))
        .output()
        .unwrap()
}

#[tokio::test]
async fn create_prints_the_key_once_and_no_file_keeps_it() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, false);
    let log = h.path().join("opsdeck.log");
    let out = opsdeck(h.path())
        .args([
            "keys",
            "create",
            "--tenant",
            "acme",
            "--name",
            "ci",
            "--scopes",
            "read,write",
            "--yes",
        ])
        .args(["--expires", "90d", "-vv", "--log-file"])
        .arg(&log)
        // Everything, dependencies included, so the log has every chance to hold it.
        .env("OPSDECK_LOG", "trace")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout.trim().to_string();
    assert_eq!(stdout, format!("{key}\n"), "table output is the key alone");
    assert!(key.starts_with("sk_live_") && key.len() == 46, "{key}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(&key), "stderr shows the key: {stderr}");
    assert!(stderr.contains("shown once"), "{stderr}");
    assert!(backend_accepts(&db, &key).await);
    let stored: String = db
        .client()
        .await
        .query_one(
            "SELECT key_hash = encode(sha256(convert_to($1::text, 'UTF8')), 'hex') AND prefix = left($1::text, 16)
                 AND scopes = '{read,write}' AND expires_at > now() + interval '89 days'
             FROM api_keys WHERE tenant_id = 1",
            &[&key],
        )
        .await
        .unwrap()
        .get::<_, bool>(0)
        .to_string();
    assert_eq!(stored, "true");
    let v = json(&verify(h.path(), &key));
    assert_eq!(
        (v["valid"].as_bool(), v["key"]["name"].as_str()),
        (Some(true), Some("ci"))
    );
    let files = files_under(h.path());
    assert!(
        files.iter().any(|(p, _)| p.ends_with("audit.jsonl")),
        "{files:?}"
    );
    let logged = files
        .iter()
        .find(|(p, _)| p == &log)
        .map(|(_, t)| t.lines().count());
    assert!(
        logged.unwrap_or(0) > 5,
        "the log was written at trace: {logged:?}"
    );
    for (path, text) in &files {
        assert!(!text.contains(&key), "{} holds the key", path.display());
        assert!(
            !text.contains(&key[16..]),
            "{} holds the key's secret part",
            path.display()
        );
    }
}

#[tokio::test]
async fn revoke_needs_the_typed_target_and_verify_then_fails() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, false);
    let v = create(h.path(), "globex", "zapier");
    let (id, key) = (
        v["id"].as_str().unwrap().to_string(),
        v["secret"].as_str().unwrap().to_string(),
    );
    assert_eq!(v["tenant_id"], "2");
    // No terminal and no --yes: refused, nothing changed.
    let out = opsdeck(h.path())
        .args(["keys", "revoke", &id])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(backend_accepts(&db, &key).await);
    let r = json(
        &opsdeck(h.path())
            .args(["keys", "revoke", &id, "--yes", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(
        (r["changed"].as_bool(), r["key"]["state"].as_str()),
        (Some(true), Some("revoked"))
    );
    assert!(!backend_accepts(&db, &key).await);
    let out = verify(h.path(), &key);
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["matched"].as_bool(), v["valid"].as_bool()),
        (Some(true), Some(false))
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&key));
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&key));
}

#[tokio::test]
async fn rotate_prints_the_new_key_and_both_work_during_the_grace() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, false);
    let old = create(h.path(), "acme", "ci");
    let out = opsdeck(h.path())
        .args([
            "keys",
            "rotate",
            old["id"].as_str().unwrap(),
            "--grace",
            "1h",
            "--yes",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let new = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let old_key = old["secret"].as_str().unwrap();
    assert_ne!(new, old_key);
    assert!(backend_accepts(&db, old_key).await && backend_accepts(&db, &new).await);
    let list = json(
        &opsdeck(h.path())
            .args(["keys", "list", "--tenant", "acme", "--output", "json"])
            .output()
            .unwrap(),
    );
    let rows = list.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1]["replaced_by"], rows[0]["id"]);
    assert!(!list.to_string().contains(&new) && !list.to_string().contains(old_key));
}

#[tokio::test]
async fn read_only_refuses_every_change_before_any_lookup() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, true);
    for args in [
        vec!["keys", "create", "--tenant", "acme", "--name", "x", "--yes"],
        vec!["keys", "revoke", "4", "--yes"],
        vec!["keys", "rotate", "4", "--yes"],
        vec!["keys", "revoke", "no-such-key", "--yes"],
    ] {
        let out = opsdeck(h.path()).args(&args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    }
    let n: i64 = db
        .client()
        .await
        .query_one(
            "SELECT count(*) FROM api_keys WHERE revoked_at IS NULL",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 3, "nothing was revoked or created");
}

#[tokio::test]
async fn list_outputs_states_and_exit_codes() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, false);
    let csv = opsdeck(h.path())
        .args(["keys", "list", "--output", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(csv.stdout).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert!(
        lines[0].starts_with("id,prefix,name,tenant_id,scopes,state"),
        "{text}"
    );
    assert_eq!(lines.len(), 5, "{text}");
    let v = json(
        &opsdeck(h.path())
            .args(["keys", "list", "--state", "expiring", "--output", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "expiring");
    let out = opsdeck(h.path())
        .args(["keys", "list", "--limit", "2"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let cursor = err.split("--after ").nth(1).unwrap().trim().to_string();
    let rest = json(
        &opsdeck(h.path())
            .args(["keys", "list", "--after", &cursor, "--output", "json"])
            .output()
            .unwrap(),
    );
    let names: Vec<_> = rest
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["revoked", "expired"]);
    let code = |args: &[&str]| opsdeck(h.path()).args(args).output().unwrap().status.code();
    assert_eq!(code(&["keys", "list", "--state", "dormant"]), Some(2));
    assert_eq!(code(&["keys", "list", "--after", "bogus!"]), Some(2));
    assert_eq!(code(&["keys", "revoke", "999", "--yes"]), Some(1));
    assert_eq!(
        code(&[
            "keys",
            "create",
            "--tenant",
            "acme",
            "--name",
            "x",
            "--expires",
            "soon",
            "--yes"
        ]),
        Some(2)
    );
    assert_eq!(
        code(&["keys", "create", "--tenant", "acme", "--name", "x", "--scopes", "a b", "--yes"]),
        Some(2)
    );
    assert_eq!(code(&["keys", "list", "--tenant", "nobody"]), Some(1));
    let out = verify(h.path(), "sk_live_short");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("too short"));
}
