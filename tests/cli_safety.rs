//! Exit codes, read-only refusals and audit records, through the real binary.

mod common;

use common::{home, opsdeck, TestDb};

#[test]
fn unreachable_postgres_is_one_line_and_exit_4() {
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", "postgres://nobody@127.0.0.1:1/x", "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("127.0.0.1:1"), "{err}");
}

#[test]
fn config_syntax_error_exits_2_naming_the_line() {
    let h = home();
    let cfg = h.path().join("bad.toml");
    std::fs::write(&cfg, "[contexts.a]\npg = \"x\"\nread_only = maybe\n").unwrap();
    let out = opsdeck(h.path())
        .args(["--config"])
        .arg(&cfg)
        .args(["audit", "list"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.toml:3:"), "{err}");
}

#[tokio::test]
async fn read_only_refuses_and_changes_nothing() {
    let db = TestDb::new().await;
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "--read-only", "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let c = db.client().await;
    let exists: bool = c
        .query_one("SELECT to_regnamespace('opsdeck') IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!exists, "read-only init created the schema");
    let local = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    assert!(local.contains("\"refused\""), "{local}");
}

#[tokio::test]
async fn read_only_refusal_after_init_is_one_line() {
    let db = TestDb::new().await;
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "--read-only", "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("read-only"), "{err}");
    let local = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    assert!(local.contains("\"refused\""), "{local}");
}

#[tokio::test]
async fn mutation_without_tty_or_yes_is_refused() {
    let db = TestDb::new().await;
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "init"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
}

#[tokio::test]
async fn mutation_with_yes_is_audited_in_both_places() {
    let db = TestDb::new().await;
    let h = home();
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A second mutation now that the schema exists lands in opsdeck.audit too.
    let out = opsdeck(h.path())
        .args(["--pg", &db.url, "init", "--yes"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let c = db.client().await;
    let rows = c
        .query(
            "SELECT phase, outcome, action FROM opsdeck.audit ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let phases: Vec<(String, Option<String>)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert!(phases.contains(&("start".into(), None)), "{phases:?}");
    assert!(
        phases.contains(&("end".into(), Some("ok".into()))),
        "{phases:?}"
    );
    let local = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    assert_eq!(
        local
            .lines()
            .filter(|l| l.contains("\"phase\":\"end\"") && l.contains("\"ok\""))
            .count(),
        2
    );
    let out = opsdeck(h.path())
        .args([
            "--pg", &db.url, "audit", "list", "--output", "json", "--since", "1h",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["action"] == "opsdeck.init" && e["outcome"] == "ok"));
}
