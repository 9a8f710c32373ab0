//! The overview fixture shared by the render tests: an app on an overview
//! that has seen twelve snapshots of a busy system, with or without Redis.

use chrono::{TimeZone, Utc};
use opsdeck::audit::{AuditEntry, Outcome};
use opsdeck::cache::info::SlowEntry;
use opsdeck::cache::window::Window;
use opsdeck::config::Thresholds;
use opsdeck::health::hot::TopSession;
use opsdeck::health::overview::{Overview, PgHealth, RedisHealth, SessionStates};
use opsdeck::keys::{Expiring, KeyRow, KeyState};
use opsdeck::migrations::{Summary, Tool};
use opsdeck::tui::app::App;
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ConnInfo, ContextInfo, Msg, PgInfo};
use opsdeck::tui::screens::overview::OverviewScreen;
use opsdeck::tui::screens::Cx;
use std::time::Instant;

pub fn context(read_only: bool) -> ContextInfo {
    context_with(read_only, true)
}

pub fn context_with(read_only: bool, has_redis: bool) -> ContextInfo {
    ContextInfo {
        name: "local".into(),
        read_only,
        has_pg: true,
        has_redis,
        thresholds: Thresholds::default(),
    }
}

fn at(i: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(5 * i)
}

pub fn pg_health(i: i64) -> PgHealth {
    PgHealth {
        target: "ops@db.example:5432/app".into(),
        server_version: "16.4".into(),
        connections: 20 + (i * 7) % 30,
        max_connections: 100,
        xact_total: 10_000 + i * i * 250,
        tps: None,
        cache_hit_ratio: Some(0.995 - 0.006 * i as f64),
        in_recovery: false,
        replication_lag_ms: None,
        longest_transaction_ms: Some(75_000.0),
        blocked_sessions: i64::from(i > 8),
        database_size_bytes: 1 << 30,
        sessions: SessionStates {
            active: 4 + i % 3,
            idle: 14,
            idle_in_transaction: 1,
            waiting: i64::from(i > 8),
        },
        top_sessions: vec![
            TopSession {
                pid: 4242,
                user: "app".into(),
                application_name: "billing-worker".into(),
                state: "idle in transaction".into(),
                blocking: i64::from(i > 8),
                running_ms: 75_000.0,
                waiting: false,
                query: "UPDATE invoices\n   SET status = 'paid'\n WHERE id = $1".into(),
            },
            TopSession {
                pid: 4250,
                user: "app".into(),
                application_name: "api".into(),
                state: "active".into(),
                blocking: 0,
                running_ms: 12_400.0,
                waiting: i > 8,
                query: "SELECT count(*) FROM events WHERE tenant_id = $1".into(),
            },
        ],
    }
}

pub fn redis_health(i: i64) -> RedisHealth {
    RedisHealth {
        target: "cache.example:6379/0".into(),
        cluster: false,
        masters: 1,
        version: "7.2.4".into(),
        used_memory_bytes: (40 + 3 * i as u64) << 20,
        maxmemory_bytes: 256 << 20,
        hit_ratio: Some(0.97),
        hit_ratio_lifetime: Some(0.97),
        ops_per_sec: 9_999.0,
        window: Some(Window {
            window_ms: 5_000,
            keyspace_hits: 930,
            keyspace_misses: 70,
            hit_ratio: Some(0.93),
            commands: 6_000,
            ops_per_sec: 1200.0 + (i * 37 % 11) as f64 * 40.0,
        }),
        connected_clients: 12,
        evicted_keys: 0,
        evicted_in_window: None,
        keys: 52_000,
        slowlog: vec![
            SlowEntry {
                node: "cache.example:6379".into(),
                id: 7,
                started_at: at(i) - chrono::Duration::seconds(90),
                duration_ms: 12.5,
                command: "KEYS t:42:*".into(),
                client: None,
            },
            SlowEntry {
                node: "cache.example:6379".into(),
                id: 6,
                started_at: at(i) - chrono::Duration::seconds(300),
                duration_ms: 4.2,
                command: "HGETALL session:9f2c".into(),
                client: None,
            },
        ],
        info_sample: None,
    }
}

pub fn snapshot_at(i: i64) -> Overview {
    snapshot_with(i, true)
}

pub fn snapshot_with(i: i64, redis: bool) -> Overview {
    Overview {
        collected_at: at(i),
        postgres: Some(pg_health(i)),
        postgres_error: None,
        redis: redis.then(|| redis_health(i)),
        redis_error: None,
    }
}

pub fn audit_entries() -> Vec<AuditEntry> {
    [
        ("tenants.suspend", "acme", Outcome::Ok),
        ("cache.invalidate", "t:42:*", Outcome::Cancelled),
        ("tenants.resume", "globex", Outcome::Refused),
    ]
    .into_iter()
    .enumerate()
    .map(|(n, (action, target, outcome))| AuditEntry {
        op_id: format!("op{n}"),
        started_at: at(12 - n as i64),
        actor: "ana@laptop".into(),
        db_role: Some("ops".into()),
        context: "local".into(),
        action: action.into(),
        target: target.into(),
        params: serde_json::json!({}),
        outcome,
        detail: serde_json::json!({}),
        duration_ms: Some(40),
        stored_in: Vec::new(),
    })
    .collect()
}

/// Two keys of 17 expiring within the 14-day window, the soonest first.
pub fn expiring_keys() -> Expiring {
    let key = |id: &str, prefix: &str, name: &str, days: i64| KeyRow {
        id: id.into(),
        tenant_id: "42".into(),
        name: Some(name.into()),
        prefix: Some(prefix.into()),
        scopes: Vec::new(),
        created_at: Some(at(0).to_rfc3339()),
        expires_at: Some((at(0) + chrono::Duration::days(days)).to_rfc3339()),
        last_used_at: None,
        revoked_at: None,
        replaced_by: None,
        created_by: None,
        state: KeyState::Expiring,
    };
    Expiring {
        window_days: 14,
        count: 17,
        first: vec![
            key("7", "sk_live_a1B2c3D4", "billing sync", 2),
            key("9", "sk_live_Zz9Yy8Xx", "ci deploy", 5),
        ],
    }
}

/// An app on an overview that has seen twelve snapshots, connected.
pub fn app(theme: &str, size: (u16, u16), read_only: bool) -> App {
    app_with(theme, size, read_only, true)
}

/// The same, with or without Redis in the context.
pub fn app_with(theme: &str, size: (u16, u16), read_only: bool, redis: bool) -> App {
    let snapshots = (0..12).map(|i| snapshot_with(i, redis)).collect();
    app_on(theme, size, context_with(read_only, redis), snapshots)
}

/// An app on an overview that has seen these snapshots.
pub fn app_on(theme: &str, size: (u16, u16), ctx: ContextInfo, snapshots: Vec<Overview>) -> App {
    let redis = ctx.has_redis;
    let env = Env::test_env_with_theme(theme);
    let now = Instant::now();
    let mut screen = OverviewScreen::new();
    {
        let cx = Cx {
            env: &env,
            context: &ctx,
            now,
            body_rows: 18,
            focused: true,
        };
        for s in snapshots {
            screen.apply(s, &cx);
        }
        screen.set_audit(Ok(audit_entries()));
        screen.set_keys(Ok(Some(expiring_keys())));
        screen.set_migrations(Ok(Some(Summary {
            latest: Some("0007_add_invoices".into()),
            latest_tool: Some(Tool::Drizzle),
            latest_at: Some(at(0)),
            latest_age_ms: Some(3 * 3_600_000),
            stuck: vec!["pgroll in_progress: 02_split_name".into()],
        })));
    }
    let (mut app, _) = App::with_screen(env, ctx, now, size, Box::new(screen));
    app.update(Msg::Connected(Ok(ConnInfo {
        pg: Some(PgInfo {
            target: "ops@db.example:5432/app".into(),
            // As Debian's packages report it; the header shows `pg 16.4`.
            server_version: "16.4 (Debian 16.4-1.pgdg120+2)".into(),
            role: "ops".into(),
        }),
        redis: redis.then(|| "cache.example:6379/0".into()),
        ..ConnInfo::default()
    })));
    app
}

pub fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\b\d+(s|m|h) ago", "[age]"),
        (r"\b\d+\.\d+s\b", "[duration]"),
        (r"pg \d+(\.\d+)*", "pg [version]"),
        (r"[\w.-]+@[\w.-]+:\d+/\w+", "[pg-target]"),
        (r"[a-z][\w.-]*\.example:\d+(/\d+)?", "[redis-target]"),
    ]
}
