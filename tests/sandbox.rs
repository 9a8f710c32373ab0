//! Throwaway servers: start, answer, clean up on drop, run in parallel, and
//! leftovers of dead owners removed at the next start.

mod common;

use opsdeck::sandbox::dirs::{self, Kind, Owner};
use opsdeck::sandbox::{PgOptions, PgSandbox, RedisClusterSandbox, RedisSandbox};
use std::process::{Command, Stdio};
use std::time::Duration;

fn pid_alive(pid: u32) -> bool {
    dirs::pid_alive(pid)
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

async fn wait_gone(pid: u32) -> bool {
    for _ in 0..100 {
        if !pid_alive(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// A pid that certainly belongs to no running process.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sandbox_starts_with_stats_and_is_removed_on_drop() {
    let sb = PgSandbox::start(PgOptions::default().setting("work_mem", "8MB"))
        .await
        .unwrap();
    let dir = sb.dir().to_path_buf();
    assert!(dir.starts_with(dirs::root()));
    assert!(sb.url().ends_with(&format!(":{}/postgres", sb.port())));
    let client = sb.connect("postgres").await.unwrap();
    let row = client
        .query_one(
            "SELECT current_setting('shared_preload_libraries'), current_setting('pg_stat_statements.track'), current_setting('work_mem'), current_setting('fsync')",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "pg_stat_statements");
    assert_eq!(row.get::<_, String>(1), "all");
    assert_eq!(row.get::<_, String>(2), "8MB");
    assert_eq!(row.get::<_, String>(3), "off");
    let n: i64 = client
        .query_one("SELECT count(*) FROM pg_stat_statements", &[])
        .await
        .unwrap()
        .get(0);
    assert!(n >= 1, "pg_stat_statements records queries");

    sb.create_database("app \"ü\"").await.unwrap();
    let app = sb.connect("app \"ü\"").await.unwrap();
    let exts: Vec<String> = app
        .query("SELECT extname::text FROM pg_extension ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(exts.contains(&"pg_stat_statements".to_string()), "{exts:?}");
    let available: bool = app
        .query_one(
            "SELECT exists(SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(exts.contains(&"amcheck".to_string()), available);

    let port = sb.port();
    drop(client);
    drop(app);
    drop(sb);
    assert!(!dir.exists(), "sandbox dir removed");
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "server stopped"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_pg_sandboxes_run_side_by_side() {
    let (a, b) = tokio::join!(
        PgSandbox::start(PgOptions::default()),
        PgSandbox::start(PgOptions::default())
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.port(), b.port());
    assert_ne!(a.dir(), b.dir());
    for sb in [&a, &b] {
        let c = sb.connect("postgres").await.unwrap();
        let port: String = c
            .query_one("SELECT current_setting('port')", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(port, sb.port().to_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_pg_sandbox_leaves_its_data_dir() {
    let sb = PgSandbox::start(PgOptions::default().keep(true))
        .await
        .unwrap();
    let dir = sb.dir().to_path_buf();
    drop(sb);
    assert!(dir.join("data").join("PG_VERSION").exists());
    assert!(!dir.join("data").join("postmaster.pid").exists(), "stopped");
    dirs::clean_stale();
    assert!(dir.exists(), "stale cleanup leaves kept dirs alone");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_sandboxes_of_dead_owners_are_stopped_and_removed() {
    // A leftover Redis sandbox: a live redis-server whose owner died.
    let dir = dirs::create("redis", Kind::Redis).unwrap();
    let port = dirs::free_port().unwrap();
    let mut orphan = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .arg("--dir")
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let owner = Owner {
        pid: dead_pid(),
        kind: Kind::Redis,
        children: vec![orphan.id()],
    };
    dirs::write_owner(&dir, &owner).unwrap();
    // A leftover Postgres cluster whose owner died, still running.
    let pg = PgSandbox::start(PgOptions::default()).await.unwrap();
    let pg_dir = pg.dir().to_path_buf();
    let pg_port = pg.port();
    dirs::write_owner(
        &pg_dir,
        &Owner {
            pid: dead_pid(),
            kind: Kind::Pg,
            children: vec![],
        },
    )
    .unwrap();
    std::mem::forget(pg);

    // The next start cleans both up.
    let fresh = RedisSandbox::start().await.unwrap();
    assert!(!dir.exists(), "stale redis dir removed");
    assert!(!pg_dir.exists(), "stale pg dir removed");
    orphan.wait().unwrap();
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err(),
        "orphan redis killed"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", pg_port))
            .await
            .is_err(),
        "orphan postgres stopped"
    );
    assert!(fresh.dir().exists(), "a live owner's sandbox is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_sandbox_answers_and_is_killed_on_drop() {
    let sb = RedisSandbox::start().await.unwrap();
    let dir = sb.dir().to_path_buf();
    let pid = sb.pid();
    let redis = opsdeck::conn::redis::connect_url(&sb.url(), None)
        .await
        .unwrap();
    assert!(!redis.is_cluster());
    let mut conn = redis.routed();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query_async(&mut conn)
        .await
        .unwrap();
    let v: String = redis::cmd("GET")
        .arg("k")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(v, "v");
    let save: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("save")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(save, vec!["save".to_string(), String::new()]);
    drop(sb);
    assert!(!dir.exists());
    assert!(wait_gone(pid).await, "redis-server {pid} killed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_cluster_sandbox_has_three_masters() {
    let sb = RedisClusterSandbox::start(3).await.unwrap();
    assert_eq!(sb.urls().len(), 3);
    for url in sb.urls() {
        let client = redis::Client::open(url.as_str()).unwrap();
        let mut c = client.get_multiplexed_async_connection().await.unwrap();
        let info: String = redis::cmd("CLUSTER")
            .arg("INFO")
            .query_async(&mut c)
            .await
            .unwrap();
        assert!(info.contains("cluster_state:ok"), "{info}");
    }
    let redis = opsdeck::conn::redis::connect_url(&sb.seed_url(), None)
        .await
        .unwrap();
    assert!(redis.is_cluster());
    assert_eq!(redis.masters().len(), 3);
    let mut conn = redis.routed();
    for i in 0..20 {
        let _: () = redis::cmd("SET")
            .arg(format!("key:{i}"))
            .arg(i)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let mut total = 0;
    for node in redis.masters() {
        let n: i64 = redis::cmd("DBSIZE")
            .query_async(&mut node.conn.clone())
            .await
            .unwrap();
        total += n;
    }
    assert_eq!(total, 20, "keys spread over the masters");
    let pids = sb.pids();
    let dir = sb.dir().to_path_buf();
    drop(redis);
    drop(sb);
    assert!(!dir.exists());
    for pid in pids {
        assert!(wait_gone(pid).await);
    }
}

#[tokio::test]
async fn a_cluster_needs_three_masters() {
    let err = RedisClusterSandbox::start(2).await.unwrap_err();
    assert_eq!(err.exit_code(), opsdeck::ExitCode::Usage);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_seed_builds_the_reference_system() {
    use opsdeck::sandbox::seed::{self, Scale};
    let sb = PgSandbox::start(PgOptions::default()).await.unwrap();
    sb.create_database("app").await.unwrap();
    let client = sb.connect("app").await.unwrap();
    let steps = std::sync::Mutex::new(Vec::new());
    let report = seed::seed_postgres(&client, Scale::Tiny, &|s| {
        steps.lock().unwrap().push((s.done, s.total, s.label))
    })
    .await
    .unwrap();
    let sizes = Scale::Tiny.sizes();
    assert_eq!(report.tenants, sizes.tenants);
    assert_eq!(report.events, sizes.events);
    assert_eq!(report.users, sizes.users);
    assert!(report.audit_log > 0, "trigger wrote the app's audit log");
    let steps = steps.into_inner().unwrap();
    assert_eq!(
        steps.last().unwrap().0,
        steps.last().unwrap().1,
        "progress ends at 100%"
    );

    // Skew: the first tenant is a whale.
    let rows = client
        .query(
            "SELECT tenant_id, count(*) FROM events GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows[0].get::<_, i64>(0), 1);
    assert!(rows[0].get::<_, i64>(1) > sizes.events / 10);

    // Odd names, and plans following plan_of.
    let names: Vec<String> = client
        .query("SELECT name FROM tenants ORDER BY id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(names.iter().any(|n| n.contains('\'')));
    assert!(names.iter().any(|n| n.contains('"')));
    assert!(names.iter().any(|n| n.contains('🚀')));
    for r in client
        .query("SELECT id, plan FROM tenants WHERE id > 1", &[])
        .await
        .unwrap()
    {
        assert_eq!(
            r.get::<_, String>(1),
            seed::plan_of(r.get(0), sizes.whales),
            "tenant {}",
            r.get::<_, i64>(0)
        );
    }
    let statuses: Vec<String> = client
        .query("SELECT DISTINCT status FROM tenants ORDER BY 1", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["active", "deleted", "suspended"]);

    // RLS on every tenant table except projects.
    let rls: Vec<(String, bool)> = client
        .query(
            "SELECT relname::text, relrowsecurity FROM pg_class WHERE relname IN ('users','projects','invoices','events','api_keys') ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        rls,
        [
            ("api_keys".to_string(), true),
            ("events".to_string(), true),
            ("invoices".to_string(), true),
            ("projects".to_string(), false),
            ("users".to_string(), true)
        ]
    );
    let policies: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_policies WHERE qual LIKE '%app.tenant_id%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(policies, 4);

    // One duplicate index and one tenant table without a tenant_id index.
    let dup: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relname = 'users' AND i.indkey::text = (SELECT attnum::text FROM pg_attribute WHERE attrelid = 'users'::regclass AND attname = 'tenant_id')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(dup, 2);
    let invoice_idx: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'invoices' AND indexdef LIKE '%tenant_id%'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(invoice_idx, 0);

    // API keys in every state, hashes only.
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE revoked_at IS NULL AND replaced_by IS NULL AND (expires_at IS NULL OR expires_at > now() + interval '30 days')),
                    count(*) FILTER (WHERE revoked_at IS NULL AND replaced_by IS NULL AND expires_at BETWEEN now() AND now() + interval '7 days'),
                    count(*) FILTER (WHERE revoked_at IS NULL AND replaced_by IS NULL AND expires_at < now()),
                    count(*) FILTER (WHERE revoked_at IS NOT NULL),
                    count(*) FILTER (WHERE replaced_by IS NOT NULL AND expires_at > now()),
                    count(*) FILTER (WHERE replaced_by IS NOT NULL AND expires_at < now()),
                    bool_and(key_hash ~ '^[0-9a-f]{64}$'),
                    bool_and(prefix ~ '^sk_(live|test)_[0-9A-Za-z]{8}$')
             FROM api_keys",
            &[],
        )
        .await
        .unwrap();
    for i in 0..6 {
        assert!(row.get::<_, i64>(i) > 0, "key state {i} present");
    }
    assert!(row.get::<_, bool>(6));
    assert!(row.get::<_, bool>(7));
    let audit: Vec<(String, String)> = client
        .query(
            "SELECT DISTINCT table_name, action FROM audit_log ORDER BY 1, 2",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert!(audit.contains(&("api_keys".into(), "insert".into())));
    assert!(audit.contains(&("api_keys".into(), "update".into())));
    assert!(audit.contains(&("tenants".into(), "update".into())));

    // The workload left slow statements in pg_stat_statements.
    let slow: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = 'app' AND s.query LIKE '%FROM events WHERE user_id = $1%' AND s.calls >= 5",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(slow, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_redis_seed_writes_tenant_keys_with_ttls_and_tags() {
    use opsdeck::sandbox::seed::{self, Scale};
    let sb = RedisSandbox::start().await.unwrap();
    let report = seed::seed_redis(&sb.url(), Scale::Tiny).await.unwrap();
    let client = redis::Client::open(sb.url().as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("t:*")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(keys.len() as u64, report.keys);
    assert!(keys.iter().all(|k| {
        let p: Vec<&str> = k.split(':').collect();
        p.len() == 4 && p[1].parse::<u64>().is_ok() && p[3].parse::<u64>().is_ok()
    }));
    let mut ttl_count = 0;
    let mut types = std::collections::BTreeSet::new();
    for k in &keys {
        let ttl: i64 = redis::cmd("TTL").arg(k).query_async(&mut c).await.unwrap();
        if ttl > 0 {
            ttl_count += 1;
        }
        let t: String = redis::cmd("TYPE").arg(k).query_async(&mut c).await.unwrap();
        types.insert(t);
    }
    assert_eq!(ttl_count, report.with_ttl);
    assert!(
        ttl_count > 0 && ttl_count < report.keys,
        "some keys without TTL"
    );
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        ["hash", "list", "set", "string", "zset"]
    );
    let tagged: Vec<String> = redis::cmd("SMEMBERS")
        .arg("tag:plan:enterprise")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(!tagged.is_empty());
    assert!(tagged.iter().all(|k| keys.contains(k)));
}
