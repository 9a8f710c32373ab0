//! API keys against real Postgres, through the core: what opsdeck writes is
//! what a backend checking SHA-256 hashes accepts; revoke and rotate change
//! what it accepts; read-only contexts refuse; the secret reaches neither
//! the audit file nor the plan.

mod common;
mod keys_support;

use common::TestDb;
use keys_support::{backend_accepts, fixture};
use opsdeck::audit::{Actor, Audit};
use opsdeck::config::api_keys::ApiKeySettings;
use opsdeck::config::{Context, ContextOverrides, ResolvedContext, SchemaMap};
use opsdeck::conn::Pg;
use opsdeck::keys::{self, CreateRequest, KeyState, ListQuery, Revocation};
use opsdeck::safety::{Approval, Safety};
use opsdeck::stop::Stop;

async fn pg(db: &TestDb) -> Pg {
    let ctx = Context {
        pg: Some(db.url.clone()),
        ..Context::default()
    };
    let resolved = ResolvedContext::resolve("t".into(), ctx, &ContextOverrides::default());
    opsdeck::conn::connect_pg(&resolved).await.unwrap()
}

struct Audited {
    dir: tempfile::TempDir,
    safety: Safety,
}

fn audited(read_only: bool) -> Audited {
    let dir = tempfile::tempdir().unwrap();
    let audit = Audit::new(
        dir.path().join("audit.jsonl"),
        None,
        Actor::current(None),
        "t".into(),
    );
    Audited {
        safety: Safety::new(read_only, audit),
        dir,
    }
}

fn audit_text(a: &Audited) -> String {
    std::fs::read_to_string(a.dir.path().join("audit.jsonl")).unwrap_or_default()
}

async fn create(
    p: &Pg,
    a: &Audited,
    tenant: &str,
    expires: Option<chrono::Duration>,
) -> keys::Created {
    let req = CreateRequest {
        tenant: tenant.into(),
        name: "ci".into(),
        scopes: vec!["read".into(), "write".into()],
        expires,
    };
    let plan = keys::plan_create(p, &SchemaMap::default(), &ApiKeySettings::default(), &req)
        .await
        .unwrap();
    let approved = a.safety.authorize(plan, Approval::AssumeYes).await.unwrap();
    keys::apply_create(p, approved, &Stop::new()).await.unwrap()
}

#[tokio::test]
async fn created_key_is_stored_as_its_sha256_and_the_backend_accepts_it() {
    let db = fixture().await;
    let p = pg(&db).await;
    let a = audited(false);
    let c = create(&p, &a, "acme", Some(chrono::Duration::days(90))).await;
    let secret = c.secret.expose().to_string();
    assert!(secret.starts_with("sk_live_"), "{secret}");
    keys::format::parse(&secret, &["sk_live".into()]).unwrap();
    let stored: String = db
        .client()
        .await
        .query_one(
            "SELECT key_hash FROM api_keys WHERE id = $1::text::bigint",
            &[&c.key.id],
        )
        .await
        .unwrap()
        .get(0);
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(stored, want);
    assert!(backend_accepts(&db, &secret).await);
    assert!(!backend_accepts(&db, &secret.replace("sk_live_", "sk_test_")).await);
    assert_eq!(c.key.scopes, ["read", "write"]);
    assert_eq!(c.key.state, KeyState::Active);
    assert_eq!(c.key.prefix.as_deref(), Some(&secret[..16]));
    let audit = audit_text(&a);
    assert!(
        audit.contains(&c.key.id) && audit.contains("keys.create"),
        "{audit}"
    );
    assert!(!audit.contains(&secret), "the audit file holds the secret");
    assert!(!audit.contains(&want), "the audit file holds the hash");
    // The core verify agrees with the backend.
    let v = keys::verify(
        &p,
        &SchemaMap::default(),
        &ApiKeySettings::default(),
        &opsdeck::conn::Secret::new(secret.clone()),
    )
    .await
    .unwrap();
    assert!(v.valid && v.matched && v.well_formed, "{v:?}");
}

#[tokio::test]
async fn revoked_keys_are_rejected_and_revoking_twice_changes_nothing() {
    let db = fixture().await;
    let p = pg(&db).await;
    let a = audited(false);
    let c = create(&p, &a, "acme", None).await;
    let secret = c.secret.expose().to_string();
    assert!(backend_accepts(&db, &secret).await);
    let (map, s) = (SchemaMap::default(), ApiKeySettings::default());
    let prefix = c.key.prefix.clone().unwrap();
    let Revocation::Needed(plan) = keys::plan_revoke(&p, &map, &s, &prefix).await.unwrap() else {
        panic!("a fresh key needs revoking");
    };
    // Destructive: a yes/no answer is not enough, the target must be typed.
    assert!(a.safety.authorize(plan, Approval::Confirmed).await.is_err());
    let Revocation::Needed(plan) = keys::plan_revoke(&p, &map, &s, &prefix).await.unwrap() else {
        panic!("still not revoked");
    };
    let approved = a
        .safety
        .authorize(plan, Approval::Typed(prefix.clone()))
        .await
        .unwrap();
    let r = keys::apply_revoke(&p, approved, &Stop::new())
        .await
        .unwrap();
    assert!(r.changed);
    assert_eq!(r.key.state, KeyState::Revoked);
    assert!(!backend_accepts(&db, &secret).await);
    let v = keys::verify(&p, &map, &s, &opsdeck::conn::Secret::new(secret.clone()))
        .await
        .unwrap();
    assert!(v.matched && !v.valid, "{v:?}");
    assert!(v.reason.unwrap().contains("revoked"));
    assert!(matches!(
        keys::plan_revoke(&p, &map, &s, &c.key.id).await.unwrap(),
        Revocation::Already(_)
    ));
}

#[tokio::test]
async fn rotation_keeps_both_valid_until_the_grace_deadline_then_only_the_new_one() {
    let db = fixture().await;
    let p = pg(&db).await;
    let a = audited(false);
    let (map, s) = (SchemaMap::default(), ApiKeySettings::default());
    let old = create(&p, &a, "acme", Some(chrono::Duration::days(30))).await;
    let plan = keys::plan_rotate(&p, &map, &s, &old.key.id, chrono::Duration::seconds(2))
        .await
        .unwrap();
    let approved = a.safety.authorize(plan, Approval::AssumeYes).await.unwrap();
    let r = keys::apply_rotate(&p, approved, &Stop::new())
        .await
        .unwrap();
    let (old_secret, new_secret) = (old.secret.expose(), r.secret.expose());
    assert_ne!(old_secret, new_secret);
    assert_eq!(r.old.replaced_by.as_deref(), Some(r.new.id.as_str()));
    assert_eq!(
        (r.new.tenant_id.as_str(), r.new.name.as_deref()),
        ("1", Some("ci"))
    );
    assert_eq!(r.new.scopes, old.key.scopes);
    // The new key keeps the old one's 30-day lifetime.
    assert!(r.new.expires_at.as_deref().unwrap() > r.old.expires_at.as_deref().unwrap());
    assert!(
        backend_accepts(&db, old_secret).await,
        "old key inside its grace"
    );
    assert!(backend_accepts(&db, new_secret).await);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(
        !backend_accepts(&db, old_secret).await,
        "old key past its grace"
    );
    assert!(backend_accepts(&db, new_secret).await);
    // A rotated key is not rotated again; its replacement is.
    let e = keys::plan_rotate(&p, &map, &s, &old.key.id, chrono::Duration::hours(1))
        .await
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("already rotated") && e.contains(&r.new.id),
        "{e}"
    );
    let audit = audit_text(&a);
    assert!(audit.contains("keys.rotate") && audit.contains(&r.new.id));
    assert!(!audit.contains(old_secret) && !audit.contains(new_secret));
}

#[tokio::test]
async fn read_only_contexts_refuse_and_write_nothing() {
    let db = fixture().await;
    let p = pg(&db).await;
    let a = audited(true);
    let req = CreateRequest {
        tenant: "acme".into(),
        name: "ci".into(),
        ..CreateRequest::default()
    };
    let plan = keys::plan_create(&p, &SchemaMap::default(), &ApiKeySettings::default(), &req)
        .await
        .unwrap();
    let e = a
        .safety
        .authorize(plan, Approval::AssumeYes)
        .await
        .err()
        .unwrap();
    assert_eq!(e.exit_code(), opsdeck::ExitCode::Refused);
    let n: i64 = db
        .client()
        .await
        .query_one("SELECT count(*) FROM api_keys WHERE tenant_id = 1", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
    assert!(audit_text(&a).contains("refused"));
}

#[tokio::test]
async fn listing_pages_filters_by_state_and_tenant_and_counts_expiring() {
    let db = fixture().await;
    let p = pg(&db).await;
    let (map, s) = (SchemaMap::default(), ApiKeySettings::default());
    let all = keys::page(
        &p,
        &map,
        &s,
        &ListQuery {
            limit: 10,
            ..ListQuery::default()
        },
    )
    .await
    .unwrap();
    let names: Vec<_> = all.rows.iter().map(|k| k.name.clone().unwrap()).collect();
    assert_eq!(
        names,
        ["active", "expiring", "revoked", "expired"],
        "newest first"
    );
    let states: Vec<_> = all.rows.iter().map(|k| k.state).collect();
    use KeyState::*;
    assert_eq!(states, [Active, Expiring, Revoked, Expired]);
    assert!(all.next_cursor.is_none());
    let first = keys::page(
        &p,
        &map,
        &s,
        &ListQuery {
            limit: 3,
            ..ListQuery::default()
        },
    )
    .await
    .unwrap();
    let rest = keys::page(
        &p,
        &map,
        &s,
        &ListQuery {
            limit: 3,
            after: first.next_cursor.clone(),
            ..ListQuery::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(first.rows.len() + rest.rows.len(), 4);
    assert_eq!(rest.rows[0].name.as_deref(), Some("expired"));
    for state in KeyState::ALL {
        let q = ListQuery {
            state: Some(state),
            limit: 10,
            ..ListQuery::default()
        };
        let page = keys::page(&p, &map, &s, &q).await.unwrap();
        assert_eq!(page.rows.len(), 1, "{state:?}");
        assert_eq!(page.rows[0].state, state);
    }
    let q = ListQuery {
        tenant: Some("1".into()),
        limit: 10,
        ..ListQuery::default()
    };
    assert!(keys::page(&p, &map, &s, &q).await.unwrap().rows.is_empty());
    let e = keys::expiring(&p, &map, &s, 3).await.unwrap().unwrap();
    assert_eq!((e.count, e.window_days), (1, 7));
    assert_eq!(e.first[0].name.as_deref(), Some("expiring"));
    let wide = ApiKeySettings {
        expiring_days: 90,
        ..ApiKeySettings::default()
    };
    assert_eq!(
        keys::expiring(&p, &map, &wide, 3)
            .await
            .unwrap()
            .unwrap()
            .count,
        2
    );
    // A tenant's detail counts a key as active only when neither revoked nor expired.
    let d = opsdeck::tenants::show(&p, None, &map, &Default::default(), &s, "globex")
        .await
        .unwrap();
    assert_eq!((d.api_keys_total, d.api_keys_active), (Some(4), Some(2)));
}
