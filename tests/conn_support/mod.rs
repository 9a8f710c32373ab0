//! A throwaway Postgres that really checks passwords (scram-sha-256 over TCP
//! for every role but postgres), for the connection and keyring tests. The
//! machine's own server trusts 127.0.0.1, where password handling can't be seen.
#![allow(dead_code)]

use opsdeck::config::{Context, ContextOverrides, ResolvedContext};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const APP_USER: &str = "app";
/// Every character libpq makes people escape somewhere.
pub const APP_PASSWORD: &str = "p@ss:w/rd %x 'q\\z";
pub const APP_DB: &str = "appdb";

pub struct ScramServer {
    pub sandbox: PgSandbox,
}

impl ScramServer {
    pub async fn start() -> ScramServer {
        let sandbox =
            PgSandbox::start(PgOptions::default().setting("password_encryption", "scram-sha-256"))
                .await
                .expect("start a throwaway Postgres");
        let c = sandbox
            .connect("postgres")
            .await
            .expect("connect as postgres");
        c.batch_execute(&format!(
            "CREATE ROLE \"{APP_USER}\" LOGIN PASSWORD '{}'",
            APP_PASSWORD.replace('\'', "''")
        ))
        .await
        .expect("create the app role");
        c.batch_execute(&format!(
            "CREATE DATABASE \"{APP_DB}\" OWNER \"{APP_USER}\""
        ))
        .await
        .expect("create the app database");
        std::fs::write(
            sandbox.data_dir().join("pg_hba.conf"),
            "local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n",
        )
        .expect("write pg_hba.conf");
        c.batch_execute("SELECT pg_reload_conf()")
            .await
            .expect("reload");
        let server = ScramServer { sandbox };
        // The postmaster rereads pg_hba.conf on SIGHUP; wait until a
        // password-less login as the app role is refused.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = server.url(None);
            let refused = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .is_err();
            if refused {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "pg_hba.conf reload did not take effect"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    pub fn port(&self) -> u16 {
        self.sandbox.port()
    }

    /// URL for the app role, with the password percent-encoded when given.
    pub fn url(&self, password: Option<&str>) -> String {
        let auth = match password {
            Some(p) => format!("{APP_USER}:{}", encode(p)),
            None => APP_USER.to_string(),
        };
        format!("postgres://{auth}@127.0.0.1:{}/{APP_DB}", self.port())
    }
}

/// Percent-encodes everything but unreserved characters.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A context named `name` with this spec, as the CLI would resolve it.
pub fn context(
    name: &str,
    pg: &str,
    read_only: bool,
    password_command: Option<&str>,
) -> ResolvedContext {
    ResolvedContext::resolve(
        name.to_string(),
        Context {
            pg: Some(pg.to_string()),
            read_only,
            password_command: password_command.map(str::to_string),
            ..Context::default()
        },
        &ContextOverrides::default(),
    )
}

/// An injected environment: exactly these variables.
pub fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
    let m: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    move |k: &str| m.get(k).cloned()
}
