//! `opsdeck overview`: the health summary.

use super::output::{self, Format, Tabular};
use super::Global;
use crate::error::{Error, ExitCode, Result};
use crate::health::overview::{collect_with_errors, Figure, Level, Overview};
use clap::Args;
use serde::Serialize;

#[derive(Debug, Args)]
pub struct OverviewArgs {
    /// Milliseconds between the two samples that give TPS and the Redis hit ratio and ops/s (0: one sample, none of them; at most an hour).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    pub sample_ms: u64,
}

#[derive(Serialize)]
struct Report<'a> {
    #[serde(flatten)]
    overview: &'a Overview,
    figures: Vec<Figure>,
    /// Present when a job system was found.
    #[serde(skip_serializing_if = "Option::is_none")]
    jobs: Option<crate::jobs::health::JobsHealth>,
    last_drill: Option<crate::drills::status::LastDrill>,
}

fn level(l: Level) -> &'static str {
    match l {
        Level::Ok => "ok",
        Level::Warn => "warn",
        Level::Error => "error",
        Level::Unknown => "-",
    }
}

/// CSV: the stable key, its label and level, the raw value, then the text
/// a person reads; a table shows the label, the level and that text.
impl Tabular for Figure {
    fn headers() -> Vec<&'static str> {
        vec!["key", "figure", "level", "value", "display"]
    }
    fn table_headers() -> Vec<&'static str> {
        vec!["figure", "level", "value"]
    }
    fn shown(&self) -> Vec<String> {
        vec![
            self.label.clone(),
            level(self.level).to_string(),
            self.display.clone(),
        ]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.key.to_string(),
            self.label.clone(),
            level(self.level).to_string(),
            self.value.map(|v| v.to_string()).unwrap_or_default(),
            self.display.clone(),
        ]
    }
}

pub async fn run(global: &Global, args: OverviewArgs) -> Result<ExitCode> {
    let session = global.session()?;
    if !session.has_pg() && session.ctx.redis.is_none() {
        return Err(Error::Usage(format!(
            "nothing to look at: {}; {}",
            Error::no_postgres(),
            Error::no_redis()
        )));
    }
    let (mut overview, mut errors) = collect_with_errors(&session).await;
    if !errors.is_empty() && overview.postgres.is_none() && overview.redis.is_none() {
        // Nothing answered: the first failure is the command's error (and exit code).
        let first = errors.remove(0);
        for e in &errors {
            super::report(e);
        }
        return Err(first);
    }
    if args.sample_ms > 0 && (overview.postgres.is_some() || overview.redis.is_some()) {
        tokio::time::sleep(std::time::Duration::from_millis(args.sample_ms)).await;
        let (mut second, _) = collect_with_errors(&session).await;
        second.window_since(&overview);
        overview = second;
    }
    let thresholds = &session.ctx.thresholds;
    let mut figures = overview.figures(thresholds);
    // Independent reads: one round trip's latency for both.
    let (jobs, last_drill) = tokio::join!(jobs_health(&session, &overview), last_drill(&session));
    let jobs = match jobs {
        Ok(j) => j,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    figures.extend(jobs.iter().flat_map(|j| j.figures()));
    if session.has_pg() {
        figures.push(crate::drills::status::figure(last_drill.as_ref()));
    }
    match global.output {
        Format::Json => output::write_json(
            &mut std::io::stdout().lock(),
            &Report {
                overview: &overview,
                figures,
                jobs,
                last_drill,
            },
        )?,
        f => output::print_list(&figures, f)?,
    }
    for e in &errors {
        super::report(e);
    }
    Ok(match errors.first() {
        Some(e) => e.exit_code(),
        None if overview.has_problems(thresholds) => ExitCode::Problems,
        None => ExitCode::Ok,
    })
}

/// The job systems' figures, read only from the stores that answered.
async fn jobs_health(
    session: &crate::session::Session,
    overview: &Overview,
) -> Result<Option<crate::jobs::health::JobsHealth>> {
    let backends = crate::jobs::Backends {
        pg: match overview.postgres {
            Some(_) => Some(session.pg().await?),
            None => None,
        },
        redis: match overview.redis {
            Some(_) => Some(session.redis().await?),
            None => None,
        },
    };
    crate::jobs::health::collect(&backends, &session.ctx.jobs).await
}

/// The last restore drill (history in the database when it answers, else
/// the local file); an unreadable history is a warning, not a failed overview.
async fn last_drill(session: &crate::session::Session) -> Option<crate::drills::status::LastDrill> {
    if !session.has_pg() {
        return None;
    }
    let pg = session.pg().await.ok();
    let local = crate::drills::history::local_file(&session.paths.data_dir);
    match crate::drills::status::last(pg.as_deref(), &local, session.ctx.drills.interval_days).await
    {
        Ok(last) => last,
        Err(e) => {
            super::narrate::warn(format!("cannot read the drill history: {e}"));
            None
        }
    }
}
