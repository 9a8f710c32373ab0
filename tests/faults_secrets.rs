//! Fault matrix, secrets and configuration: a config holding secrets that
//! others may read warns on every command (one `opsdeck:` line), a
//! password_command from a config others may write is refused with exit 2,
//! and a password_command that hangs or floods is stopped with a clear error.

mod common;

use common::{home, opsdeck, write_config};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// Nobody listens here: commands that reach for Postgres fail at once.
const DOWN: &str = "postgres://app@127.0.0.1:1/appdb";

fn config_with(home: &Path, text: &str, mode: u32) {
    write_config(home, text);
    let path = home.join("config/config.toml");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = opsdeck(home).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The config-exposure warnings in `err` (other warnings, such as an
/// unreachable server's, are not counted).
fn warnings(err: &str) -> Vec<&str> {
    err.lines()
        .filter(|l| l.starts_with("opsdeck: warning:") && l.contains("readable by others"))
        .collect()
}

#[test]
fn secrets_readable_by_others_warn_on_every_command() {
    let h = home();
    let text = "[contexts.a]\npg = \"postgres://app:hunter2@127.0.0.1:1/appdb\"\nredis = \"redis://:hunter3@127.0.0.1:1/0\"\n";
    config_with(h.path(), text, 0o644);
    let file = h.path().join("config/config.toml").display().to_string();
    for args in [
        &["tenants", "list"][..],
        &["cache", "stats"],
        &["audit", "list"],
        &["doctor"],
        &["overview"],
    ] {
        let (_, _, err) = run(h.path(), args);
        let w = warnings(&err);
        assert_eq!(w.len(), 1, "{args:?}: {err}");
        assert!(
            w[0].contains(&file) && w[0].contains("mode 644") && w[0].contains("chmod 600"),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("hunter2") && !err.contains("hunter3"),
            "{err}"
        );
    }
    // Private again: no warning.
    config_with(h.path(), text, 0o600);
    let (_, _, err) = run(h.path(), &["tenants", "list"]);
    assert!(warnings(&err).is_empty(), "{err}");
}

#[test]
fn a_password_command_from_a_config_others_may_write_is_refused() {
    let h = home();
    let marker = h.path().join("ran");
    let text = format!(
        "[contexts.a]\npg = \"{DOWN}\"\npassword_command = \"touch {}; echo pw\"\n",
        marker.display()
    );
    for mode in [0o664, 0o666, 0o646] {
        config_with(h.path(), &text, mode);
        for args in [&["tenants", "list"][..], &["doctor"], &["cache", "stats"]] {
            let (code, out, err) = run(h.path(), args);
            assert_eq!(code, 2, "{mode:o} {args:?}: {err}");
            assert!(out.is_empty());
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(
                err.starts_with("opsdeck: error: config: refusing password_command")
                    && err.contains("writable by group or others")
                    && err.contains(&format!("mode {mode:03o}")),
                "{err}"
            );
        }
        assert!(!marker.exists(), "the command never ran");
    }
    // Readable, not writable, by others: it runs, with the warning.
    config_with(h.path(), &text, 0o644);
    let (code, _, err) = run(h.path(), &["tenants", "list"]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(warnings(&err).len(), 1, "{err}");
    assert!(warnings(&err)[0].contains("a password_command"), "{err}");
    assert!(marker.exists(), "the command ran");
}

#[test]
fn a_hanging_password_command_stops_at_the_configured_timeout() {
    let h = home();
    config_with(
        h.path(),
        &format!(
            "password_command_timeout_secs = 1\n[contexts.a]\npg = \"{DOWN}\"\npassword_command = \"exec sleep 30\"\n"
        ),
        0o600,
    );
    let started = Instant::now();
    let (code, _, err) = run(h.path(), &["tenants", "list"]);
    let took = started.elapsed();
    assert_eq!(code, 4, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("did not finish within 1 s") && err.contains("password_command_timeout_secs"),
        "{err}"
    );
    assert!(took < Duration::from_secs(8), "took {took:?}");

    // The default is 10 s; a flood is stopped at 64 KiB without showing it.
    config_with(
        h.path(),
        &format!(
            "[contexts.a]\npg = \"{DOWN}\"\npassword_command = \"head -c 10000000 /dev/zero | base64\"\n"
        ),
        0o600,
    );
    let (code, _, err) = run(h.path(), &["tenants", "list"]);
    assert_eq!(code, 4, "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("printed more than 64 KiB"), "{err}");
    assert!(!err.contains("AAAA"), "{err}");
}

#[test]
fn an_out_of_range_timeout_is_a_config_error() {
    let h = home();
    config_with(
        h.path(),
        "password_command_timeout_secs = 0\n[contexts.a]\npg = \"x\"\n",
        0o600,
    );
    let (code, _, err) = run(h.path(), &["tenants", "list"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("password_command_timeout_secs = 0 is out of range"),
        "{err}"
    );
}
