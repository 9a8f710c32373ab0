//! Shared test helpers: throwaway databases on the machine's Postgres, an
//! isolated OPSDECK_HOME, and the built binary with a clean environment.
#![allow(dead_code)]

pub mod cockpit;
pub mod pg;
pub mod pty;
pub mod screens;

use std::sync::atomic::{AtomicU32, Ordering};

/// Admin URL of the Postgres the tests may create databases on.
pub fn admin_url() -> String {
    std::env::var("OPSDECK_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Redis the tests may use (with unique key prefixes, never FLUSHALL).
pub fn redis_url() -> String {
    std::env::var("OPSDECK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// A connection to the tests' Redis.
pub async fn redis_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(redis_url())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("tests need Redis at OPSDECK_TEST_REDIS or 127.0.0.1:6379")
}

/// SET `key` to `value`, expiring in `ttl_s` seconds.
pub async fn redis_set(
    conn: &mut redis::aio::MultiplexedConnection,
    key: &str,
    value: &str,
    ttl_s: u64,
) {
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg(value)
        .arg("EX")
        .arg(ttl_s)
        .query_async(conn)
        .await
        .expect("SET");
}

/// Removes a test's keys.
pub async fn redis_del<K: AsRef<str>>(conn: &mut redis::aio::MultiplexedConnection, keys: &[K]) {
    let keys: Vec<&str> = keys.iter().map(AsRef::as_ref).collect();
    let _: () = redis::cmd("DEL")
        .arg(keys)
        .query_async(conn)
        .await
        .expect("DEL");
}

static SEQ: AtomicU32 = AtomicU32::new(0);

/// A name unique to this process and call, safe as an identifier.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::SeqCst)
    )
}

/// A database created for one test and dropped when it goes out of scope.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let name = unique("opsdeck_t");
        let (client, conn) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
            .await
            .expect("tests need Postgres at OPSDECK_TEST_PG or 127.0.0.1:5432");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await
            .expect("create test database");
        let base = admin_url();
        let root = base
            .rsplit_once('/')
            .map(|(r, _)| r.to_string())
            .unwrap_or(base);
        TestDb {
            url: format!("{root}/{name}"),
            name,
        }
    }

    /// A new database with `sql` run in it.
    pub async fn with(sql: &str) -> TestDb {
        let db = TestDb::new().await;
        db.client()
            .await
            .batch_execute(sql)
            .await
            .expect("test schema");
        db
    }

    pub async fn client(&self) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(&self.url, tokio_postgres::NoTls)
            .await
            .expect("connect to test database");
        tokio::spawn(conn);
        client
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        // Drop runs inside or outside a runtime; a fresh thread with its own runtime works in both.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let (client, conn) = tokio_postgres::connect(&admin_url(), tokio_postgres::NoTls)
                    .await
                    .ok()?;
                tokio::spawn(conn);
                client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Writes `text` as the config file of the opsdeck home `home`, private
/// (0600) as a config holding secrets must be, or every command warns.
pub fn write_config(home: &std::path::Path, text: &str) {
    std::fs::create_dir_all(home.join("config")).expect("config dir");
    let path = home.join("config/config.toml");
    std::fs::write(&path, text).expect("write config");
    private(&path);
}

/// Makes a file 0600.
pub fn private(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 600");
}

/// An isolated home for config, data (audit log) and state.
pub fn home() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// The built binary with OPSDECK_HOME isolated and no ambient opsdeck/libpq env.
pub fn opsdeck(home: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("opsdeck").expect("binary built");
    for (k, _) in std::env::vars() {
        if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
            cmd.env_remove(k);
        }
    }
    cmd.env("OPSDECK_HOME", home).env("NO_COLOR", "1");
    cmd
}

/// The built binary started in the background with a clean environment
/// (PATH only) and OPSDECK_HOME isolated, stdout and stderr piped.
pub fn spawn(home: &std::path::Path, args: &[&str]) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("opsdeck"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("OPSDECK_HOME", home)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start opsdeck")
}

/// Sends `-SIG` to `pid` with the `kill` command (no unsafe code in tests).
pub fn kill(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .expect("run kill")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}
