//! Redis over TLS (`rediss://`) against real TLS redis-servers: a private CA
//! from `redis_ca` / OPSDECK_REDIS_CA, `#insecure`, ACL users, the errors an
//! operator sees when verification fails, and a 3-master TLS Cluster.

mod common;

use common::{home, opsdeck, unique};
use opsdeck::conn::redis::{connect_url, connect_url_with_ca, Redis};
use opsdeck::error::{Error, ExitCode};
use opsdeck::sandbox::RedisSandbox;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs opsdeck; returns (exit code, stdout, stderr).
fn run(home: &Path, env: &[(&str, &Path)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = opsdeck(home);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd
        .args(args)
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes a one-context config naming this Redis and, optionally, its CA.
fn config(home: &Path, url: &str, ca: Option<&Path>) {
    let dir = home.join("config");
    std::fs::create_dir_all(&dir).unwrap();
    let mut text = format!("[contexts.local]\nredis = \"{url}\"\n");
    if let Some(ca) = ca {
        text.push_str(&format!("redis_ca = \"{}\"\n", ca.display()));
    }
    std::fs::write(dir.join("config.toml"), text).unwrap();
    common::private(&dir.join("config.toml"));
}

async fn set_get(redis: &Redis, key: &str) {
    let mut c = redis.routed();
    let pong: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET")
        .arg(key)
        .arg("over tls")
        .query_async(&mut c)
        .await
        .unwrap();
    let v: String = redis::cmd("GET")
        .arg(key)
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(v, "over tls");
}

fn one_line(err: &str) {
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[tokio::test]
async fn private_ca_verifies_the_server() {
    let sb = RedisSandbox::start_tls().await.expect("tls sandbox");
    assert!(sb.url().starts_with("rediss://127.0.0.1:"), "{}", sb.url());
    let ca = sb.ca_file().unwrap();

    let redis = connect_url_with_ca(&sb.url(), None, Some(ca))
        .await
        .unwrap();
    assert!(!redis.is_cluster());
    assert_eq!(redis.target, format!("127.0.0.1:{} (tls)/0", sb.port()));
    set_get(&redis, &unique("tls")).await;

    // Also by name: the certificate lists localhost too.
    let by_name = format!("rediss://localhost:{}/0", sb.port());
    let redis = connect_url_with_ca(&by_name, None, Some(ca)).await.unwrap();
    set_get(&redis, &unique("tls")).await;

    // The same through the CLI, with the CA from the config file.
    let h = home();
    config(h.path(), &sb.url(), Some(ca));
    let (code, out, err) = run(h.path(), &[], &["--output", "json", "cache", "stats"]);
    assert_eq!(code, 0, "{err}");
    let stats: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(stats["nodes"][0]["dbs"][0]["keys"], 2, "{out}");

    // And with the CA from OPSDECK_REDIS_CA and the URL from --redis.
    let h = home();
    let (code, out, err) = run(
        h.path(),
        &[("OPSDECK_REDIS_CA", ca)],
        &["--redis", &sb.url(), "--output", "json", "cache", "keys"],
    );
    assert_eq!(code, 0, "{err}");
    let keys: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 2, "{out}");
}

#[tokio::test]
async fn unknown_ca_is_a_connect_error_with_a_way_out() {
    let sb = RedisSandbox::start_tls().await.expect("tls sandbox");

    let e = connect_url(&sb.url(), None).await.err().unwrap();
    assert_eq!(e.exit_code(), ExitCode::Connect, "{e}");
    let msg = e.to_string();
    assert!(msg.contains("TLS handshake failed"), "{msg}");
    assert!(msg.contains("UnknownIssuer"), "{msg}");

    let h = home();
    let (code, out, err) = run(
        h.path(),
        &[],
        &["--redis", &sb.url(), "--output", "json", "cache", "stats"],
    );
    assert_eq!(code, 4, "{err}");
    assert!(out.is_empty(), "{out}");
    one_line(&err);
    assert!(err.contains(&format!("127.0.0.1:{}", sb.port())), "{err}");
    assert!(err.contains("not signed by a trusted CA"), "{err}");
    assert!(
        err.contains("redis_ca") && err.contains("#insecure"),
        "{err}"
    );

    // redis:// at a TLS-only port: the hint names the scheme.
    let plain = format!("redis://127.0.0.1:{}/0", sb.port());
    let (code, _, err) = run(h.path(), &[], &["--redis", &plain, "cache", "stats"]);
    assert_eq!(code, 4, "{err}");
    one_line(&err);
    assert!(err.contains("use rediss://"), "{err}");
}

#[tokio::test]
async fn insecure_fragment_skips_verification() {
    let sb = RedisSandbox::start_tls().await.expect("tls sandbox");
    let url = format!("{}#insecure", sb.url());

    let redis = connect_url(&url, None).await.unwrap();
    assert_eq!(
        redis.target,
        format!("127.0.0.1:{} (tls, unverified)/0", sb.port())
    );
    set_get(&redis, &unique("insecure")).await;

    let h = home();
    let (code, out, err) = run(
        h.path(),
        &[],
        &["--redis", &url, "--output", "json", "cache", "keys"],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn acl_user_with_password_over_tls() {
    let sb = RedisSandbox::start_tls().await.expect("tls sandbox");
    let ca = sb.ca_file().unwrap();
    let admin = connect_url_with_ca(&sb.url(), None, Some(ca))
        .await
        .unwrap();
    let user = unique("ops");
    let password = "s3cret-tls-pass";
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&user)
        .arg("on")
        .arg(format!(">{password}"))
        .arg("~*")
        .arg("&*")
        .arg("+@all")
        .query_async(&mut admin.routed())
        .await
        .unwrap();

    let url = format!("rediss://{user}:{password}@127.0.0.1:{}/0", sb.port());
    let redis = connect_url_with_ca(&url, None, Some(ca)).await.unwrap();
    assert!(!redis.target.contains(password), "{}", redis.target);
    let who: String = redis::cmd("ACL")
        .arg("WHOAMI")
        .query_async(&mut redis.routed())
        .await
        .unwrap();
    assert_eq!(who, user);
    set_get(&redis, &unique("acl")).await;

    let h = home();
    config(h.path(), &url, Some(ca));
    let (code, out, err) = run(h.path(), &[], &["--output", "json", "cache", "keys"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let wrong = "wrong-tls-pass";
    let bad = format!("rediss://{user}:{wrong}@127.0.0.1:{}/0", sb.port());
    let (code, _, err) = run(
        h.path(),
        &[("OPSDECK_REDIS_CA", ca)],
        &["--redis", &bad, "cache", "stats"],
    );
    assert_eq!(code, 4, "{err}");
    one_line(&err);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains(wrong), "the password leaked: {err}");
}

#[tokio::test]
async fn missing_or_bad_ca_file_is_a_usage_error() {
    let sb = RedisSandbox::start_tls().await.expect("tls sandbox");
    let h = home();
    let missing = h.path().join("no-such-ca.pem");
    let (code, out, err) = run(
        h.path(),
        &[("OPSDECK_REDIS_CA", &missing)],
        &["--redis", &sb.url(), "cache", "stats"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    one_line(&err);
    assert!(err.contains(&missing.display().to_string()), "{err}");

    let not_pem = h.path().join("ca.txt");
    std::fs::write(&not_pem, "not a certificate\n").unwrap();
    config(h.path(), &sb.url(), Some(&not_pem));
    let (code, _, err) = run(h.path(), &[], &["cache", "stats"]);
    assert_eq!(code, 2, "{err}");
    one_line(&err);
    assert!(err.contains("holds no PEM certificate"), "{err}");
    assert!(err.contains(&not_pem.display().to_string()), "{err}");

    // PEM armour around bytes that are no certificate.
    let garbage = h.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let e = connect_url_with_ca(&sb.url(), None, Some(&garbage))
        .await
        .err()
        .unwrap();
    assert_eq!(e.exit_code(), ExitCode::Usage, "{e}");
    assert!(e.to_string().contains("garbage.pem"), "{e}");

    let e = connect_url_with_ca(&sb.url(), None, Some(&missing))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Usage(_)), "{e}");
}

/// TLS redis-servers started by the test itself (cluster nodes, a server
/// with a certificate for another name); killed on drop.
struct Servers {
    dir: tempfile::TempDir,
    children: Vec<Child>,
    ports: Vec<u16>,
}

impl Drop for Servers {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Servers {
    fn new() -> Servers {
        Servers {
            dir: tempfile::tempdir().unwrap(),
            children: Vec::new(),
            ports: Vec::new(),
        }
    }

    fn spawn(&mut self, cert: &Path, key: &Path, ca: &Path, extra: &[&str]) -> u16 {
        let port = free_port();
        let dir = self.dir.path().join(port.to_string());
        std::fs::create_dir(&dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", "0", "--tls-port", &port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .arg("--tls-cert-file")
            .arg(cert)
            .arg("--tls-key-file")
            .arg(key)
            .arg("--tls-ca-cert-file")
            .arg(ca)
            .args(["--tls-auth-clients", "no"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("log"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
        self.ports.push(port);
        port
    }

    /// redis-cli over TLS to one node, retried until `ok` accepts the reply.
    fn wait(&self, port: u16, ca: &Path, args: &[&str], ok: impl Fn(&str) -> bool) {
        let started = Instant::now();
        loop {
            let out = Command::new("redis-cli")
                .args(["--tls", "-h", "127.0.0.1", "-p", &port.to_string()])
                .arg("--cacert")
                .arg(ca)
                .args(args)
                .output()
                .unwrap();
            if ok(&String::from_utf8_lossy(&out.stdout)) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "node {port} never answered {args:?}: {}",
                std::fs::read_to_string(self.dir.path().join(port.to_string()).join("log"))
                    .unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[tokio::test]
async fn hostname_mismatch_names_the_problem() {
    let sb = RedisSandbox::start_tls().await.expect("tls sandbox");
    let ca = sb.ca_file().unwrap();
    // A certificate from the same CA, but for another name only.
    let dir = sb.dir();
    let (key, cert): (PathBuf, PathBuf) = (dir.join("other.key"), dir.join("other.crt"));
    let ok = |c: &mut Command| assert!(c.status().unwrap().success(), "{c:?}");
    ok(Command::new("openssl")
        .args(["req", "-new", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(dir.join("other.csr"))
        .args(["-subj", "/CN=cache.other.example"])
        .stderr(Stdio::null()));
    std::fs::write(
        dir.join("other.ext"),
        "subjectAltName = DNS:cache.other.example\n",
    )
    .unwrap();
    ok(Command::new("openssl")
        .args(["x509", "-req", "-in"])
        .arg(dir.join("other.csr"))
        .arg("-CA")
        .arg(ca)
        .arg("-CAkey")
        .arg(dir.join("ca.key"))
        .args(["-CAcreateserial", "-days", "1", "-out"])
        .arg(&cert)
        .arg("-extfile")
        .arg(dir.join("other.ext"))
        .stderr(Stdio::null()));
    let mut servers = Servers::new();
    let port = servers.spawn(&cert, &key, ca, &[]);
    servers.wait(port, ca, &["--sni", "cache.other.example", "PING"], |o| {
        o.contains("PONG")
    });

    let url = format!("rediss://127.0.0.1:{port}/0");
    let h = home();
    let (code, _, err) = run(
        h.path(),
        &[("OPSDECK_REDIS_CA", ca)],
        &["--redis", &url, "cache", "stats"],
    );
    assert_eq!(code, 4, "{err}");
    one_line(&err);
    assert!(err.contains("TLS handshake failed"), "{err}");
    assert!(err.contains("does not name this host"), "{err}");

    let insecure = format!("{url}#insecure");
    let redis = connect_url_with_ca(&insecure, None, Some(ca))
        .await
        .unwrap();
    set_get(&redis, &unique("mismatch")).await;
}

#[tokio::test]
async fn tls_cluster_uses_the_ca_on_every_master() {
    let sb = RedisSandbox::start_tls().await.expect("tls sandbox");
    let ca = sb.ca_file().unwrap();
    let (cert, key) = sb.server_cert_files().unwrap();
    let mut servers = Servers::new();
    for _ in 0..3 {
        let bus = free_port().to_string();
        servers.spawn(
            cert,
            key,
            ca,
            &[
                "--tls-cluster",
                "yes",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "5000",
                "--cluster-port",
                &bus,
            ],
        );
    }
    let ports = servers.ports.clone();
    for p in &ports {
        servers.wait(*p, ca, &["PING"], |o| o.contains("PONG"));
    }
    // redis-cli waits forever for nodes that cannot join: bound it.
    let mut create = Command::new("redis-cli")
        .arg("--tls")
        .arg("--cacert")
        .arg(ca)
        .args(["--cluster", "create"])
        .args(ports.iter().map(|p| format!("127.0.0.1:{p}")))
        .args(["--cluster-replicas", "0", "--cluster-yes"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = create.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = create.kill();
            let _ = create.wait();
            panic!("redis-cli --cluster create did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "redis-cli --cluster create: {status}");
    for p in &ports {
        servers.wait(*p, ca, &["CLUSTER", "INFO"], |o| {
            o.contains("cluster_state:ok")
        });
    }

    let seed = format!("rediss://127.0.0.1:{}/0", ports[0]);
    let redis = connect_url_with_ca(&seed, None, Some(ca)).await.unwrap();
    assert!(redis.is_cluster());
    assert_eq!(redis.masters().len(), 3);
    let prefix = unique("tlsc");
    let mut c = redis.routed();
    for i in 0..300 {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}:{i}"))
            .arg("v")
            .query_async(&mut c)
            .await
            .unwrap();
    }
    // Every master connection verifies against the CA and holds a share.
    let mut total = 0;
    for m in redis.masters() {
        assert!(m.addr.ends_with("(tls)"), "{}", m.addr);
        let n: usize = redis::cmd("DBSIZE")
            .query_async(&mut m.conn.clone())
            .await
            .unwrap();
        assert!(n > 0, "master {} holds no key", m.addr);
        total += n;
    }
    assert_eq!(total, 300);

    let h = home();
    let pattern = format!("{prefix}:*");
    let (code, out, err) = run(
        h.path(),
        &[("OPSDECK_REDIS_CA", ca)],
        &[
            "--redis",
            &seed,
            "--output",
            "json",
            "cache",
            "keys",
            "--pattern",
            &pattern,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        300
    );

    // Without the CA the cluster is refused like a single node.
    let e = connect_url(&seed, None).await.err().unwrap();
    assert_eq!(e.exit_code(), ExitCode::Connect, "{e}");

    let insecure = connect_url(&format!("{seed}#insecure"), None)
        .await
        .unwrap();
    assert!(insecure.is_cluster());
    let v: String = redis::cmd("GET")
        .arg(format!("{prefix}:7"))
        .query_async(&mut insecure.routed())
        .await
        .unwrap();
    assert_eq!(v, "v");
}
