//! Bulk rows, generated server-side with `INSERT ... SELECT generate_series`.
//! Tenant ids are skewed with `1 + floor(random()^3 * tenants)`: the first
//! few tenants (whales) get most rows, the long tail a handful each.

use super::Sizes;
use crate::error::Result;
use tokio_postgres::Client;

/// Tenants whose names exercise quoting, Unicode and emoji everywhere they
/// are shown or used in SQL.
const SPECIAL_TENANTS: &[(&str, &str)] = &[
    ("acme", "Acme Corp"),
    ("globex", "Globex \"Global\" Ltd"),
    ("oreilly", "O'Reilly Media"),
    ("cafe-zurich", "Café Zürich AG"),
    ("tokyo-lab", "東京ラボ株式会社"),
    ("rocket", "🚀 Rocket Science"),
    ("unicode-sons", "Ünïcødé & Sons"),
    ("bobby-tables", "Robert'); DROP TABLE tenants;--"),
];

/// The plan rule of [`super::plan_of`], in SQL over `g` (the tenant id).
const PLAN_SQL: &str =
    "CASE WHEN g <= $2 THEN 'enterprise' WHEN g % 4 = 0 THEN 'pro' ELSE 'free' END";

/// A skewed tenant id for each generated row.
const SKEWED_TENANT: &str = "1 + floor(power(random(), 3) * $1::bigint)::bigint";

pub async fn tenants(client: &Client, s: &Sizes) -> Result<()> {
    let specials = i64::try_from(SPECIAL_TENANTS.len())
        .unwrap_or(0)
        .min(s.tenants);
    for (i, (slug, name)) in SPECIAL_TENANTS
        .iter()
        .enumerate()
        .take(usize::try_from(specials).unwrap_or(0))
    {
        let id = i64::try_from(i).unwrap_or(0) + 1;
        client
            .execute(
                &format!(
                    "INSERT INTO tenants (id, slug, name, plan, status, created_at)
                     OVERRIDING SYSTEM VALUE
                     SELECT g, $3, $4, {PLAN_SQL}, 'active', now() - interval '900 days' + g::float8 * interval '1 day'
                     FROM (SELECT $1::bigint AS g) x"
                ),
                &[&id, &s.whales, slug, name],
            )
            .await?;
    }
    client
        .execute(
            &format!(
                "INSERT INTO tenants (id, slug, name, plan, status, created_at, deleted_at)
                 OVERRIDING SYSTEM VALUE
                 SELECT g,
                        'tenant-' || g,
                        (ARRAY['Northwind', 'Contoso', 'Initech', 'Umbrella', 'Hooli', 'Vandelay',
                               'Stark', 'Wayne', 'Cyberdyne', 'Soylent', 'Tyrell', 'Wonka'])[1 + (g % 12)::int]
                          || ' ' || (ARRAY['Labs', 'Systems', 'Group', 'Studio', 'Analytics', 'Cloud',
                                           'Health', 'Foods'])[1 + ((g / 12) % 8)::int] || ' ' || g,
                        {PLAN_SQL},
                        CASE WHEN g <= $2 THEN 'active'
                             WHEN g % 31 = 0 THEN 'deleted'
                             WHEN g % 13 = 0 THEN 'suspended'
                             ELSE 'active' END,
                        now() - random() * interval '900 days',
                        CASE WHEN g > $2 AND g % 31 = 0 THEN now() - random() * interval '60 days' END
                 FROM generate_series($3::bigint, $1::bigint) g"
            ),
            &[&s.tenants, &s.whales, &(specials + 1)],
        )
        .await?;
    client
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('tenants', 'id'), (SELECT max(id) FROM tenants))",
        )
        .await?;
    Ok(())
}

pub async fn users_and_projects(client: &Client, s: &Sizes) -> Result<()> {
    client
        .execute(
            &format!(
                "INSERT INTO users (id, tenant_id, email, name, role, created_at, last_login_at)
                 OVERRIDING SYSTEM VALUE
                 SELECT g,
                        {SKEWED_TENANT},
                        CASE WHEN g % 7 = 0 THEN 'User' || g || '@Example.COM' ELSE 'user' || g || '@example.com' END,
                        (ARRAY['Ada', 'Grace', 'Linus', 'Zoë', 'José', 'Søren', 'Małgorzata', '李雷',
                               'Dana O''Brien'])[1 + (g % 9)::int] || ' ' || g,
                        (ARRAY['owner', 'admin', 'member', 'member', 'viewer'])[1 + (g % 5)::int],
                        now() - random() * interval '700 days',
                        CASE WHEN g % 5 <> 0 THEN now() - random() * interval '30 days' END
                 FROM generate_series(1, $2::bigint) g"
            ),
            &[&s.tenants, &s.users],
        )
        .await?;
    client
        .execute(
            "INSERT INTO projects (id, tenant_id, owner_id, name, archived, created_at)
             OVERRIDING SYSTEM VALUE
             SELECT g, u.tenant_id, u.id,
                    (ARRAY['Website', 'Mobile app', 'Billing', 'Data pipeline', 'Onboarding',
                           'Q3 \"launch\"', 'Résumé parser'])[1 + (g % 7)::int] || ' ' || g,
                    g % 9 = 0,
                    now() - random() * interval '500 days'
             FROM generate_series(1, $1::bigint) g
             JOIN users u ON u.id = 1 + (g * 7919) % $2::bigint",
            &[&s.projects, &s.users],
        )
        .await?;
    client
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users));
             SELECT setval(pg_get_serial_sequence('projects', 'id'), (SELECT max(id) FROM projects));",
        )
        .await?;
    Ok(())
}

pub async fn invoices(client: &Client, s: &Sizes) -> Result<()> {
    client
        .execute(
            &format!(
                "INSERT INTO invoices (tenant_id, number, amount_cents, currency, status, issued_at, due_at, paid_at)
                 SELECT {SKEWED_TENANT},
                        'INV-' || lpad(g::text, 8, '0'),
                        (500 + random() * 250000)::bigint,
                        (ARRAY['EUR', 'USD', 'USD', 'GBP'])[1 + (g % 4)::int],
                        st,
                        issued,
                        issued + interval '30 days',
                        CASE WHEN st = 'paid' THEN issued + random() * interval '40 days' END
                 FROM (SELECT g,
                              (ARRAY['paid', 'paid', 'paid', 'open', 'open', 'draft', 'void'])[1 + (g % 7)::int] AS st,
                              now() - random() * interval '720 days' AS issued
                       FROM generate_series(1, $2::bigint) g) x"
            ),
            &[&s.tenants, &s.invoices],
        )
        .await?;
    Ok(())
}

/// Events `lo..=hi`, in time order so `created_at` follows the physical order
/// like a real append-only table.
pub async fn events(client: &Client, s: &Sizes, lo: i64, hi: i64) -> Result<()> {
    client
        .execute(
            &format!(
                "INSERT INTO events (tenant_id, user_id, project_id, kind, payload, created_at)
                 SELECT {SKEWED_TENANT},
                        1 + floor(random() * $2::bigint)::bigint,
                        1 + floor(random() * $3::bigint)::bigint,
                        (ARRAY['login', 'page_view', 'page_view', 'page_view', 'api_call', 'api_call',
                               'export', 'invite', 'billing.updated'])[1 + (g % 9)::int],
                        jsonb_build_object('ip', '10.0.' || g % 250 || '.' || g % 199, 'ms', g % 997),
                        now() - interval '90 days' + (g::float8 / $4) * interval '90 days'
                 FROM generate_series($5::bigint, $6::bigint) g"
            ),
            &[&s.tenants, &s.users, &s.projects, &(s.events as f64), &lo, &hi],
        )
        .await?;
    Ok(())
}

/// Changes made after the audit trigger exists, so the app's audit_log has
/// a history: a whale upgraded, some tenants suspended and one deleted.
pub async fn tenant_changes(client: &Client, s: &Sizes) -> Result<()> {
    client
        .batch_execute("SET app.actor = 'ops@example.com'")
        .await?;
    client
        .execute(
            "UPDATE tenants SET plan = 'enterprise' WHERE id = $1",
            &[&s.whales.max(1)],
        )
        .await?;
    client
        .execute(
            "UPDATE tenants SET status = 'suspended' WHERE id IN (SELECT id FROM tenants WHERE status = 'active' AND id > $1 ORDER BY id DESC LIMIT 3)",
            &[&s.whales],
        )
        .await?;
    client
        .execute(
            "UPDATE tenants SET status = 'deleted', deleted_at = now() WHERE id = (SELECT max(id) FROM tenants WHERE status = 'suspended')",
            &[],
        )
        .await?;
    client.batch_execute("RESET app.actor").await?;
    Ok(())
}
