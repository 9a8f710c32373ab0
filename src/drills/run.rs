//! One drill from start to end: fetch the backup and prepare the target
//! (side by side), check the archive, restore, verify, measure, clean up,
//! record. A stop at any point kills the child process, removes the
//! throwaway target and ends the audit record as cancelled.

use super::source::{fresh, Backup};
use super::target::{self, Target, TargetSpec};
use super::verify::{self, Verify};
use super::{archive, bins, history, measure, restore};
use super::{Check, DrillPlan, DrillReport, DrillStatus, OnProgress, Phase, Progress};
use crate::config::drills::DrillSettings;
use crate::config::SchemaMap;
use crate::conn::Pg;
use crate::error::Result;
use crate::safety::{Authorized, Done};
use crate::stop::Stop;
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;

/// What a drill needs from its session.
pub struct DrillEnv<'a> {
    /// The context's database: the source to verify against, and where the
    /// history goes when `opsdeck init` ran.
    pub source: &'a Pg,
    /// The context's connection spec, for pg_dump (None: libpq env).
    pub source_spec: Option<String>,
    pub settings: &'a DrillSettings,
    pub schema: &'a SchemaMap,
    pub history_file: PathBuf,
    pub operator: String,
    pub context: String,
}

pub async fn run(
    env: &DrillEnv<'_>,
    approved: Authorized<DrillPlan>,
    stop: &Stop,
    progress: &OnProgress<'_>,
) -> Result<DrillReport> {
    approved
        .run_stoppable(
            |plan, done| drill(env, plan, done, stop, progress),
            |r: &DrillReport| {
                (
                    true,
                    json!({
                        "id": r.id,
                        "status": r.status.as_str(),
                        "rto_ms": r.rto_ms,
                        "rpo_ms": r.rpo_ms,
                        "failed_checks": r.failed_checks().map(|c| c.name.clone()).collect::<Vec<_>>(),
                    }),
                )
            },
        )
        .await
}

fn say(progress: &OnProgress<'_>, phase: Phase, label: &str) {
    progress(Progress {
        phase,
        label: label.into(),
        done: 0,
        total: 0,
    });
}

async fn roles(pg: &Pg) -> Result<Vec<String>> {
    Ok(pg
        .rows(
            "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolname <> current_user ORDER BY 1",
            &[],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

async fn make_target(env: &DrillEnv<'_>, spec: &TargetSpec, replace: bool) -> Result<Target> {
    match spec {
        TargetSpec::Throwaway => Target::throwaway(&roles(env.source).await?).await,
        TargetSpec::Scratch(spec) => {
            let me = target::identity(env.source).await?;
            Target::scratch(spec, &me, replace).await
        }
    }
}

async fn fetch(
    env: &DrillEnv<'_>,
    given: Option<Backup>,
    jobs: u32,
    major: u32,
    stop: &Stop,
    progress: &OnProgress<'_>,
) -> Result<Backup> {
    match given {
        Some(b) => Ok(b),
        None => {
            let pg_dump = bins::client_tool("pg_dump", major)?;
            fresh::dump(&pg_dump, env.source_spec.as_deref(), jobs, stop, progress).await
        }
    }
}

async fn drill(
    env: &DrillEnv<'_>,
    mut plan: DrillPlan,
    done: Done,
    stop: &Stop,
    progress: &OnProgress<'_>,
) -> Result<DrillReport> {
    let started = Instant::now();
    let started_at = chrono::Utc::now();
    let major = env.source.caps.major();
    let pg_restore = bins::client_tool("pg_restore", major)?;
    let source_label = plan.source_label(&env.source.target);
    say(progress, Phase::Fetch, "backup and target");
    done.set(json!({"phase": "fetch"}));
    let (backup, mut target) = tokio::try_join!(
        fetch(env, plan.backup.take(), plan.jobs, major, stop, progress),
        make_target(env, &plan.target, plan.replace)
    )?;
    let mut checks = Vec::new();
    let toc = archive::list(&pg_restore, &backup.archive).await;
    let taken_at = toc
        .as_ref()
        .ok()
        .and_then(|t| t.created_at)
        .or(backup.taken_at)
        .or_else(|| archive::modified(&backup.archive));
    let fetch_ms = measure::ms(started.elapsed());
    let archive_bytes = archive::size(&backup.archive);
    let mut restore_ms = 0;
    let mut verify_ms = 0;
    match &toc {
        Err(e) => checks.push(Check::fail("archive", e.to_string())),
        Ok(t) => {
            checks.push(Check::ok(
                "archive",
                format!(
                    "{}: {} entries, {} tables with data, taken {} ({})",
                    backup.archive.display(),
                    t.entries,
                    t.data_tables.len(),
                    taken_at.map_or("at an unknown time".into(), |d| d.to_rfc3339()),
                    if t.created_at.is_some() { "archive header" } else { backup.taken_from }
                ),
            ));
            done.set(json!({"phase": "restore", "archive": backup.archive.display().to_string()}));
            let restore_started = Instant::now();
            let spec = target.spec()?;
            let out = restore::run(
                &pg_restore,
                &backup.archive,
                &spec,
                plan.jobs,
                t.entries,
                stop,
                progress,
            )
            .await?;
            restore_ms = measure::ms(restore_started.elapsed());
            checks.push(restore_check(&out, plan.jobs, restore_ms));
            say(progress, Phase::Verify, "checks");
            done.set(json!({"phase": "verify"}));
            let verify_started = Instant::now();
            let restored = target::connect(&spec).await?;
            let v = Verify {
                source: env.source,
                restored: &restored,
                settings: env.settings,
                schema: env.schema,
            };
            let verified = tokio::select! {
                r = verify::all(&v) => r?,
                () = stop.wait() => return Err(crate::Error::Cancelled),
            };
            checks.extend(verified);
            verify_ms = measure::ms(verify_started.elapsed());
        }
    }
    let rto_ms = measure::ms(started.elapsed());
    let kept = if plan.keep { Some(target.keep()?) } else { None };
    if kept.is_none() {
        target.remove().await?;
    } else {
        drop(target);
    }
    drop(backup);
    let status = if checks.iter().all(Check::passed) {
        DrillStatus::Passed
    } else {
        DrillStatus::Failed
    };
    let mut report = DrillReport {
        id: None,
        status,
        source: source_label,
        backup_taken_at: taken_at.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        rpo_ms: measure::rpo_ms(started_at, taken_at),
        rto_ms,
        checks,
        target: plan.target.describe(),
        archive: None,
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        fetch_ms,
        restore_ms,
        verify_ms,
        archive_bytes: Some(archive_bytes),
        restore_bytes_per_s: measure::bytes_per_s(archive_bytes, restore_ms),
        operator: env.operator.clone(),
        context: env.context.clone(),
        note: (plan.source == super::SourceKind::Fresh).then(|| fresh::NOTE.to_string()),
        kept,
    };
    if plan.source == super::SourceKind::Dump {
        report.archive = report.source.strip_prefix("dump:").map(str::to_string);
    }
    history::save(Some(env.source), &env.history_file, &mut report).await?;
    Ok(report)
}

fn restore_check(out: &restore::Outcome, jobs: u32, ms: u64) -> Check {
    let text = format!(
        "pg_restore -j {jobs}: exit {}, {} errors, {} warnings, {} ms",
        out.exit_code.map_or("by signal".into(), |c| c.to_string()),
        out.errors,
        out.warnings,
        ms
    );
    if out.clean() {
        Check::ok("restore", text)
    } else {
        Check::fail(
            "restore",
            format!("{text}; first errors: {}", out.first_errors.join(" | ")),
        )
    }
}
