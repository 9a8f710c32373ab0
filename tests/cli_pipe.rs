//! A reader that goes away (`opsdeck … | head`) is not an error.

mod common;

use common::{home, redis_url, unique};
use std::process::Stdio;

#[tokio::test]
async fn closed_stdout_exits_0_quietly() {
    let key = unique("pipe");
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let value = "x".repeat(60_000);
    let _: () = redis::cmd("SET")
        .arg(&key)
        .arg(&value)
        .arg("EX")
        .arg(60)
        .query_async(&mut conn)
        .await
        .unwrap();

    let h = home();
    let bin = assert_cmd::cargo::cargo_bin("opsdeck");
    let mut child = std::process::Command::new(bin)
        .env("OPSDECK_HOME", h.path())
        .args(["--redis", &redis_url(), "cache", "get", &key])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end before opsdeck has written anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}
