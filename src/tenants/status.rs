//! Suspend and resume: set the mapped status column and run the configured
//! hooks in one transaction, through the safety layer. A tenant already in
//! the wanted state is a no-op with a note, not an error. A stop (Esc,
//! a signal) cancels the running statement on the server and rolls the
//! whole change back: the tenant is changed completely or not at all.

use super::meta::{self, TenantsMeta};
use super::resolve::resolve_in;
use super::TenantRow;
use crate::config::SchemaMap;
use crate::conn::{Pg, Tx};
use crate::error::{Error, Result};
use crate::safety::{Authorized, Done, Intent, Mutation, Risk};
use crate::stop::Stop;
use serde::Serialize;
use serde_json::json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusAction {
    Suspend,
    Resume,
}

impl StatusAction {
    pub fn action(self) -> &'static str {
        match self {
            StatusAction::Suspend => "tenants.suspend",
            StatusAction::Resume => "tenants.resume",
        }
    }

    /// The intent before the tenant is looked up, for refusing a read-only
    /// context whether or not the tenant exists.
    pub fn intent_for(self, key: &str) -> Intent {
        Intent::new(
            self.action(),
            key.trim(),
            Risk::Mutating,
            format!("{} tenant '{}'.", self.verb(), key.trim()),
        )
    }

    fn verb(self) -> &'static str {
        match self {
            StatusAction::Suspend => "Suspend",
            StatusAction::Resume => "Resume",
        }
    }

    fn target(self, m: &TenantsMeta) -> &str {
        match self {
            StatusAction::Suspend => &m.status_suspended,
            StatusAction::Resume => &m.status_active,
        }
    }
}

/// What happened to one tenant.
#[derive(Debug, Clone, Serialize)]
pub struct StatusChange {
    pub id: String,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub action: StatusAction,
    pub from: Option<String>,
    pub to: String,
    pub changed: bool,
    pub hooks_run: usize,
    pub note: Option<String>,
}

/// A change that still needs approval, or nothing to do.
#[derive(Debug)]
pub enum Change {
    Already(StatusChange),
    Needed(Box<StatusPlan>),
}

/// A resolved tenant, the status to set, and the intent to show the operator.
#[derive(Debug)]
pub struct StatusPlan {
    intent: Intent,
    tenant: TenantRow,
    meta: TenantsMeta,
    action: StatusAction,
    hooks: Vec<String>,
}

impl Mutation for Box<StatusPlan> {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

/// Resolves `key` (id, slug or name) and decides whether anything must change.
pub async fn plan(pg: &Pg, map: &SchemaMap, key: &str, action: StatusAction) -> Result<Change> {
    let m = meta::load(pg, map).await?;
    let t = resolve_in(pg, &m, key).await?;
    let to = action.target(&m).to_string();
    if t.status.as_deref() == Some(to.as_str()) {
        return Ok(Change::Already(already(&t, action, to)));
    }
    let label = t.slug.clone().unwrap_or_else(|| t.id.clone());
    let intent = Intent::new(
        action.action(),
        key.trim(),
        Risk::Mutating,
        format!(
            "{} tenant '{label}' (id {}): set {}.{} from '{}' to '{to}'{}.",
            action.verb(),
            t.id,
            m.table.display(),
            m.status.name,
            t.status.as_deref().unwrap_or("NULL"),
            hooks_note(map, action)
        ),
    )
    .with_params(json!({"id": t.id, "slug": t.slug, "table": m.table.display(), "to": to}));
    let hooks = match action {
        StatusAction::Suspend => map.suspend_hooks.clone(),
        StatusAction::Resume => map.resume_hooks.clone(),
    };
    Ok(Change::Needed(Box::new(StatusPlan {
        intent,
        tenant: t,
        meta: m,
        action,
        hooks,
    })))
}

fn hooks_note(map: &SchemaMap, action: StatusAction) -> String {
    let n = match action {
        StatusAction::Suspend => map.suspend_hooks.len(),
        StatusAction::Resume => map.resume_hooks.len(),
    };
    if n == 0 {
        String::new()
    } else {
        format!(" and run {n} configured hook(s) in the same transaction")
    }
}

fn already(t: &TenantRow, action: StatusAction, to: String) -> StatusChange {
    StatusChange {
        id: t.id.clone(),
        slug: t.slug.clone(),
        name: t.name.clone(),
        action,
        from: t.status.clone(),
        note: Some(format!("tenant is already {to}; nothing changed")),
        to,
        changed: false,
        hooks_run: 0,
    }
}

/// Applies an approved change on `pg`, a connection of the caller's own
/// (a task's cancellable one in the console), so the transaction cannot
/// interleave with other work and a cancel reaches only this change.
pub async fn apply(
    pg: &Pg,
    approved: Authorized<Box<StatusPlan>>,
    stop: &Stop,
) -> Result<StatusChange> {
    approved
        .run(
            |plan, done| transaction(pg, plan, done, stop),
            |c: &StatusChange| {
                json!({"id": c.id, "from": c.from, "to": c.to, "changed": c.changed, "hooks_run": c.hooks_run})
            },
        )
        .await
}

async fn transaction(
    pg: &Pg,
    plan: Box<StatusPlan>,
    done: Done,
    stop: &Stop,
) -> Result<StatusChange> {
    let tx = pg.begin().await?;
    done.set(json!({"id": plan.tenant.id, "stage": "started", "changed": false}));
    let result = {
        let work = update(&tx, &plan, &done, stop);
        tokio::pin!(work);
        tokio::select! {
            r = &mut work => r,
            _ = stop.wait() => {
                // The statement running now (a slow hook) ends on the server;
                // the work then stops at its next check.
                if let Err(e) = pg.canceller().cancel().await {
                    tracing::warn!("tenant change: server-side cancel failed: {e}");
                }
                work.await
            }
        }
    };
    // Checked last: a stop that came after the final statement still wins
    // over the commit.
    let result = if stop.is_set() {
        Err(Error::Cancelled)
    } else {
        result
    };
    match result {
        Ok(change) => {
            done.set(json!({"id": plan.tenant.id, "stage": "committing", "changed": "unknown until the commit returns"}));
            tx.commit().await?;
            Ok(change)
        }
        Err(e) => {
            // Dropping the connection would roll back too; say so explicitly.
            let rolled_back = tx.rollback().await;
            let mut d = done.get();
            d["changed"] = json!(false);
            d["rolled_back"] = json!(rolled_back);
            done.set(d);
            Err(e)
        }
    }
}

/// Errors with `Cancelled` before each statement once a stop is asked.
fn check(stop: &Stop) -> Result<()> {
    if stop.is_set() {
        Err(Error::Cancelled)
    } else {
        Ok(())
    }
}

async fn update(tx: &Tx<'_>, p: &StatusPlan, done: &Done, stop: &Stop) -> Result<StatusChange> {
    let m = &p.meta;
    let to = p.action.target(m).to_string();
    let lock = format!(
        "SELECT t.{status}::text FROM {table} t WHERE t.{id} = $1::text::{idty} FOR UPDATE",
        status = m.status.sql(),
        table = m.table.sql(),
        id = m.id.sql(),
        idty = m.id.ty,
    );
    check(stop)?;
    let Some(row) = tx.row_opt(&lock, &[&p.tenant.id]).await? else {
        return Err(Error::NotFound(format!(
            "tenant {} disappeared before it could be changed; list tenants again",
            p.tenant.id
        )));
    };
    let from: Option<String> = row.get(0);
    if from.as_deref() == Some(to.as_str()) {
        return Ok(already(&p.tenant, p.action, to));
    }
    let set = format!(
        "UPDATE {table} t SET {status} = $2::text::{sty} WHERE t.{id} = $1::text::{idty}",
        table = m.table.sql(),
        status = m.status.sql(),
        sty = m.status.ty,
        id = m.id.sql(),
        idty = m.id.ty,
    );
    check(stop)?;
    tx.execute(&set, &[&p.tenant.id, &to]).await?;
    for (i, hook) in p.hooks.iter().enumerate() {
        check(stop)?;
        done.set(json!({"id": p.tenant.id, "stage": format!("hook {} of {}", i + 1, p.hooks.len()), "hooks_run": i, "changed": false}));
        // Hooks get the tenant id as text in $1 whether or not they use it.
        tx.execute(hook, &[&p.tenant.id])
            .await
            .map_err(|e| hook_error(i, e))?;
    }
    Ok(StatusChange {
        id: p.tenant.id.clone(),
        slug: p.tenant.slug.clone(),
        name: p.tenant.name.clone(),
        action: p.action,
        from,
        to,
        changed: true,
        hooks_run: p.hooks.len(),
        note: None,
    })
}

fn hook_error(i: usize, e: Error) -> Error {
    match e {
        Error::Server { detail, hint } => Error::Server {
            detail: format!("hook #{} failed, nothing was changed: {detail}", i + 1),
            hint: hint.or(Some(
                "fix the hook SQL in the context's schema.suspend_hooks/resume_hooks".into(),
            )),
        },
        other => other,
    }
}
