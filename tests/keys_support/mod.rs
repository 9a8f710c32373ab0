//! The API keys fixture shared by tests/keys*.rs: the reference schema's
//! tenants and api_keys tables in a database of the test's own, and the
//! backend's check written out as the backend does it (SHA-256 of the whole
//! key computed by Postgres, lookup by hash, revoked_at and expires_at).
#![allow(dead_code)]

use crate::common::TestDb;

pub const FIXTURE: &str = r#"
CREATE TABLE tenants (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, slug text UNIQUE NOT NULL,
    name text, plan text, status text NOT NULL DEFAULT 'active', created_at timestamptz DEFAULT now());
INSERT INTO tenants (slug, name, plan) VALUES ('acme', 'Acme Corp', 'pro'), ('globex', 'Globex', 'free');
CREATE TABLE api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL REFERENCES tenants (id),
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    scopes text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    replaced_by bigint,
    created_by text
);
INSERT INTO api_keys (tenant_id, name, prefix, key_hash, expires_at, revoked_at)
SELECT 2, v.name, 'sk_live_old' || v.n, md5(v.name), v.expires_at, v.revoked_at
FROM (VALUES (1, 'expired', now() - interval '1 day', NULL::timestamptz),
             (2, 'revoked', NULL, now() - interval '1 hour'),
             (3, 'expiring', now() + interval '2 days', NULL),
             (4, 'active', now() + interval '60 days', NULL)) v(n, name, expires_at, revoked_at);
"#;

pub async fn fixture() -> TestDb {
    let db = TestDb::new().await;
    db.client().await.batch_execute(FIXTURE).await.unwrap();
    db
}

/// What the backend does with a presented key: hash it, look the hash up,
/// accept it only when not revoked and not expired. Opsdeck's code is not used.
pub async fn backend_accepts(db: &TestDb, key: &str) -> bool {
    let c = db.client().await;
    let row = c
        .query_opt(
            "SELECT revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
             FROM api_keys WHERE key_hash = encode(sha256(convert_to($1::text, 'UTF8')), 'hex')",
            &[&key],
        )
        .await
        .unwrap();
    row.is_some_and(|r| r.get::<_, bool>(0))
}

/// Every file under `dir`, read as text, with its path.
pub fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, String)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned();
                out.push((p, text));
            }
        }
    }
    out
}
