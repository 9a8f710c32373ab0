//! `opsdeck tenants show`: one tenant in detail. A table shows the tenant,
//! then its per-table row counts, API keys and app audit entries; JSON has
//! all of it; CSV is one record of the tenant and its counts.

use super::output::{self, Format};
use super::record::Record;
use super::{narrate, Global};
use crate::error::{Error, ExitCode, Result};
use crate::session::Session;
use crate::tenants::{self, TenantDetail};

pub async fn run(global: &Global, session: &Session, key: &str) -> Result<ExitCode> {
    let pg = session.pg().await?;
    let (redis, redis_note) = if session.ctx.redis.is_some() {
        match session.redis().await {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(format!("cache keys: {e}"))),
        }
    } else {
        (None, None)
    };
    let mut d = tenants::show_with(
        &pg,
        redis.as_ref(),
        &session.ctx.schema,
        &session.ctx.cache,
        &session.ctx.api_keys,
        &session.ctx.jobs,
        key,
    )
    .await?;
    d.notes.extend(redis_note);
    if global.output != Format::Table {
        output::print_result(&d, detail_record, global.output)?;
        return Ok(ExitCode::Ok);
    }
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut head = output::table(vec!["field", "value"]);
    for (k, v) in [
        ("id", d.id.clone()),
        ("slug", o(&d.slug)),
        ("name", o(&d.name)),
        ("plan", o(&d.plan)),
        ("status", o(&d.status)),
        ("created_at", o(&d.created_at)),
    ] {
        output::row(&mut head, vec![k.to_string(), v]);
    }
    if let Some(c) = &d.cache {
        let capped = if c.capped { "+ (scan budget hit)" } else { "" };
        output::row(
            &mut head,
            vec!["cache_keys".into(), format!("{}{capped}", c.keys)],
        );
    }
    if let Some(j) = &d.failed_jobs {
        let capped = if j.capped { "+" } else { "" };
        output::row(
            &mut head,
            vec![
                "failed_jobs".into(),
                format!("{}{capped} ({})", j.count, j.source),
            ],
        );
        for r in &j.recent {
            output::row(
                &mut head,
                vec![
                    "  failed_job".into(),
                    format!("{} {} {}", r.queue, r.id, r.error.as_deref().unwrap_or("-")),
                ],
            );
        }
    }
    block(&mut head, "", "\n")?;
    let mut tables = output::table(vec!["table", "rows", "method"]);
    for t in &d.tables {
        output::row(
            &mut tables,
            vec![
                t.table.clone(),
                t.rows.map(|n| n.to_string()).unwrap_or_default(),
                output::word(&t.method),
            ],
        );
    }
    block(&mut tables, "", "")?;
    if let Some(keys) = &d.api_keys {
        let mut t = output::table(vec![
            "key id",
            "name",
            "prefix",
            "created_at",
            "expires_at",
            "revoked_at",
        ]);
        for k in keys {
            output::row(
                &mut t,
                vec![
                    k.id.clone(),
                    o(&k.name),
                    o(&k.prefix),
                    o(&k.created_at),
                    o(&k.expires_at),
                    o(&k.revoked_at),
                ],
            );
        }
        block(&mut t, "\n", "")?;
    }
    if let Some(entries) = &d.app_audit {
        let mut t = output::table(vec![
            "changed_at",
            "action",
            "table_name",
            "record_id",
            "changed_by",
        ]);
        for e in entries {
            output::row(
                &mut t,
                vec![
                    o(&e.changed_at),
                    o(&e.action),
                    o(&e.table_name),
                    o(&e.record_id),
                    o(&e.changed_by),
                ],
            );
        }
        block(&mut t, "\n", "")?;
    }
    for n in &d.notes {
        narrate::note(n);
    }
    Ok(ExitCode::Ok)
}

/// One table of the output, fitted to the width, on stdout (a closed pipe
/// ends it quietly, see `super::run`).
fn block(t: &mut comfy_table::Table, before: &str, after: &str) -> Result<()> {
    use std::io::Write;
    output::fit_columns(t);
    writeln!(std::io::stdout().lock(), "{before}{t}{after}")
        .map_err(|e| Error::io("writing stdout", e))
}

/// The tenant itself and its counts; the per-table rows, keys and audit
/// entries are lists of their own, in the JSON.
fn detail_record(d: &TenantDetail) -> Record {
    Record::new()
        .text("id", d.id.clone())
        .opt("slug", d.slug.clone())
        .opt("name", d.name.clone())
        .opt("plan", d.plan.clone())
        .opt("status", d.status.clone())
        .opt("created_at", d.created_at.clone())
        .opt("api_keys_total", d.api_keys_total)
        .opt("api_keys_active", d.api_keys_active)
        .opt("cache_keys", d.cache.as_ref().map(|c| c.keys))
        .opt("cache_keys_capped", d.cache.as_ref().map(|c| c.capped))
        .opt("failed_jobs", d.failed_jobs.as_ref().map(|j| j.count))
        .opt(
            "failed_jobs_capped",
            d.failed_jobs.as_ref().map(|j| j.capped),
        )
        .list("notes", &d.notes)
}
