//! Plain client sessions for tests that play the application (a blocker, a
//! sleeper) next to opsdeck.

use tokio_postgres::{Client, NoTls};

/// A session to `url`; its connection task runs on the current runtime.
pub async fn client(url: &str) -> Client {
    let (c, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect to {url}: {e}"));
    tokio::spawn(conn);
    c
}

/// The server pid of a session.
pub async fn backend_pid(c: &Client) -> i32 {
    c.query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pg_backend_pid")
        .get(0)
}
