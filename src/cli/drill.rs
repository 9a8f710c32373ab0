//! `opsdeck drill run|list|show`: restore drills. `drill run` narrates its
//! phases on stderr and prints the report on stdout; it exits 1 when the
//! drill failed, so cron and CI can alert on it.

use super::interrupt::Interrupts;
use super::narrate;
use super::output::{self, Format, Tabular};
use super::record::Record;
use super::{confirm, Global};
use crate::audit::Actor;
use crate::drills::{self, DrillReport, DrillRequest, DrillStatus, Phase, Progress, SourceKind};
use crate::error::{ExitCode, Result};
use crate::session::Session;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, Subcommand)]
pub enum DrillCmd {
    /// Restore a backup into a throwaway cluster (or --target), verify it
    /// against the context's database, record RTO and RPO. Exit 1 when the
    /// drill fails.
    Run(RunArgs),
    /// Recorded drills, newest first.
    List,
    /// One recorded drill with its checks.
    Show {
        /// Drill id (from `opsdeck drill list`).
        id: i64,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// dump: the newest pg_dump archive in --path or drills.dump_dir;
    /// pgbackrest: the newest backup of --stanza (or drills.pgbackrest_stanza);
    /// fresh: pg_dump the context's database now (proves the procedure, not
    /// the existing backups). Default: dump when a path is configured, then
    /// pgbackrest when a stanza is, else fresh.
    #[arg(long, value_enum)]
    pub source: Option<SourceArg>,
    /// Archive file, directory archive, or directory of archives (--source dump).
    #[arg(long)]
    pub path: Option<PathBuf>,
    /// pgBackRest stanza (--source pgbackrest); the config file is drills.pgbackrest_config.
    #[arg(long)]
    pub stanza: Option<String>,
    /// Scratch server/database URL to restore into instead of a throwaway cluster.
    #[arg(long)]
    pub target: Option<String>,
    /// Parallel pg_restore jobs (default: drills.jobs, 2).
    #[arg(long)]
    pub jobs: Option<u32>,
    /// Leave the restored target running and print how to connect.
    #[arg(long)]
    pub keep: bool,
    /// Drop and restore again a scratch database an earlier drill left.
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum SourceArg {
    Dump,
    Pgbackrest,
    Fresh,
}

pub async fn run(global: &Global, cmd: DrillCmd) -> Result<ExitCode> {
    let session = global.session()?;
    match cmd {
        DrillCmd::Run(args) => run_drill(global, &session, args).await,
        DrillCmd::List => list(global, &session).await,
        DrillCmd::Show { id } => show(global, &session, id).await,
    }
}

fn history_file(session: &Session) -> PathBuf {
    drills::history::local_file(&session.paths.data_dir)
}

async fn run_drill(global: &Global, session: &Session, a: RunArgs) -> Result<ExitCode> {
    let settings = &session.ctx.drills;
    let pg = session.pg().await?;
    let req = DrillRequest {
        source: a.source.map(|s| match s {
            SourceArg::Dump => SourceKind::Dump,
            SourceArg::Pgbackrest => SourceKind::Pgbackrest,
            SourceArg::Fresh => SourceKind::Fresh,
        }),
        path: a.path,
        stanza: a.stanza,
        target: a.target,
        jobs: a.jobs,
        keep: a.keep,
        replace: a.replace,
    };
    let plan = drills::plan(settings, req, &pg.target)?;
    if plan.source == SourceKind::Fresh {
        narrate::note(drills::source::fresh::NOTE);
    }
    let safety = session.safety().await;
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    let env = drills::DrillEnv {
        source: &pg,
        source_login: crate::conn::child::ChildLogin::for_context(&session.ctx).await?,
        settings,
        schema: &session.ctx.schema,
        history_file: history_file(session),
        operator: Actor::current(Some(pg.role.clone())).os,
        context: session.ctx.name.clone(),
    };
    let narrator = Narrator::default();
    let on_progress = |p: Progress| narrator.show(&p);
    let report = Interrupts::run(&safety, plan, approval, |approved, stop| async move {
        drills::run(&env, approved, &stop, &on_progress).await
    })
    .await?;
    narrate::say(format!(
        "drill {} {}: RTO {}, RPO {}, {} of {} checks ok",
        report.id.map_or("-".into(), |i| i.to_string()),
        report.status.as_str(),
        crate::units::millis(report.rto_ms as f64),
        report
            .rpo_ms
            .map_or("unknown".into(), |r| crate::units::millis(r as f64)),
        report.checks.iter().filter(|c| c.passed()).count(),
        report.checks.len()
    ));
    if let Some(k) = &report.kept {
        narrate::note(format!("the restored database is kept: {}", k.psql));
    }
    output::print_result(&report, record, global.output)?;
    Ok(match report.status {
        DrillStatus::Passed => ExitCode::Ok,
        DrillStatus::Failed => ExitCode::Problems,
    })
}

/// Phase changes and restore progress in quarters, on stderr.
#[derive(Default)]
struct Narrator {
    last: Mutex<Option<(Phase, u64)>>,
}

impl Narrator {
    fn show(&self, p: &Progress) {
        let mut last = self
            .last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let quarter = p.done.saturating_mul(4).checked_div(p.total).unwrap_or(0);
        if *last == Some((p.phase, quarter)) {
            return;
        }
        *last = Some((p.phase, quarter));
        if p.total > 0 {
            narrate::say(format!(
                "drill: {}: {} {}/{}",
                p.phase.as_str(),
                p.label,
                p.done,
                p.total
            ));
        } else {
            narrate::say(format!("drill: {}: {}", p.phase.as_str(), p.label));
        }
    }
}

fn record(r: &DrillReport) -> Record {
    let checks: Vec<String> = r
        .checks
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                if c.passed() { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            )
        })
        .collect();
    Record::new()
        .opt("id", r.id)
        .text("status", r.status.as_str())
        .text("source", &r.source)
        .text("target", &r.target)
        .opt("backup_taken_at", r.backup_taken_at.as_ref())
        .millis("rpo_ms", r.rpo_ms)
        .millis("rto_ms", Some(r.rto_ms))
        .millis("restore_ms", Some(r.restore_ms))
        .bytes("archive_bytes", r.archive_bytes)
        .opt("note", r.note.as_ref())
        .opt("kept", r.kept.as_ref().map(|k| k.url.clone()))
        .list("checks", &checks)
}

impl Tabular for DrillReport {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "status",
            "started_at",
            "source",
            "target",
            "rto_ms",
            "rpo_ms",
            "checks",
            "failed",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let failed: Vec<String> = self.failed_checks().map(|c| c.name.clone()).collect();
        vec![
            self.id.map_or(String::new(), |i| i.to_string()),
            self.status.as_str().into(),
            self.started_at.clone(),
            self.source.clone(),
            self.target.clone(),
            self.rto_ms.to_string(),
            self.rpo_ms.map_or(String::new(), |r| r.to_string()),
            self.checks.len().to_string(),
            failed.join(","),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec!["id", "status", "started", "source", "rto", "rpo", "failed"]
    }
    fn shown(&self) -> Vec<String> {
        let c = self.cells();
        vec![
            c[0].clone(),
            c[1].clone(),
            self.started_at.chars().take(16).collect(),
            self.source.clone(),
            crate::units::millis(self.rto_ms as f64),
            self.rpo_ms
                .map_or("-".into(), |r| crate::units::millis(r as f64)),
            c[8].clone(),
        ]
    }
}

async fn list(global: &Global, session: &Session) -> Result<ExitCode> {
    let pg = if session.has_pg() {
        Some(session.pg().await?)
    } else {
        None
    };
    let rows = drills::history::list(pg.as_deref(), &history_file(session)).await?;
    if rows.is_empty() && global.output == Format::Table {
        narrate::note("no drills recorded yet; `opsdeck drill run` runs one");
    }
    output::print_list(&rows, global.output)?;
    Ok(ExitCode::Ok)
}

async fn show(global: &Global, session: &Session, id: i64) -> Result<ExitCode> {
    let pg = if session.has_pg() {
        Some(session.pg().await?)
    } else {
        None
    };
    let r = drills::history::show(pg.as_deref(), &history_file(session), id).await?;
    output::print_result(&r, record, global.output)?;
    Ok(ExitCode::Ok)
}
