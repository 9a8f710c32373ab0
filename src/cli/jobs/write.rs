//! `jobs retry` and `jobs discard`: the selection, a dry run (always shown
//! before an interactive question, alone with --dry-run), approval through
//! the safety layer, then batches with progress on stderr; a signal stops
//! the run between batches and its audit end record lists what was done.

use super::{sources, WriteArgs};
use crate::cli::interrupt::Interrupts;
use crate::cli::output::{self, Format};
use crate::cli::record::Record;
use crate::cli::{confirm, narrate, Global};
use crate::error::{Error, ExitCode, Result};
use crate::jobs::bulk::{self, DryRun, Outcome, Progress};
use crate::jobs::plan::{self, DiscardPlan, RetryPlan, Selection};
use crate::jobs::{JobSource, SourceKind};
use crate::session::Session;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Retry,
    Discard,
}

impl Kind {
    fn done_word(self) -> &'static str {
        match self {
            Kind::Retry => "retried",
            Kind::Discard => "discarded",
        }
    }
}

pub async fn run(global: &Global, session: &Session, a: WriteArgs, kind: Kind) -> Result<ExitCode> {
    if !a.all_failed && (a.queue.is_some() || a.error_like.is_some() || a.pattern.is_some()) {
        return Err(Error::Usage(
            "--queue, --error-like and --pattern select among failed jobs: add --all-failed (or pass ids alone)".into(),
        ));
    }
    let selection = if a.all_failed {
        Selection::AllFailed {
            queue: a.queue.clone(),
            error_like: a.error_like.clone(),
            pattern: a.pattern.clone(),
        }
    } else {
        Selection::Ids { ids: a.ids.clone() }
    };
    let all = sources(session, a.source.source).await?;
    let source = locate(&all, &selection).await?;
    if a.dry_run {
        let dry = bulk::dry_run(source, &selection).await?;
        narrate::say(format!(
            "dry run: {} jobs would be {}; nothing was changed",
            dry.matched,
            kind.done_word()
        ));
        print_dry(&dry, global.output)?;
        return Ok(ExitCode::Ok);
    }
    // Refused on a layout opsdeck does not know before anything is asked.
    source.check_version().await?;
    let safety = session.safety().await;
    let asking = !global.yes && !safety.read_only() && confirm::interactive();
    let matched = if asking {
        let dry = bulk::dry_run(source, &selection).await?;
        if dry.matched == 0 {
            narrate::say("no job matches; nothing to do");
            return Ok(ExitCode::Ok);
        }
        print_sample(&dry);
        Some(dry.matched)
    } else {
        None
    };
    let interrupts;
    let result = match kind {
        Kind::Retry => {
            let plan = RetryPlan::new(source.kind(), selection, matched);
            let approval = confirm::approval(&safety, &plan, global.yes).await?;
            interrupts = Interrupts::listen()?;
            match safety.authorize(plan, approval).await {
                Ok(approved) => {
                    let mut p = Reporter::new(kind);
                    let r = plan::execute_retry(source, approved, interrupts.stop(), |x| p.show(x))
                        .await;
                    p.end();
                    r
                }
                Err(e) => Err(e),
            }
        }
        Kind::Discard => {
            let plan = DiscardPlan::new(source.kind(), selection, matched);
            let approval = confirm::approval(&safety, &plan, global.yes).await?;
            interrupts = Interrupts::listen()?;
            match safety.authorize(plan, approval).await {
                Ok(approved) => {
                    let mut p = Reporter::new(kind);
                    let r =
                        plan::execute_discard(source, approved, interrupts.stop(), |x| p.show(x))
                            .await;
                    p.end();
                    r
                }
                Err(e) => Err(e),
            }
        }
    };
    if let Ok(o) = &result {
        output::print_result(o, outcome_record, global.output)?;
        if o.cancelled {
            narrate::say(format!(
                "cancelled: {} jobs were {} before stopping",
                o.done,
                kind.done_word()
            ));
        }
    }
    let o = interrupts.finish(result)?;
    narrate::say(format!(
        "{} {} jobs ({}) in {} batches",
        kind.done_word(),
        o.done,
        o.source,
        o.batches
    ));
    for (id, why) in o.skipped_ids.iter().take(20) {
        narrate::note(format!("skipped {id}: {why}"));
    }
    Ok(if o.skipped > 0 {
        narrate::warn(format!("{} jobs were left alone", o.skipped));
        ExitCode::Problems
    } else {
        ExitCode::Ok
    })
}

/// The source a change goes to: the only one, the one --source named, or
/// for ids the one system that has them all.
async fn locate<'a>(
    all: &'a [Box<dyn JobSource>],
    selection: &Selection,
) -> Result<&'a dyn JobSource> {
    if let [one] = all {
        return Ok(one.as_ref());
    }
    let Selection::Ids { ids } = selection else {
        return crate::jobs::pick(all, None);
    };
    let mut holder: Option<&dyn JobSource> = None;
    for id in ids {
        let found = futures_util::future::join_all(all.iter().map(|s| s.show(id))).await;
        let mut here: Vec<SourceKind> = Vec::new();
        for (s, f) in all.iter().zip(found) {
            if f?.is_some() {
                here.push(s.kind());
            }
        }
        let kind = match here.as_slice() {
            [] => return Err(Error::NotFound(format!("job {id}"))),
            [k] => *k,
            _ => {
                return Err(Error::Usage(format!(
                    "job {id} exists in several job systems: pass --source"
                )))
            }
        };
        match holder {
            Some(h) if h.kind() != kind => {
                return Err(Error::Usage(
                    "the ids belong to different job systems: run once per --source".into(),
                ))
            }
            Some(_) => {}
            None => holder = crate::jobs::pick(all, Some(kind)).ok(),
        }
    }
    holder.ok_or_else(crate::jobs::registry::none_found)
}

fn print_sample(dry: &DryRun) {
    narrate::say(format!(
        "{} jobs match; the first {}:",
        dry.matched,
        dry.sample.len()
    ));
    for j in &dry.sample {
        narrate::say(format!(
            "  {} {} {} {}",
            j.queue,
            j.id,
            j.state,
            output::ellipsize(j.error.as_deref().unwrap_or("-"), 60)
        ));
    }
}

fn print_dry(dry: &DryRun, format: Format) -> Result<()> {
    if format == Format::Json {
        return output::print_result(dry, |_| Record::new(), format);
    }
    let sample: Vec<String> = dry
        .sample
        .iter()
        .map(|j| {
            format!(
                "{} {} {} {}",
                j.queue,
                j.id,
                j.state,
                j.error.as_deref().unwrap_or("-")
            )
        })
        .collect();
    Record::new()
        .text("source", dry.source.to_string())
        .text("dry_run", "true")
        .text("matched", dry.matched.to_string())
        .list("sample", &sample)
        .print(format)
}

fn outcome_record(o: &Outcome) -> Record {
    let skipped: Vec<String> = o
        .skipped_ids
        .iter()
        .map(|(id, why)| format!("{id}: {why}"))
        .collect();
    let ids: Vec<String> = if o.ids.len() <= 20 {
        o.ids.clone()
    } else {
        vec![format!(
            "{} ids (see --output json or `opsdeck audit list`)",
            o.done
        )]
    };
    Record::new()
        .text("source", o.source.to_string())
        .text("cancelled", o.cancelled.to_string())
        .text("done", o.done.to_string())
        .text("skipped", o.skipped.to_string())
        .text("batches", o.batches.to_string())
        .millis("elapsed_ms", Some(o.elapsed_ms))
        .list("ids", &ids)
        .list("skipped_ids", &skipped)
}

/// Progress on stderr: a spinner on a terminal, else a plain line for the
/// first batch and then at most one a second.
struct Reporter {
    kind: Kind,
    bar: indicatif::ProgressBar,
    plain: bool,
    last: Option<Instant>,
}

impl Reporter {
    fn new(kind: Kind) -> Reporter {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!("{}…", kind.done_word()));
        Reporter {
            kind,
            bar,
            plain: !std::io::stderr().is_terminal(),
            last: None,
        }
    }

    fn show(&mut self, p: &Progress) {
        let text = format!(
            "{} {} jobs ({} skipped, {} batches)",
            self.kind.done_word(),
            p.done,
            p.skipped,
            p.batches
        );
        if self.plain
            && self
                .last
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            narrate::say(format!("progress: {text}"));
            self.last = Some(Instant::now());
        }
        self.bar.set_message(text);
        self.bar.tick();
    }

    fn end(&self) {
        self.bar.finish_and_clear();
    }
}
