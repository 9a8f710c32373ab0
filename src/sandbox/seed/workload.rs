//! A short application workload so pg_stat_statements holds a realistic mix:
//! fast indexed lookups, and slow statements the index advisor should catch
//! (seq scans on `events.user_id` and `events.created_at`, `lower(email)`,
//! invoices by tenant without a tenant_id index, projects by owner).

use super::Sizes;
use crate::error::Result;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::Client;

/// Runs the workload and returns how many statements it executed. Only this
/// database's statement stats are reset first, so the seed's own bulk
/// inserts do not crowd out the workload (other databases keep theirs).
pub async fn run(client: &Client, s: &Sizes) -> Result<usize> {
    let has_stats: bool = client
        .query_one(
            "SELECT exists(SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')",
            &[],
        )
        .await?
        .get(0);
    if has_stats {
        client
            .execute(
                "SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)",
                &[],
            )
            .await?;
    }
    let mut rng = StdRng::seed_from_u64(42);
    let slow = s.slow_queries;
    let mut n = 0;
    // A tenant picked like real traffic: mostly whales, sometimes the tail.
    let tenant = |rng: &mut StdRng| -> i64 {
        if rng.gen_bool(0.6) {
            rng.gen_range(1..=s.whales.max(1))
        } else {
            rng.gen_range(1..=s.tenants)
        }
    };

    let q = client
        .prepare("SELECT count(*) FROM events WHERE user_id = $1")
        .await?;
    for _ in 0..slow {
        let user: i64 = rng.gen_range(1..=s.users);
        client.query(&q, &[&user]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT count(*) FROM events WHERE created_at >= $1")
        .await?;
    for _ in 0..slow.div_ceil(2) {
        let since = chrono::Utc::now() - chrono::Duration::hours(rng.gen_range(1..48));
        client.query(&q, &[&since]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT kind, count(*) FROM events WHERE tenant_id = $1 GROUP BY kind")
        .await?;
    for _ in 0..slow {
        let t = tenant(&mut rng);
        client.query(&q, &[&t]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT id, kind, created_at FROM events WHERE tenant_id = $1 ORDER BY created_at DESC LIMIT 50")
        .await?;
    for _ in 0..60 {
        let t = tenant(&mut rng);
        client.query(&q, &[&t]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT id, email, name FROM users WHERE lower(email) = lower($1)")
        .await?;
    for _ in 0..80 {
        let email = format!("user{}@example.com", rng.gen_range(1..=s.users));
        client.query(&q, &[&email]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT count(*), sum(amount_cents) FROM invoices WHERE tenant_id = $1 AND status = 'open'")
        .await?;
    for _ in 0..80 {
        let t = tenant(&mut rng);
        client.query(&q, &[&t]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT id, slug, name, plan, status FROM tenants WHERE slug = $1")
        .await?;
    for _ in 0..100 {
        let slug = format!("tenant-{}", rng.gen_range(1..=s.tenants));
        client.query(&q, &[&slug]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT id, tenant_id, expires_at, revoked_at FROM api_keys WHERE key_hash = $1")
        .await?;
    for _ in 0..60 {
        let hash = format!("{:064x}", rng.gen::<u128>());
        client.query(&q, &[&hash]).await?;
        n += 1;
    }
    let q = client
        .prepare("SELECT id, name FROM projects WHERE owner_id = $1")
        .await?;
    for _ in 0..40 {
        let owner: i64 = rng.gen_range(1..=s.users);
        client.query(&q, &[&owner]).await?;
        n += 1;
    }
    let q = client
        .prepare("UPDATE users SET last_login_at = now() WHERE id = $1")
        .await?;
    for _ in 0..40 {
        let user: i64 = rng.gen_range(1..=s.users);
        client.execute(&q, &[&user]).await?;
        n += 1;
    }
    Ok(n)
}
