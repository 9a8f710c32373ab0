//! The real job libraries for the interop tests: the cached install from
//! tests/jobs_npm.sh.

use std::path::PathBuf;
use std::process::Command;

/// The directory tests/jobs_npm.sh installed into (running it when the
/// environment does not name one).
pub fn npm_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("OPSDECK_TEST_JOBS_NPM") {
        return PathBuf::from(dir);
    }
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/jobs_npm.sh"))
        .output()
        .expect("bash runs tests/jobs_npm.sh");
    assert!(
        out.status.success(),
        "tests/jobs_npm.sh: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    PathBuf::from(
        text.trim()
            .strip_prefix("export OPSDECK_TEST_JOBS_NPM=")
            .expect("export line"),
    )
}
