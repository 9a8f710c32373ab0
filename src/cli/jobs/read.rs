//! The read-only jobs commands: queues, list (streamed), show, errors.

use super::render::time;
use super::{sources, ErrorsArgs, ListArgs};
use crate::cli::output::{self, Format, Tabular};
use crate::cli::record::Record;
use crate::cli::{narrate, Global};
use crate::error::{Error, ExitCode, Result};
use crate::jobs::group::Grouper;
use crate::jobs::{Filter, Job, SourceKind, State};
use crate::session::Session;
use futures_util::StreamExt;
use std::io::{IsTerminal, Write};

/// Rows a table shows unless --limit says otherwise.
const DEFAULT_PAGE: u64 = 50;

pub async fn queues(
    global: &Global,
    session: &Session,
    only: Option<SourceKind>,
) -> Result<ExitCode> {
    let all = sources(session, only).await?;
    let found = futures_util::future::join_all(all.iter().map(|s| s.queues())).await;
    let mut rows = Vec::new();
    for f in found {
        rows.extend(f?.into_iter().map(|q| super::render::QueueRow {
            failure_rate: q.failure_rate(),
            queue: q,
        }));
    }
    output::print_list(&rows, global.output)?;
    Ok(ExitCode::Ok)
}

pub async fn list(global: &Global, session: &Session, a: ListArgs) -> Result<ExitCode> {
    let all = sources(session, a.source.source).await?;
    if a.after.is_some() && all.len() > 1 {
        return Err(Error::Usage(
            "--after needs --source when several job systems are found".into(),
        ));
    }
    let limit = match global.output {
        Format::Table => Some(a.limit.unwrap_or(DEFAULT_PAGE)),
        _ => a.limit,
    };
    let mut sink = Sink::new(global.output);
    let mut left = limit;
    let mut last: Option<String> = None;
    for source in &all {
        if left == Some(0) {
            break;
        }
        let filter = Filter {
            queue: a.queue.clone(),
            state: a.state,
            error_like: a.error_like.clone(),
            limit: left,
            after: a.after.clone(),
        };
        let mut jobs = source.list(&filter);
        let mut chunk = Vec::new();
        while let Some(j) = jobs.next().await {
            let j = j?;
            last = Some(j.id.clone());
            chunk.push(j);
            if chunk.len() >= 500 {
                sink.write(&chunk)?;
                chunk.clear();
            }
            if let Some(n) = &mut left {
                *n -= 1;
            }
        }
        sink.write(&chunk)?;
    }
    sink.finish()?;
    if left == Some(0) && all.len() == 1 {
        if let Some(id) = last {
            narrate::say(format!("next page: --after {id}"));
        }
    }
    Ok(ExitCode::Ok)
}

pub async fn show(
    global: &Global,
    session: &Session,
    id: &str,
    only: Option<SourceKind>,
) -> Result<ExitCode> {
    let all = sources(session, only).await?;
    let found = futures_util::future::join_all(all.iter().map(|s| s.show(id))).await;
    let mut jobs = Vec::new();
    for f in found {
        jobs.extend(f?);
    }
    let job = match jobs.len() {
        0 => return Err(Error::NotFound(format!("job {id}"))),
        1 => jobs.remove(0),
        _ => {
            let kinds: Vec<&str> = jobs.iter().map(|j| j.source.as_str()).collect();
            return Err(Error::Usage(format!(
                "job {id} exists in {}: pass --source",
                kinds.join(" and ")
            )));
        }
    };
    output::print_result(&job, detail_record, global.output)?;
    Ok(ExitCode::Ok)
}

fn detail_record(j: &Job) -> Record {
    let payload = j
        .payload
        .as_ref()
        .map(|p| serde_json::to_string_pretty(p).unwrap_or_default());
    let history: Vec<String> = j
        .history
        .iter()
        .map(|h| {
            let mut s = format!("{} {}", time(h.at), h.event);
            if let Some(e) = &h.error {
                s.push_str(&format!(": {e}"));
            }
            s
        })
        .collect();
    Record::new()
        .text("source", j.source.to_string())
        .text("queue", j.queue.clone())
        .text("id", j.id.clone())
        .opt("name", j.name.clone())
        .text("state", j.state.to_string())
        .text("attempts", j.attempts.to_string())
        .text("max_attempts", j.max_attempts.to_string())
        .opt("error", j.error.clone())
        .opt("created_at", j.created_at.map(|t| time(Some(t))))
        .opt("run_at", j.run_at.map(|t| time(Some(t))))
        .opt("started_at", j.started_at.map(|t| time(Some(t))))
        .opt("finished_at", j.finished_at.map(|t| time(Some(t))))
        .opt("failed_at", j.failed_at.map(|t| time(Some(t))))
        .list(
            "payload",
            &payload
                .map(|p| p.lines().map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default(),
        )
        .list(
            "stack",
            &j.stack
                .as_deref()
                .map(|s| s.lines().map(str::to_string).collect::<Vec<_>>())
                .unwrap_or_default(),
        )
        .list("history", &history)
}

pub async fn errors(global: &Global, session: &Session, a: ErrorsArgs) -> Result<ExitCode> {
    let all = sources(session, a.source.source).await?;
    let mut grouper = Grouper::new();
    for source in &all {
        let filter = Filter {
            queue: a.queue.clone(),
            state: Some(State::Failed),
            error_like: a.error_like.clone(),
            limit: Some(a.scan),
            after: None,
        };
        let before = grouper.scanned;
        let mut jobs = source.list(&filter);
        while let Some(j) = jobs.next().await {
            grouper.add(&j?);
        }
        if grouper.scanned - before >= a.scan {
            narrate::note(format!(
                "{}: grouped the first {} failed jobs only (--scan)",
                source.kind(),
                a.scan
            ));
        }
    }
    let scanned = grouper.scanned;
    let groups = grouper.finish();
    output::print_list(&groups, global.output)?;
    narrate::say(format!("{scanned} failed jobs in {} groups", groups.len()));
    Ok(ExitCode::Ok)
}

/// Jobs written as they arrive: a JSON array, CSV with one header, or a
/// table per chunk.
struct Sink {
    format: Format,
    written: usize,
    csv: Option<csv::Writer<crate::cli::safe::Csv<std::io::Stdout>>>,
}

fn out_err(e: impl Into<std::io::Error>) -> Error {
    Error::io("writing stdout", e.into())
}

impl Sink {
    fn new(format: Format) -> Sink {
        Sink {
            format,
            written: 0,
            csv: None,
        }
    }

    fn write(&mut self, rows: &[Job]) -> Result<()> {
        let stdout = std::io::stdout();
        match self.format {
            Format::Json => {
                let mut out = std::io::BufWriter::new(stdout.lock());
                for r in rows {
                    out.write_all(if self.written == 0 {
                        b"[\n  "
                    } else {
                        b",\n  "
                    })
                    .map_err(out_err)?;
                    serde_json::to_writer(&mut out, r).map_err(out_err)?;
                    self.written += 1;
                }
                out.flush().map_err(out_err)
            }
            Format::Csv => {
                let w = match &mut self.csv {
                    Some(w) => w,
                    None => {
                        let terminal = stdout.is_terminal();
                        let mut w =
                            csv::Writer::from_writer(crate::cli::safe::Csv::new(stdout, terminal));
                        w.write_record(Job::headers()).map_err(output::csv_err)?;
                        self.csv.insert(w)
                    }
                };
                for r in rows {
                    w.write_record(r.cells()).map_err(output::csv_err)?;
                }
                w.flush().map_err(out_err)
            }
            Format::Table => {
                if rows.is_empty() && self.written > 0 {
                    return Ok(());
                }
                let mut t = output::table(Job::table_headers());
                for r in rows {
                    output::row(&mut t, r.shown());
                }
                output::fit_columns(&mut t);
                self.written += rows.len().max(1);
                writeln!(stdout.lock(), "{t}").map_err(out_err)
            }
        }
    }

    fn finish(mut self) -> Result<()> {
        match self.format {
            Format::Json if self.written == 0 => writeln!(std::io::stdout(), "[]").map_err(out_err),
            Format::Json => writeln!(std::io::stdout(), "\n]").map_err(out_err),
            Format::Csv if self.csv.is_none() => self.write(&[]),
            _ => Ok(()),
        }
    }
}
