//! The fault-matrix fixture: a tenants table under other names (billing.orgs)
//! in a database of a throwaway cluster, which a test may stop and restart
//! without harming anyone, with a context `b` mapping it and `opsdeck init`
//! run; plus readers for the audit in both stores and the checks every
//! cell makes (one stderr line, hints naming commands that exist).
#![allow(dead_code)]

use crate::common::{opsdeck, write_config};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

pub const DB: &str = "app";

const SCHEMA: &str = r#"
CREATE SCHEMA billing;
CREATE TABLE billing.orgs (org_id bigint PRIMARY KEY, handle text UNIQUE NOT NULL,
    title text, state text NOT NULL);
INSERT INTO billing.orgs VALUES (7, 'acme', 'Acme', 'on'), (8, 'other', 'Other', 'on');
"#;

pub struct System {
    pub sb: PgSandbox,
    pub home: tempfile::TempDir,
}

impl System {
    /// `context` lines go into `[contexts.b]`, `hooks` into its schema table.
    pub async fn start(context: &str, hooks: &str) -> System {
        // Durable commits: a test that stops the server as a crash would
        // must find what was committed before it.
        let sb = PgSandbox::start(PgOptions::default().setting("synchronous_commit", "on"))
            .await
            .unwrap();
        sb.create_database(DB).await.unwrap();
        sb.connect(DB)
            .await
            .unwrap()
            .batch_execute(SCHEMA)
            .await
            .unwrap();
        let home = tempfile::tempdir().unwrap();
        write_config(
            home.path(),
            &format!(
                r#"default_context = "b"
[tui]
refresh_secs = 1
[contexts.b]
pg = "{}"
{context}
[contexts.b.schema]
app_schema = "billing"
tenants_table = "orgs"
tenant_id = "org_id"
tenant_slug = "handle"
tenant_name = "title"
tenant_plan = ""
tenant_status = "state"
tenant_created_at = ""
status_active = "on"
status_suspended = "paused"
{hooks}
"#,
                sb.url_for(DB)
            ),
        );
        let s = System { sb, home };
        let (code, _, err) = s.run(&["init", "--yes"]);
        assert_eq!(code, 0, "init: {err}");
        s
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// Runs the binary: (exit code, stdout, stderr).
    pub fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = opsdeck(self.home()).args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        self.sb.connect(DB).await.unwrap()
    }

    pub async fn state_of(&self, id: i64) -> String {
        self.client()
            .await
            .query_one("SELECT state FROM billing.orgs WHERE org_id = $1", &[&id])
            .await
            .unwrap()
            .get(0)
    }

    /// The database copy's (phase, outcome) of `action`, oldest first.
    pub async fn db_records(&self, action: &str) -> Vec<(String, Option<String>)> {
        self.client()
            .await
            .query(
                "SELECT phase, outcome FROM opsdeck.audit WHERE action = $1 ORDER BY id",
                &[&action],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }

    /// Waits until a statement with this text runs on the server.
    pub async fn wait_for_query(&self, sql: &str) {
        let c = self.client().await;
        let start = Instant::now();
        loop {
            let n: i64 = c
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query = $1",
                    &[&sql],
                )
                .await
                .unwrap()
                .get(0);
            if n > 0 {
                return;
            }
            assert!(start.elapsed() < Duration::from_secs(20), "{sql} never ran");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The local audit records of `action`, oldest first.
pub fn local_records(home: &Path, action: &str) -> Vec<Value> {
    std::fs::read_to_string(home.join("data/audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["action"] == action)
        .collect()
}

/// One start and one end record of the same operation; the end's outcome.
pub fn start_and_end(home: &Path, action: &str) -> Value {
    let recs = local_records(home, action);
    assert_eq!(recs.len(), 2, "{recs:#?}");
    assert_eq!(recs[0]["phase"], "start");
    assert_eq!(recs[1]["phase"], "end");
    assert_eq!(recs[0]["op_id"], recs[1]["op_id"]);
    recs[1].clone()
}

/// Every start record in the local audit has its end record.
pub fn no_start_without_end(home: &Path) {
    let text = std::fs::read_to_string(home.join("data/audit.jsonl")).unwrap_or_default();
    let recs: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for start in recs.iter().filter(|r| r["phase"] == "start") {
        assert!(
            recs.iter()
                .any(|r| r["phase"] == "end" && r["op_id"] == start["op_id"]),
            "a start without an end: {start}"
        );
    }
}

/// stderr is exactly one line, the error, prefixed.
pub fn one_error_line(err: &str) {
    let lines: Vec<&str> = err.trim_end().lines().collect();
    assert_eq!(lines.len(), 1, "one line: {err}");
    assert!(lines[0].starts_with("opsdeck: "), "{err}");
}

/// Every `` `opsdeck WORDS …` `` a message names (hints quote commands so)
/// is a command: `opsdeck WORDS --help` works.
pub fn hinted_commands_exist(home: &Path, text: &str) {
    for (i, _) in text.match_indices("`opsdeck ") {
        let code = text[i + 9..].split('`').next().unwrap_or_default();
        let words: Vec<&str> = code
            .split_whitespace()
            .take_while(|w| {
                w.chars().all(|c| c.is_ascii_lowercase() || c == '-') && !w.starts_with('-')
            })
            .collect();
        let mut args = words.clone();
        args.push("--help");
        let out = opsdeck(home).args(&args).output().unwrap();
        assert!(
            out.status.success(),
            "`opsdeck {}` is not a command: {text}",
            words.join(" ")
        );
    }
}

/// Runs opsdeck with `args`, reads `first` bytes of its stdout, calls
/// `between` with its pid (stop a server, send a signal), then reads the
/// rest: (exit code, stdout, stderr).
pub fn read_around(
    home: &Path,
    args: &[&str],
    first: usize,
    between: impl FnOnce(u32),
) -> (Option<i32>, Vec<u8>, String) {
    use std::io::Read;
    let mut child = crate::common::spawn(home, args);
    let mut stdout = child.stdout.take().unwrap();
    let mut out = vec![0; first];
    stdout.read_exact(&mut out).unwrap();
    between(child.id());
    stdout.read_to_end(&mut out).unwrap();
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        e.read_to_string(&mut err).unwrap();
    }
    (child.wait().unwrap().code(), out, err)
}
