//! The index-advice fixture: a multi-tenant SaaS schema with million-row
//! tables built by set-based inserts, the indexes a real one would have
//! (primary keys, one composite on orders), and the application's workload
//! run as prepared statements with varying parameters so that
//! pg_stat_statements records their `$n` forms. Each missing index has a
//! target statement; the decoys need no index.
#![allow(dead_code)]

use opsdeck::config::{Config, ContextOverrides, Paths};
use opsdeck::sandbox::{PgOptions, PgSandbox};
use opsdeck::session::Session;
use std::path::Path;
use tokio_postgres::types::ToSql;
use tokio_postgres::Client;

/// The tables, one statement group each: they load in parallel.
pub const TABLES: [&str; 6] = ["
CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE NOT NULL, name text NOT NULL,
  plan text NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL, deleted_at timestamptz);
INSERT INTO tenants SELECT g, 'tenant-' || g, 'Tenant ' || g, (ARRAY['free','pro','enterprise'])[1 + g % 3],
  CASE WHEN g % 50 = 0 THEN 'suspended' ELSE 'active' END, timestamptz '2023-01-01' + g * interval '1 hour', NULL
  FROM generate_series(1::bigint, 2000) g;
", "
CREATE TABLE users (id bigint PRIMARY KEY, tenant_id bigint NOT NULL,
  email text NOT NULL, name text NOT NULL, created_at timestamptz NOT NULL, deleted_at timestamptz);
INSERT INTO users SELECT g, 1 + g % 2000, 'User' || g || '@Example.com', 'user ' || g,
  timestamptz '2023-01-01' + g * interval '30 seconds',
  CASE WHEN g % 20 = 0 THEN timestamptz '2024-06-01' END
  FROM generate_series(1::bigint, 1000000) g;
", "
CREATE TABLE orders (id bigint PRIMARY KEY, tenant_id bigint NOT NULL,
  user_id bigint NOT NULL, status text NOT NULL, total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO orders SELECT g, 1 + g % 2000, 1 + (g * 7919) % 1000000, (ARRAY['paid','pending','refunded'])[1 + g % 3],
  (g % 50000) / 100.0, timestamptz '2024-01-01' + ((g * 104729) % 31536000) * interval '1 second'
  FROM generate_series(1::bigint, 1000000) g;
CREATE INDEX orders_tenant_id_created_at_idx ON orders (tenant_id, created_at);
", "
CREATE TABLE tickets (id bigint PRIMARY KEY, tenant_id bigint NOT NULL,
  assignee_id bigint, status text NOT NULL, priority int NOT NULL, subject text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO tickets SELECT g, 1 + g % 2000, 1 + g % 5000,
  CASE WHEN g % 12 = 0 THEN 'open' WHEN g % 12 = 1 THEN 'pending' ELSE 'closed' END,
  g % 4, 'Ticket ' || g, timestamptz '2024-01-01' + ((g * 7907) % 31536000) * interval '1 second'
  FROM generate_series(1::bigint, 300000) g;
", "
CREATE TABLE ticket_comments (id bigint PRIMARY KEY, ticket_id bigint NOT NULL, author_id bigint NOT NULL,
  body text NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO ticket_comments SELECT g, 1 + (g * 31) % 300000, 1 + g % 5000, 'comment body ' || g,
  timestamptz '2024-01-01' + g * interval '20 seconds' FROM generate_series(1::bigint, 1000000) g;
", "
CREATE TABLE events (id bigint PRIMARY KEY, tenant_id bigint NOT NULL, kind text NOT NULL,
  payload jsonb NOT NULL, created_at timestamptz NOT NULL);
INSERT INTO events SELECT g, 1 + g % 2000, 'k' || (g % 40),
  jsonb_build_object('type', 'evt' || (g % 200), 'user', g % 100000, 'ip', '10.0.' || (g % 250) || '.' || (g % 200),
                     'agent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/' || (g % 120),
                     'path', '/api/v2/tenants/' || (1 + g % 2000) || '/projects/' || (g % 977) || '/issues/' || g,
                     'referrer', 'https://app.example.com/t/' || (1 + g % 2000) || '/projects/' || (g % 977) || '?tab=activity&filter=open',
                     'session', md5(g::text)),
  timestamptz '2025-01-01' + g * interval '3 seconds'
  FROM generate_series(1::bigint, 1000000) g;
"];

/// After the load: foreign keys checked in one pass each, and statistics.
pub const FINISH: &str = "
ALTER TABLE users ADD FOREIGN KEY (tenant_id) REFERENCES tenants(id);
ALTER TABLE orders ADD FOREIGN KEY (tenant_id) REFERENCES tenants(id);
ALTER TABLE tickets ADD FOREIGN KEY (tenant_id) REFERENCES tenants(id);
ANALYZE;
";

/// A statement of the application, the parameters of each call, and what
/// the test expects of it.
pub struct AppQuery {
    pub sql: &'static str,
    pub params: fn(i64) -> Vec<Box<dyn ToSql + Sync + Send>>,
    /// (table, columns, method, where) of the index it needs; None: a decoy.
    pub needs: Option<(
        &'static str,
        &'static [&'static str],
        &'static str,
        Option<&'static str>,
    )>,
}

fn b<T: ToSql + Sync + Send + 'static>(v: T) -> Box<dyn ToSql + Sync + Send> {
    Box::new(v)
}

fn ts(i: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2025-01-10T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc)
        + chrono::Duration::hours(i)
}

pub fn workload() -> Vec<AppQuery> {
    vec![
        AppQuery {
            sql: "SELECT id, total, created_at FROM orders WHERE user_id = $1 AND created_at >= $2 ORDER BY created_at DESC LIMIT 20",
            params: |i| vec![b(1 + i * 977), b(ts(-24 * 300))],
            needs: Some(("public.orders", &["user_id", "created_at"], "btree", None)),
        },
        AppQuery {
            sql: "SELECT id, tenant_id, name FROM users WHERE lower(email) = $1",
            params: |i| vec![b(format!("user{}@example.com", 1 + i * 31))],
            needs: Some(("public.users", &["lower(email)"], "btree", None)),
        },
        AppQuery {
            sql: "SELECT id, name FROM users WHERE tenant_id = $1 AND deleted_at IS NULL",
            params: |i| vec![b(1 + i)],
            needs: Some(("public.users", &["tenant_id"], "btree", Some("deleted_at IS NULL"))),
        },
        AppQuery {
            sql: "SELECT id, subject, priority FROM tickets WHERE status <> 'closed' ORDER BY created_at LIMIT 100",
            params: |_| vec![],
            needs: Some(("public.tickets", &["created_at"], "btree", Some("status <> 'closed'"))),
        },
        AppQuery {
            sql: "SELECT c.id, c.body FROM tickets t JOIN ticket_comments c ON c.ticket_id = t.id WHERE t.id = $1",
            params: |i| vec![b(1 + i * 13)],
            needs: Some(("public.ticket_comments", &["ticket_id"], "btree", None)),
        },
        AppQuery {
            sql: "SELECT count(*) FROM events WHERE created_at >= $1 AND created_at < $2",
            params: |i| vec![b(ts(i)), b(ts(i + 1))],
            needs: Some(("public.events", &["created_at"], "brin", None)),
        },
        AppQuery {
            sql: "SELECT id, created_at FROM events WHERE payload @> $1::jsonb",
            params: |i| vec![b(serde_json::json!({"type": format!("evt{}", i % 200)}))],
            needs: Some(("public.events", &["payload"], "gin", None)),
        },
        // Decoys: a primary-key lookup, a tiny table, a column an existing
        // index serves, and a predicate too unselective for any index.
        AppQuery {
            sql: "SELECT id, email, name FROM users WHERE id = $1",
            params: |i| vec![b(1 + i * 101)],
            needs: None,
        },
        AppQuery {
            sql: "SELECT id, slug FROM tenants WHERE plan = $1",
            params: |i| vec![b(["free", "pro", "enterprise"][i as usize % 3].to_string())],
            needs: None,
        },
        AppQuery {
            sql: "SELECT id, total FROM orders WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 20",
            params: |i| vec![b(1 + i)],
            needs: None,
        },
        AppQuery {
            sql: "SELECT count(*) FROM tickets WHERE priority = $1",
            params: |i| vec![b((i % 4) as i32)],
            needs: None,
        },
    ]
}

/// Calls per statement of the workload.
pub const CALLS: i64 = 3;

/// Runs the workload as the application: each statement prepared once,
/// executed with varying parameters.
pub async fn run_workload(app: &Client) {
    for q in workload() {
        let st = app
            .prepare(q.sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", q.sql));
        for i in 0..CALLS {
            let owned = (q.params)(i);
            let params: Vec<&(dyn ToSql + Sync)> =
                owned.iter().map(|p| &**p as &(dyn ToSql + Sync)).collect();
            app.query(&st, &params)
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", q.sql));
        }
    }
}

/// A throwaway cluster with pg_stat_statements preloaded and the planner's
/// page cost of SSD storage, as managed Postgres services set it.
pub async fn sandbox() -> PgSandbox {
    PgSandbox::start(
        PgOptions::default()
            .setting("shared_preload_libraries", "pg_stat_statements")
            .setting("random_page_cost", "1.1"),
    )
    .await
    .expect("sandbox")
}

/// Builds the fixture database `name` once.
pub async fn build(sb: &PgSandbox, name: &str) {
    sb.create_database(name).await.unwrap();
    let loads = TABLES.iter().map(|sql| async move {
        let c = sb.connect(name).await.unwrap();
        c.batch_execute(sql).await.unwrap();
    });
    futures_util::future::join_all(loads).await;
    let c = sb.connect(name).await.unwrap();
    c.batch_execute(FINISH).await.unwrap();
}

/// A copy of the fixture (its statistics with it), with or without HypoPG.
pub async fn copy(sb: &PgSandbox, template: &str, name: &str, hypopg: bool) {
    let admin = sb.connect("postgres").await.unwrap();
    // The builder's session may still be closing: a template must have none.
    for attempt in 0.. {
        match admin
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
            .await
        {
            Ok(()) => break,
            Err(e) if attempt < 50 => {
                eprintln!("template busy: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("CREATE DATABASE {name}: {e}"),
        }
    }
    let c = sb.connect(name).await.unwrap();
    let ext = if hypopg {
        "CREATE EXTENSION IF NOT EXISTS hypopg"
    } else {
        "DROP EXTENSION IF EXISTS hypopg"
    };
    c.batch_execute(ext).await.unwrap();
}

/// An opsdeck session for `url`, auditing into `dir`.
pub fn session(url: &str, dir: &Path, extra: &str) -> Session {
    let config = Config::parse(
        &format!("default_context = \"t\"\n[contexts.t]\npg = \"{url}\"\n{extra}\n"),
        Path::new("c.toml"),
    )
    .unwrap();
    Session::new(
        config,
        Paths::under(dir.to_path_buf()),
        None,
        &ContextOverrides::default(),
    )
    .unwrap()
}
