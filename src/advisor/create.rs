//! `indexes create NAME`: builds a suggestion with CREATE INDEX
//! CONCURRENTLY through the safety layer. CONCURRENTLY cannot run inside a
//! transaction block, so it needs a direct session (limits at startup):
//! behind a transaction pooler, where every statement of opsdeck runs in
//! one, it is refused with what to do instead. The build runs under its own
//! long statement_timeout, reports pg_stat_progress_create_index read on a
//! second session, and when it fails or is stopped (Esc, a signal) the
//! invalid index it leaves is dropped with DROP INDEX CONCURRENTLY.

use super::Suggestion;
use crate::conn::sql::quote_ident;
use crate::conn::{Limits, Pg};
use crate::error::{Error, Result};
use crate::safety::{Authorized, Done, Intent, Mutation, Risk};
use crate::stop::Stop;
use serde::Serialize;
use serde_json::json;
use std::time::{Duration, Instant};

/// The build's own limit: as long as a big table takes, not the context's
/// limit for interactive statements.
pub const BUILD_TIMEOUT: &str = "6h";
const POLL: Duration = Duration::from_millis(500);

pub struct CreatePlan {
    intent: Intent,
    pub schema: String,
    pub table: String,
    pub name: String,
    pub create_sql: String,
}

impl Mutation for CreatePlan {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

/// The intent before the suggestion is looked up (so a read-only context
/// refuses before any work).
pub fn intent_for(name: &str) -> Intent {
    Intent::new(
        "indexes.create",
        name,
        Risk::Mutating,
        format!("Build index {name} with CREATE INDEX CONCURRENTLY (writes go on; it takes as long as the table is big)."),
    )
}

/// The plan for the suggestion named `name`, checked against the server.
pub async fn plan(pg: &Pg, suggestions: &[Suggestion], name: &str) -> Result<CreatePlan> {
    let s = suggestions.iter().find(|s| s.name == name).ok_or_else(|| {
        Error::NotFound(format!(
            "no index suggestion named '{name}'; list them with `opsdeck indexes suggest`"
        ))
    })?;
    let plan = plan_for(s);
    precheck(pg, &plan).await?;
    Ok(plan)
}

/// The plan for a suggestion at hand (the console's selected row); the
/// server checks run when it is applied.
pub fn plan_for(s: &Suggestion) -> CreatePlan {
    let (schema, table) = s.table.split_once('.').unwrap_or(("public", &s.table));
    CreatePlan {
        intent: intent_for(&s.name)
            .with_params(json!({"table": s.table, "create_sql": s.create_sql})),
        schema: schema.to_string(),
        table: table.to_string(),
        name: s.name.clone(),
        create_sql: s.create_sql.clone(),
    }
}

/// A direct session, and no relation of that name yet (so whatever has
/// the name after a failed build is its leftover).
async fn precheck(pg: &Pg, plan: &CreatePlan) -> Result<()> {
    if pg.limits != Limits::Startup {
        return Err(Error::refused(
            "CREATE INDEX CONCURRENTLY cannot run inside a transaction block, and behind a transaction pooler every opsdeck statement runs in one; point a context at the server directly (not through the pooler) or run the suggestion's create_sql with psql on a direct connection",
        ));
    }
    let exists = pg
        .row(
            "SELECT to_regclass(quote_ident($1::text) || '.' || quote_ident($2::text)) IS NOT NULL",
            &[&plan.schema, &plan.name],
        )
        .await?
        .get::<_, bool>(0);
    if exists {
        return Err(Error::Usage(format!(
            "a relation named {}.{} already exists; nothing was changed",
            plan.schema, plan.name
        )));
    }
    Ok(())
}

/// One reading of pg_stat_progress_create_index.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub phase: String,
    pub blocks_done: i64,
    pub blocks_total: i64,
    pub tuples_done: i64,
    pub tuples_total: i64,
}

impl Progress {
    /// Share done in the current phase, 0..1, when it counts anything.
    pub fn fraction(&self) -> Option<f64> {
        if self.blocks_total > 0 {
            Some(self.blocks_done as f64 / self.blocks_total as f64)
        } else if self.tuples_total > 0 {
            Some(self.tuples_done as f64 / self.tuples_total as f64)
        } else {
            None
        }
    }

    pub fn describe(&self) -> String {
        match self.fraction() {
            Some(f) => format!("{}: {:.0}%", self.phase, f * 100.0),
            None => self.phase.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Created {
    pub index: String,
    pub table: String,
    pub create_sql: String,
    pub duration_ms: u64,
    pub size_bytes: i64,
}

async fn progress(watcher: &Pg, pid: &str) -> Result<Option<Progress>> {
    let row = watcher
        .row_opt(
            "SELECT phase, blocks_done, blocks_total, tuples_done, tuples_total
             FROM pg_stat_progress_create_index WHERE pid = $1::int4",
            &[pid],
        )
        .await?;
    Ok(row.map(|r| Progress {
        phase: r.get(0),
        blocks_done: r.get(1),
        blocks_total: r.get(2),
        tuples_done: r.get(3),
        tuples_total: r.get(4),
    }))
}

/// Builds the index. `pg` is a direct session of its own (its query is
/// cancelled on stop); `watcher` another one, for progress.
pub async fn apply(
    pg: &Pg,
    watcher: &Pg,
    approved: Authorized<CreatePlan>,
    stop: &Stop,
    on_progress: impl Fn(&Progress),
) -> Result<Created> {
    approved
        .run(
            |plan, done| build(pg, watcher, plan, done, stop, on_progress),
            |c: &Created| json!({"index": c.index, "duration_ms": c.duration_ms, "size_bytes": c.size_bytes}),
        )
        .await
}

async fn build(
    pg: &Pg,
    watcher: &Pg,
    plan: CreatePlan,
    done: Done,
    stop: &Stop,
    on_progress: impl Fn(&Progress),
) -> Result<Created> {
    let started = Instant::now();
    precheck(pg, &plan).await?;
    pg.rows(&format!("SET statement_timeout = '{BUILD_TIMEOUT}'"), &[])
        .await?;
    // The build waits for older transactions to end; that wait is a lock
    // wait, which the context's short lock_timeout would cut off.
    pg.rows(&format!("SET lock_timeout = '{BUILD_TIMEOUT}'"), &[])
        .await?;
    let pid: String = pg.row("SELECT pg_backend_pid()::text", &[]).await?.get(0);
    let result = {
        let run = pg.rows(&plan.create_sql, &[]);
        tokio::pin!(run);
        let mut stopped = false;
        loop {
            tokio::select! {
                // Finished before the cancel reached it: the index is there.
                r = &mut run => break r.map(|_| ()),
                _ = stop.wait(), if !stopped => {
                    stopped = true;
                    pg.canceller().cancel().await?;
                }
                _ = tokio::time::sleep(POLL) => {
                    if let Ok(Some(p)) = progress(watcher, &pid).await {
                        done.set(json!({"index": plan.name, "progress": p}));
                        on_progress(&p);
                    }
                }
            }
        }
        .map_err(|e| if stopped { Error::Cancelled } else { e })
    };
    let index = format!("{}.{}", quote_ident(&plan.schema), quote_ident(&plan.name));
    if let Err(e) = result {
        // The name did not exist before the build, so what is there now is its leftover.
        let dropped = pg
            .rows(&format!("DROP INDEX CONCURRENTLY IF EXISTS {index}"), &[])
            .await
            .is_ok();
        done.set(json!({"index": plan.name, "leftover_dropped": dropped}));
        let _ = pg.rows("RESET statement_timeout", &[]).await;
        let _ = pg.rows("RESET lock_timeout", &[]).await;
        return Err(e);
    }
    pg.rows("RESET statement_timeout", &[]).await?;
    pg.rows("RESET lock_timeout", &[]).await?;
    let size: i64 = pg
        .row("SELECT pg_relation_size($1::regclass)", &[&index])
        .await?
        .get(0);
    Ok(Created {
        index: format!("{}.{}", plan.schema, plan.name),
        table: format!("{}.{}", plan.schema, plan.table),
        create_sql: plan.create_sql,
        duration_ms: started.elapsed().as_millis() as u64,
        size_bytes: size,
    })
}
