//! `opsdeck queries slow|active|locks|explain|cancel|terminate|reset-stats`.

use super::interrupt::Interrupts;
use super::narrate;
use super::output::{self, Format, Tabular};
use super::record::Record;
use super::{confirm, Global};
use crate::error::{Error, ExitCode, Result};
use crate::queries::{
    self, activity::ActiveQuery, reset, signal, stat_statements, ExplainTarget, LockNode, PlanNode,
    SessionRow, Signal, SlowQuery, SortKey, Statement,
};
use crate::session::Session;
use crate::units;
use clap::{Args, Subcommand};
use std::io::Write;

#[derive(Debug, Subcommand)]
pub enum QueriesCmd {
    /// The most expensive statements of this database (pg_stat_statements),
    /// without opsdeck's own.
    Slow(SlowArgs),
    /// Client sessions of every database, oldest transaction first (not
    /// idle ones, nor opsdeck's own, unless asked).
    Active(ActiveArgs),
    /// The blocking tree: who waits for whom, lock modes, relations, how long.
    Locks,
    /// The plan of a statement by pg_stat_statements queryid, or of SQL text
    /// ($1 parameters are planned generically, as NULL).
    Explain(ExplainArgs),
    /// Cancel the query a session is running.
    Cancel(SignalArgs),
    /// Terminate a session (type its pid to confirm, or --yes).
    Terminate(SignalArgs),
    /// Reset pg_stat_statements for this database.
    ResetStats,
}

#[derive(Debug, Args)]
pub struct SlowArgs {
    /// total, mean, calls, io (shared blocks read) or rows.
    #[arg(long, default_value = "total", value_parser = parse_sort)]
    pub sort: SortKey,
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct ActiveArgs {
    /// Idle sessions too.
    #[arg(long)]
    pub all: bool,
    /// opsdeck's own sessions too.
    #[arg(long)]
    pub include_own: bool,
    #[arg(long, default_value_t = 200)]
    pub limit: u32,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A queryid from `opsdeck queries slow`, or SQL text.
    pub target: String,
    /// Run it (EXPLAIN ANALYZE, rolled back); only for a plain SELECT calling
    /// no volatile function.
    #[arg(long)]
    pub analyze: bool,
}

#[derive(Debug, Args)]
pub struct SignalArgs {
    /// The session's pid (see `opsdeck queries active`).
    pub pid: i32,
    /// Also signal opsdeck's own or a superuser's session.
    #[arg(long)]
    pub force: bool,
}

fn parse_sort(s: &str) -> std::result::Result<SortKey, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

fn ms(v: f64) -> String {
    format!("{v:.2}")
}

fn opt_ms(v: Option<f64>) -> String {
    v.map(ms).unwrap_or_default()
}

fn o(v: &Option<String>) -> String {
    v.clone().unwrap_or_default()
}

impl Tabular for Statement {
    fn headers() -> Vec<&'static str> {
        vec![
            "queryid",
            "calls",
            "total_ms",
            "mean_ms",
            "max_ms",
            "rows",
            "blks_read",
            "share_pct",
            "query",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.queryid.clone(),
            self.calls.to_string(),
            ms(self.total_time_ms),
            ms(self.mean_time_ms),
            ms(self.max_time_ms),
            self.rows.to_string(),
            self.shared_blks_read.to_string(),
            format!("{:.1}", self.share_pct),
            self.query.clone(),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "queryid",
            "calls",
            "total_ms",
            "mean_ms",
            "share_pct",
            "query",
        ]
    }
    fn shown(&self) -> Vec<String> {
        vec![
            self.queryid.clone(),
            self.calls.to_string(),
            units::millis(self.total_time_ms),
            units::millis(self.mean_time_ms),
            format!("{:.1}%", self.share_pct),
            one_line(&self.query),
        ]
    }
}

/// A statement's text on one line, for tables (CSV and JSON keep it whole).
fn one_line(q: &str) -> String {
    q.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn human(v: Option<f64>) -> String {
    v.map(units::millis).unwrap_or_default()
}

impl Tabular for SessionRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "pid",
            "user",
            "database",
            "application",
            "client",
            "state",
            "wait",
            "query_ms",
            "xact_ms",
            "query",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let wait = match (&self.wait_event_type, &self.wait_event) {
            (Some(t), Some(e)) => format!("{t}:{e}"),
            _ => String::new(),
        };
        let state = match (&self.state, self.idle_in_transaction) {
            (Some(s), true) => format!("{s} (!)"),
            (s, _) => o(s),
        };
        vec![
            self.pid.to_string(),
            o(&self.username),
            o(&self.database),
            self.application_name.clone(),
            self.client.clone(),
            state,
            wait,
            opt_ms(self.query_ms),
            opt_ms(self.xact_ms),
            o(&self.query),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "pid",
            "user",
            "database",
            "state",
            "wait",
            "running_ms",
            "xact_ms",
            "query",
        ]
    }
    fn shown(&self) -> Vec<String> {
        let mut c = self.cells();
        c[7] = human(self.query_ms);
        c[8] = human(self.xact_ms);
        c[9] = one_line(&c[9]);
        // Without application and client: the row fits, the detail is in JSON.
        c.remove(4);
        c.remove(3);
        c
    }
}

impl Tabular for LockNode {
    fn headers() -> Vec<&'static str> {
        vec![
            "depth",
            "pid",
            "blocked_by",
            "user",
            "state",
            "waiting_for",
            "on",
            "holds",
            "wait_ms",
            "xact_ms",
            "query",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let s = &self.session;
        let by: Vec<String> = self.blocked_by.iter().map(i32::to_string).collect();
        vec![
            self.depth.to_string(),
            s.pid.to_string(),
            by.join(","),
            o(&s.username),
            o(&s.state),
            o(&self.waiting_mode),
            o(&self.waiting_on),
            o(&self.held_modes),
            if self.waiting_mode.is_some() {
                opt_ms(s.state_ms)
            } else {
                String::new()
            },
            opt_ms(s.xact_ms),
            o(&s.query),
        ]
    }
    fn table_headers() -> Vec<&'static str> {
        vec![
            "pid",
            "blocked_by",
            "user",
            "waiting_for",
            "on",
            "holds",
            "wait_ms",
            "query",
        ]
    }
    /// The tree drawn by indenting each pid under the session it waits for.
    fn shown(&self) -> Vec<String> {
        let s = &self.session;
        let c = self.cells();
        let wait = if self.waiting_mode.is_some() {
            human(s.state_ms)
        } else {
            String::new()
        };
        vec![
            format!("{}{}", "  ".repeat(self.depth), s.pid),
            c[2].clone(),
            c[3].clone(),
            c[5].clone(),
            c[6].clone(),
            c[7].clone(),
            wait,
            one_line(&c[10]),
        ]
    }
}

impl Tabular for PlanNode {
    fn headers() -> Vec<&'static str> {
        vec![
            "depth",
            "node",
            "startup_cost",
            "total_cost",
            "plan_rows",
            "self_cost",
            "actual_ms",
            "actual_rows",
            "detail",
            "hottest",
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.depth.to_string(),
            self.label.clone(),
            ms(self.startup_cost),
            ms(self.total_cost),
            format!("{:.0}", self.plan_rows),
            ms(self.self_cost),
            opt_ms(self.actual_ms),
            self.actual_rows
                .map(|r| format!("{r:.0}"))
                .unwrap_or_default(),
            o(&self.detail),
            self.hottest.to_string(),
        ]
    }
}

pub async fn run(global: &Global, cmd: QueriesCmd) -> Result<ExitCode> {
    let session = global.session()?;
    match cmd {
        QueriesCmd::Slow(a) => {
            let pg = session.pg().await?;
            let pss = stat_statements::locate(&pg).await?;
            let q = SlowQuery {
                sort: a.sort,
                limit: a.limit,
            };
            let rows = stat_statements::slow(&pg, &pss, q).await?;
            output::print_list(&rows, global.output)?;
            Ok(ExitCode::Ok)
        }
        QueriesCmd::Active(a) => {
            let q = ActiveQuery {
                include_idle: a.all,
                include_own: a.include_own,
                limit: a.limit,
            };
            let rows = queries::active(&*session.pg().await?, q).await?;
            output::print_list(&rows, global.output)?;
            Ok(ExitCode::Ok)
        }
        QueriesCmd::Locks => {
            let rows = queries::lock_tree(&*session.pg().await?).await?;
            if rows.is_empty() {
                narrate::say("no session is waiting for a lock");
            }
            output::print_list(&rows, global.output)?;
            Ok(ExitCode::Ok)
        }
        QueriesCmd::Explain(a) => explain(global, &session, a).await,
        QueriesCmd::Cancel(a) => send(global, &session, Signal::Cancel, a).await,
        QueriesCmd::Terminate(a) => send(global, &session, Signal::Terminate, a).await,
        QueriesCmd::ResetStats => reset_stats(global, &session).await,
    }
}

async fn explain(global: &Global, session: &Session, a: ExplainArgs) -> Result<ExitCode> {
    // A session of its own: the explain is a transaction of several statements.
    let pg = session.pg_dedicated().await?;
    let e = queries::explain(&pg, &ExplainTarget::parse(&a.target), a.analyze).await?;
    match global.output {
        Format::Json => output::write_json(&mut std::io::stdout().lock(), &e)?,
        Format::Csv => output::print_list(&e.nodes, Format::Csv)?,
        Format::Table => {
            let mut out = std::io::stdout().lock();
            let w = |out: &mut std::io::StdoutLock, line: String| {
                writeln!(out, "{}", output::printable(&line))
                    .map_err(|e| Error::io("writing stdout", e))
            };
            for n in &e.nodes {
                let actual = match (n.actual_ms, n.actual_rows) {
                    (Some(t), Some(r)) => format!(" (actual {t:.3} ms, rows={r:.0})"),
                    _ => String::new(),
                };
                let hot = if n.hottest { "  <- hottest" } else { "" };
                w(
                    &mut out,
                    format!(
                        "{}-> {}  (cost={:.2}..{:.2} rows={:.0}){actual}{hot}",
                        "   ".repeat(n.depth),
                        n.label,
                        n.startup_cost,
                        n.total_cost,
                        n.plan_rows
                    ),
                )?;
                if let Some(d) = &n.detail {
                    w(&mut out, format!("{}     {d}", "   ".repeat(n.depth)))?;
                }
            }
        }
    }
    if e.params > 0 {
        narrate::note(format!(
            "generic plan: {} parameter(s) planned as unknown values",
            e.params
        ));
    }
    Ok(ExitCode::Ok)
}

async fn send(global: &Global, session: &Session, sig: Signal, a: SignalArgs) -> Result<ExitCode> {
    let safety = session.safety().await;
    safety.admit(&sig.intent_for(a.pid)).await?;
    let pg = session.pg().await?;
    let plan = signal::plan(&pg, sig, a.pid, a.force).await?;
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    let done = Interrupts::run(&safety, plan, approval, |approved, _stop| {
        let pg = pg.clone();
        async move { signal::apply(&pg, approved).await }
    })
    .await?;
    output::print_result(&done, signalled_record, global.output)?;
    if done.signalled {
        narrate::say(format!("{} sent to pid {}", sig.action(), done.pid));
        Ok(ExitCode::Ok)
    } else {
        narrate::warn(format!(
            "pid {} did not take the signal (the session ended)",
            done.pid
        ));
        Ok(ExitCode::Problems)
    }
}

async fn reset_stats(global: &Global, session: &Session) -> Result<ExitCode> {
    let safety = session.safety().await;
    safety.admit(&reset::intent_for("this database")).await?;
    let pg = session.pg().await?;
    let plan = reset::plan(stat_statements::locate(&pg).await?);
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    let done = Interrupts::run(&safety, plan, approval, |approved, _stop| {
        let pg = pg.clone();
        async move { reset::apply(&pg, approved).await }
    })
    .await?;
    narrate::say(format!("pg_stat_statements reset for {}", done.database));
    output::print_result(
        &done,
        |r: &reset::Reset| {
            Record::new()
                .text("database", r.database.clone())
                .text("this_database_only", r.this_database_only.to_string())
        },
        global.output,
    )?;
    Ok(ExitCode::Ok)
}

fn signalled_record(s: &queries::Signalled) -> Record {
    Record::new()
        .text("pid", s.pid.to_string())
        .text("action", output::word(&s.action))
        .text("signalled", s.signalled.to_string())
        .opt("username", s.username.clone())
        .text("application_name", s.application_name.clone())
}
