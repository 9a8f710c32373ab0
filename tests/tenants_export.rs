//! A whole-table export must not be cut off by the context's interactive
//! statement_timeout.

mod common;

use common::{home, opsdeck, TestDb};

#[tokio::test]
async fn export_outlives_the_interactive_statement_timeout() {
    let db = TestDb::new().await;
    let c = db.client().await;
    c.batch_execute(
        "CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE, name text, plan text,
                               status text NOT NULL DEFAULT 'active', created_at timestamptz DEFAULT now());
         INSERT INTO tenants (id, slug, name, plan)
           SELECT g, 'tenant-' || g, repeat('n', 200) || g, 'pro' FROM generate_series(1, 400000) g;
         ANALYZE tenants;",
    )
    .await
    .unwrap();
    let h = home();
    let cfg = h.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[contexts.t]\npg = \"{}\"\nstatement_timeout_ms = 150\n",
            db.url
        ),
    )
    .unwrap();
    let slow: f64 = c
        .query_one(
            "EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM tenants ORDER BY id",
            &[],
        )
        .await
        .map(|r| {
            r.get::<_, serde_json::Value>(0)[0]["Execution Time"]
                .as_f64()
                .unwrap_or(0.0)
        })
        .unwrap();
    let out = opsdeck(h.path())
        .args(["--config"])
        .arg(&cfg)
        .args(["tenants", "list", "--output", "csv"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = out.stdout.iter().filter(|&&b| b == b'\n').count();
    assert_eq!(
        lines, 400_001,
        "header plus every row (the plain scan takes {slow:.0} ms)"
    );
}
