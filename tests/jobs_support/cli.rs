//! `opsdeck` with `--output json` against one database, and waiting for a
//! job to show in a state, for the job-library interop tests.

use crate::common::opsdeck;
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

pub fn run(home: &Path, url: &str, args: &[&str]) -> (i32, Value, String) {
    let out = opsdeck(home)
        .args(["--pg", url, "--output", "json"])
        .args(args)
        .output()
        .expect("opsdeck runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The job of `source` as `jobs list` shows it, once it is in `state`
/// (within 20 s).
pub fn wait_listed(home: &Path, url: &str, source: &str, id: &str, state: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (code, v, err) = run(home, url, &["jobs", "list", "--source", source]);
        assert_eq!(code, 0, "{err}");
        let job = v
            .as_array()
            .expect("array")
            .iter()
            .find(|j| j["id"] == id)
            .cloned();
        if let Some(j) = job.filter(|j| j["state"] == state) {
            return j;
        }
        assert!(Instant::now() < deadline, "job {id} never {state}: {v}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
