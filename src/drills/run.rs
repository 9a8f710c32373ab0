//! One drill from start to end: fetch the backup and prepare the target
//! (side by side), check the archive, restore, verify, measure, clean up,
//! record. A stop at any point kills the child process, removes the
//! throwaway target and ends the audit record as cancelled.

use super::source::pgbackrest::Repo;
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
    /// How pg_dump logs in to the context's database.
    pub source_login: crate::conn::child::ChildLogin,
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

/// The source's roles, the one opsdeck logs in as included: a throwaway
/// target's admin is its own superuser, so owners need every role there.
async fn roles(pg: &Pg) -> Result<Vec<String>> {
    Ok(pg
        .rows(
            "SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1",
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
            fresh::dump(&pg_dump, &env.source_login, jobs, stop, progress).await
        }
    }
}

/// What the fetch and restore phases leave for verification.
struct Restored {
    checks: Vec<Check>,
    /// The target, with the restored database's spec when the restore ran.
    target: Option<(Target, Option<String>)>,
    taken_at: Option<chrono::DateTime<chrono::Utc>>,
    fetch_ms: u64,
    restore_ms: u64,
    archive_bytes: Option<u64>,
    /// A fresh dump's directory, removed with the drill.
    _backup: Option<Backup>,
}

async fn from_dump(
    env: &DrillEnv<'_>,
    plan: &mut DrillPlan,
    started: Instant,
    done: &Done,
    stop: &Stop,
    progress: &OnProgress<'_>,
) -> Result<Restored> {
    let major = env.source.caps.major();
    let pg_restore = bins::client_tool("pg_restore", major)?;
    let (backup, target) = tokio::try_join!(
        fetch(env, plan.backup.take(), plan.jobs, major, stop, progress),
        make_target(env, &plan.target, plan.replace)
    )?;
    let toc = archive::list(&pg_restore, &backup.archive).await;
    let taken_at = toc
        .as_ref()
        .ok()
        .and_then(|t| t.created_at)
        .or(backup.taken_at)
        .or_else(|| archive::modified(&backup.archive));
    let mut r = Restored {
        checks: Vec::new(),
        target: None,
        taken_at,
        fetch_ms: measure::ms(started.elapsed()),
        restore_ms: 0,
        archive_bytes: Some(archive::size(&backup.archive)),
        _backup: None,
    };
    let t = match toc {
        Err(e) => {
            r.checks.push(Check::fail("archive", e.to_string()));
            r.target = Some((target, None));
            r._backup = Some(backup);
            return Ok(r);
        }
        Ok(t) => t,
    };
    r.checks.push(Check::ok(
        "archive",
        format!(
            "{}: {} entries, {} tables with data, taken {} ({})",
            backup.archive.display(),
            t.entries,
            t.data_tables.len(),
            taken_at.map_or("at an unknown time".into(), |d| d.to_rfc3339()),
            if t.created_at.is_some() {
                "archive header"
            } else {
                backup.taken_from
            }
        ),
    ));
    done.set(json!({"phase": "restore", "archive": backup.archive.display().to_string()}));
    let restore_started = Instant::now();
    let spec = target.spec()?;
    let out = restore::run(
        &pg_restore,
        &backup.archive,
        &crate::conn::child::ChildLogin::for_spec(&spec)?,
        plan.jobs,
        t.entries,
        stop,
        progress,
    )
    .await?;
    r.restore_ms = measure::ms(restore_started.elapsed());
    r.checks.push(restore_check(&out, plan.jobs, r.restore_ms));
    r.target = Some((target, Some(spec)));
    r._backup = Some(backup);
    Ok(r)
}

async fn from_pgbackrest(
    env: &DrillEnv<'_>,
    repo: &Repo,
    started: Instant,
    done: &Done,
    stop: &Stop,
    progress: &OnProgress<'_>,
) -> Result<Restored> {
    let mut r = Restored {
        checks: Vec::new(),
        target: None,
        taken_at: None,
        fetch_ms: 0,
        restore_ms: 0,
        archive_bytes: None,
        _backup: None,
    };
    let (info, me) = tokio::try_join!(
        async { Ok(repo.newest().await) },
        target::identity(env.source)
    )?;
    r.fetch_ms = measure::ms(started.elapsed());
    let info = match info {
        Ok(i) => i,
        Err(e) => {
            r.checks.push(Check::fail("backup", e.to_string()));
            return Ok(r);
        }
    };
    r.taken_at = Some(info.stopped_at);
    r.archive_bytes = info.size_bytes;
    r.checks.push(Check::ok(
        "backup",
        format!(
            "stanza {}: newest backup {} ({}), stopped {} (pgbackrest info)",
            repo.stanza,
            info.label,
            info.kind,
            info.stopped_at.to_rfc3339()
        ),
    ));
    done.set(json!({"phase": "restore", "stanza": repo.stanza, "backup": info.label}));
    match repo.restore(stop, progress).await {
        Ok((sandbox, ms)) => {
            r.restore_ms = ms;
            r.checks.push(Check::ok(
                "restore",
                format!("pgbackrest restore --type=immediate, promoted after {ms} ms"),
            ));
            let target = Target::Restored {
                sandbox,
                database: me.database,
            };
            let spec = target.spec()?;
            r.target = Some((target, Some(spec)));
        }
        Err(crate::Error::Cancelled) => return Err(crate::Error::Cancelled),
        Err(e) => r.checks.push(Check::fail("restore", e.to_string())),
    }
    Ok(r)
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
    let source_label = plan.source_label(&env.source.target);
    say(progress, Phase::Fetch, "backup and target");
    done.set(json!({"phase": "fetch"}));
    let restored = match plan.repo.clone() {
        Some(repo) => from_pgbackrest(env, &repo, started, &done, stop, progress).await?,
        None => from_dump(env, &mut plan, started, &done, stop, progress).await?,
    };
    let Restored {
        mut checks,
        target,
        taken_at,
        fetch_ms,
        restore_ms,
        archive_bytes,
        _backup,
    } = restored;
    let mut verify_ms = 0;
    if let Some((_, Some(spec))) = &target {
        say(progress, Phase::Verify, "checks");
        done.set(json!({"phase": "verify"}));
        let verify_started = Instant::now();
        let restored = target::connect(spec).await?;
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
    let rto_ms = measure::ms(started.elapsed());
    let mut kept = None;
    if let Some((target, _)) = target {
        if plan.keep {
            kept = Some(target.keep()?);
        } else {
            target.remove().await?;
        }
    }
    drop(_backup);
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
        archive_bytes,
        restore_bytes_per_s: archive_bytes.and_then(|b| measure::bytes_per_s(b, restore_ms)),
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
