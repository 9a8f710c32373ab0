//! Create, revoke and rotate, planned first (a value carrying the intent
//! the operator approves) and applied only with that plan's own
//! authorization. Each change is one statement. The secret is generated
//! inside the authorized run, so no plan, intent or audit record holds it;
//! it leaves only in the result, for the front end to show once.

use super::format::{fresh, Fresh};
use super::meta::{self, KeysMeta};
use super::store::{self, row, select_list};
use super::write;
use super::KeyRow;
use crate::config::api_keys::ApiKeySettings;
use crate::config::SchemaMap;
use crate::conn::{Pg, Secret};
use crate::error::{Error, Result};
use crate::safety::{Authorized, Intent, Mutation, Risk};
use crate::stop::Stop;
use crate::tenants::{self, TenantRow};
use serde_json::json;

const MAX_NAME: usize = 200;
const MAX_SCOPES: usize = 64;
const MAX_SCOPE: usize = 100;

/// What `keys create` was asked for.
#[derive(Debug, Clone, Default)]
pub struct CreateRequest {
    /// Tenant id, slug or name.
    pub tenant: String,
    pub name: String,
    pub scopes: Vec<String>,
    /// Lifetime; None for a key that does not expire.
    pub expires: Option<chrono::Duration>,
}

#[derive(Debug)]
pub struct CreatePlan {
    intent: Intent,
    meta: KeysMeta,
    tenant: TenantRow,
    name: String,
    scopes: Vec<String>,
    expires_ms: Option<i64>,
    settings: ApiKeySettings,
    created_by: String,
}

impl Mutation for Box<CreatePlan> {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

/// A new key, with the secret to show once.
#[derive(Debug)]
pub struct Created {
    pub key: KeyRow,
    pub secret: Secret,
}

fn check_name(name: &str) -> Result<String> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > MAX_NAME || n.chars().any(char::is_control) {
        return Err(Error::Usage(format!(
            "key name must be 1 to {MAX_NAME} characters without control characters"
        )));
    }
    Ok(n.to_string())
}

/// Scopes as the backend compares them: words of letters, digits and `_ . : * / -`.
pub fn check_scopes(scopes: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for s in scopes.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let ok = s.len() <= MAX_SCOPE
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.:*/-".contains(c));
        if !ok {
            return Err(Error::Usage(format!(
                "invalid scope '{}': use letters, digits and _ . : * / - (at most {MAX_SCOPE} characters), separated by commas",
                s.chars().take(MAX_SCOPE).collect::<String>()
            )));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    if out.len() > MAX_SCOPES {
        return Err(Error::Usage(format!("at most {MAX_SCOPES} scopes per key")));
    }
    Ok(out)
}

fn millis(d: chrono::Duration, what: &str) -> Result<i64> {
    let ms = d.num_milliseconds();
    if ms < 0 {
        return Err(Error::Usage(format!("{what} cannot be negative")));
    }
    Ok(ms)
}

fn who() -> String {
    crate::audit::Actor::current(None).os
}

/// The intent before anything is looked up, for refusing a read-only
/// context whether or not the tenant exists.
pub fn create_intent(tenant: &str) -> Intent {
    Intent::new(
        "keys.create",
        tenant.trim(),
        Risk::Mutating,
        format!("Create an API key for tenant '{}'.", tenant.trim()),
    )
}

/// Resolves the tenant and checks the request; nothing is written.
pub async fn plan_create(
    pg: &Pg,
    map: &SchemaMap,
    s: &ApiKeySettings,
    req: &CreateRequest,
) -> Result<Box<CreatePlan>> {
    let name = check_name(&req.name)?;
    let scopes = check_scopes(&req.scopes)?;
    let expires_ms = match req.expires.map(|d| millis(d, "--expires")).transpose()? {
        Some(0) => {
            return Err(Error::Usage(
                "--expires must be longer than 0; leave it out for a key that does not expire"
                    .into(),
            ))
        }
        ms => ms,
    };
    let (m, tenant) =
        tokio::try_join!(meta::load(pg, map), tenants::resolve(pg, map, &req.tenant))?;
    if m.scopes.is_none() && !scopes.is_empty() {
        return Err(Error::Config(
            "the keys table has no scopes column mapped; set schema.api_key_columns.scopes or leave out --scopes".into(),
        ));
    }
    let label = tenant.slug.clone().unwrap_or_else(|| tenant.id.clone());
    let lifetime = match expires_ms {
        Some(ms) => format!("expiring in {}", crate::units::millis(ms as f64)),
        None => "not expiring".into(),
    };
    let scope_text = if scopes.is_empty() {
        "no scopes".to_string()
    } else {
        format!("scopes {}", scopes.join(","))
    };
    let intent = Intent::new(
        "keys.create",
        req.tenant.trim(),
        Risk::Mutating,
        format!(
            "Create API key '{name}' for tenant '{label}' (id {}) with {scope_text}, {lifetime}.",
            tenant.id
        ),
    )
    .with_params(json!({
        "tenant_id": tenant.id, "name": name, "scopes": scopes, "expires_ms": expires_ms,
        "table": m.table.display(),
    }));
    Ok(Box::new(CreatePlan {
        intent,
        meta: m,
        tenant,
        name,
        scopes,
        expires_ms,
        settings: s.clone(),
        created_by: who(),
    }))
}

/// Creates the key on `pg` (the caller's own connection, so a stop cancels
/// only this statement).
pub async fn apply_create(
    pg: &Pg,
    approved: Authorized<Box<CreatePlan>>,
    stop: &Stop,
) -> Result<Created> {
    approved
        .run(
            |p, _done| async move {
                let Fresh {
                    secret,
                    shown,
                    hash,
                } = fresh(&p.settings);
                let expires = p.expires_ms.map(|ms| ms.to_string()).unwrap_or_default();
                let scopes = p.scopes.join(",");
                let (sql, params) = write::insert(
                    &p.meta,
                    p.settings.expiring_days,
                    [&p.tenant.id, &p.name, &shown, &hash, &scopes, &p.created_by, &expires],
                );
                let r = write::statement(pg, stop, &sql, &params).await?;
                let r = r.ok_or_else(|| Error::Server {
                    detail: "the insert returned no row".into(),
                    hint: Some("check row-level security on the keys table for this role".into()),
                })?;
                Ok(Created {
                    key: row(&r, 0),
                    secret,
                })
            },
            |c: &Created| json!({"key_id": c.key.id, "prefix": c.key.prefix, "tenant_id": c.key.tenant_id}),
        )
        .await
}

#[derive(Debug)]
pub struct RevokePlan {
    intent: Intent,
    meta: KeysMeta,
    key: KeyRow,
    expiring_days: u32,
}

impl Mutation for Box<RevokePlan> {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Revoked {
    pub key: KeyRow,
    pub changed: bool,
    pub note: Option<String>,
}

/// A change that still needs approval, or nothing to do.
#[derive(Debug)]
pub enum Revocation {
    Already(Box<Revoked>),
    Needed(Box<RevokePlan>),
}

/// The intent before the key is looked up, for refusing a read-only
/// context whether or not the key exists.
pub fn revoke_intent(ident: &str) -> Intent {
    Intent::new(
        "keys.revoke",
        ident.trim(),
        Risk::Destructive,
        format!("Revoke API key '{}'.", ident.trim()),
    )
}

pub async fn plan_revoke(
    pg: &Pg,
    map: &SchemaMap,
    s: &ApiKeySettings,
    ident: &str,
) -> Result<Revocation> {
    let (m, key) = store::get(pg, map, s, ident).await?;
    if key.revoked_at.is_some() {
        return Ok(Revocation::Already(Box::new(Revoked {
            note: Some(format!(
                "key {} is already revoked; nothing changed",
                key.label()
            )),
            key,
            changed: false,
        })));
    }
    let intent = Intent::new(
        "keys.revoke",
        ident.trim(),
        Risk::Destructive,
        format!(
            "Revoke API key {} ('{}', tenant {}): requests with it fail from now on.",
            key.label(),
            key.name.as_deref().unwrap_or(""),
            key.tenant_id
        ),
    )
    .with_params(json!({"key_id": key.id, "prefix": key.prefix, "tenant_id": key.tenant_id}));
    Ok(Revocation::Needed(Box::new(RevokePlan {
        intent,
        meta: m,
        key,
        expiring_days: s.expiring_days,
    })))
}

pub async fn apply_revoke(
    pg: &Pg,
    approved: Authorized<Box<RevokePlan>>,
    stop: &Stop,
) -> Result<Revoked> {
    approved
        .run(
            |p, _done| async move {
                let m = &p.meta;
                let sql = format!(
                    "UPDATE {} k SET {} = now() WHERE k.{} = {} AND k.{} IS NULL RETURNING {}",
                    m.table.sql(),
                    m.revoked_at.sql(),
                    m.id.sql(),
                    m.id.param(1),
                    m.revoked_at.sql(),
                    select_list(m, "k", p.expiring_days),
                );
                match write::statement(pg, stop, &sql, std::slice::from_ref(&p.key.id)).await? {
                    Some(r) => Ok(Revoked {
                        key: row(&r, 0),
                        changed: true,
                        note: None,
                    }),
                    None => Ok(Revoked {
                        note: Some(format!(
                            "key {} was revoked or removed meanwhile; nothing changed",
                            p.key.label()
                        )),
                        key: p.key,
                        changed: false,
                    }),
                }
            },
            |r: &Revoked| json!({"key_id": r.key.id, "prefix": r.key.prefix, "changed": r.changed, "revoked_at": r.key.revoked_at}),
        )
        .await
}

#[derive(Debug)]
pub struct RotatePlan {
    intent: Intent,
    meta: KeysMeta,
    key: KeyRow,
    grace_ms: i64,
    settings: ApiKeySettings,
    created_by: String,
}

impl Mutation for Box<RotatePlan> {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

/// The old key (valid until its grace deadline) and its replacement, with
/// the replacement's secret to show once.
#[derive(Debug)]
pub struct Rotated {
    pub old: KeyRow,
    pub new: KeyRow,
    pub secret: Secret,
}

pub fn rotate_intent(ident: &str) -> Intent {
    Intent::new(
        "keys.rotate",
        ident.trim(),
        Risk::Mutating,
        format!("Rotate API key '{}'.", ident.trim()),
    )
}

pub async fn plan_rotate(
    pg: &Pg,
    map: &SchemaMap,
    s: &ApiKeySettings,
    ident: &str,
    grace: chrono::Duration,
) -> Result<Box<RotatePlan>> {
    let grace_ms = millis(grace, "--grace")?;
    let (m, key) = store::get(pg, map, s, ident).await?;
    if m.replaced_by.is_none() {
        return Err(Error::Config(
            "rotation links the old key to the new one, and the keys table has no replaced_by column mapped; set schema.api_key_columns.replaced_by".into(),
        ));
    }
    if let Some(next) = &key.replaced_by {
        return Err(Error::Usage(format!(
            "key {} was already rotated: key {next} replaced it; rotate that one",
            key.label()
        )));
    }
    if !key.state.usable() {
        return Err(Error::Usage(format!(
            "key {} is {}, so there is nothing to rotate; create a new key with `opsdeck keys create`",
            key.label(),
            key.state.as_str()
        )));
    }
    let intent = Intent::new(
        "keys.rotate",
        ident.trim(),
        Risk::Mutating,
        format!(
            "Rotate API key {} ('{}', tenant {}): issue a new key with the same tenant, name and scopes; the old one stays valid for {} more.",
            key.label(),
            key.name.as_deref().unwrap_or(""),
            key.tenant_id,
            crate::units::millis(grace_ms as f64)
        ),
    )
    .with_params(json!({"key_id": key.id, "prefix": key.prefix, "tenant_id": key.tenant_id, "grace_ms": grace_ms}));
    Ok(Box::new(RotatePlan {
        intent,
        meta: m,
        key,
        grace_ms,
        settings: s.clone(),
        created_by: who(),
    }))
}

pub async fn apply_rotate(
    pg: &Pg,
    approved: Authorized<Box<RotatePlan>>,
    stop: &Stop,
) -> Result<Rotated> {
    approved
        .run(
            |p, _done| async move {
                let Fresh {
                    secret,
                    shown,
                    hash,
                } = fresh(&p.settings);
                let grace = p.grace_ms.to_string();
                let (sql, params) = write::rotate(
                    &p.meta,
                    p.settings.expiring_days,
                    [&p.key.id, &shown, &hash, &p.created_by, &grace],
                )?;
                match write::statement(pg, stop, &sql, &params).await? {
                    Some(r) => Ok(Rotated {
                        new: row(&r, 0),
                        old: row(&r, store::COLUMNS),
                        secret,
                    }),
                    None => Err(Error::NotFound(format!(
                        "key {} was revoked, expired or rotated since it was looked up; nothing was changed; list the keys again",
                        p.key.label()
                    ))),
                }
            },
            |r: &Rotated| {
                json!({"key_id": r.old.id, "prefix": r.old.prefix, "new_key_id": r.new.id,
                       "new_prefix": r.new.prefix, "old_expires_at": r.old.expires_at})
            },
        )
        .await
}
