//! `opsdeck cache …`: stats, keys, get, del and invalidate over the core in
//! `crate::cache`. Keys stream to stdout page by page; progress and notes go
//! to stderr.

use super::interrupt::Interrupts;
use super::output::{self, Format};
use super::record::Record;
use super::{confirm, narrate, Global};
use crate::cache::{
    self, Deleted, Deletion, DryRun, Invalidated, KeyEntry, KeysOptions, Plan, Throttle,
};
use crate::error::{Error, ExitCode, Result};
use crate::session::Session;
use crate::units::bytes as human_bytes;
use clap::{ArgGroup, Args, Subcommand};
use std::io::{IsTerminal, Write};

#[derive(Debug, Subcommand)]
pub enum CacheCmd {
    /// Memory, hit ratio and ops/s over a short window, evictions, clients, slowlog, and keys/memory per prefix and TTLs from a bounded sample.
    Stats {
        /// Milliseconds between the two INFO samples that give the hit ratio and ops/s (0: one sample, no window; at most an hour).
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
        sample_ms: u64,
    },
    /// List keys with SCAN (never KEYS) on every master, streaming; table output is one key per line.
    Keys {
        /// SCAN MATCH glob (default: every key); `\xNN` for raw bytes.
        #[arg(long)]
        pattern: Option<String>,
        /// Stop after this many keys.
        #[arg(long)]
        limit: Option<usize>,
        /// Also show type, TTL and MEMORY USAGE.
        #[arg(long)]
        sizes: bool,
    },
    /// Show a key of any type with its TTL, encoding and size (big values bounded).
    Get {
        /// The key; `\xNN` for raw bytes, `\\` for a backslash.
        key: String,
    },
    /// Delete keys (UNLINK); asks for the key (or "N keys") to be typed.
    Del {
        #[arg(required = true)]
        keys: Vec<String>,
    },
    /// Delete the keys matching a pattern, in a tag set, or of a tenant, in throttled batches.
    Invalidate(InvalidateArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("selector").required(true).args(["pattern", "tag", "tenant"])))]
pub struct InvalidateArgs {
    /// SCAN MATCH glob of the keys to delete.
    #[arg(long)]
    pattern: Option<String>,
    /// Tag whose set lists the keys (the set itself goes too).
    #[arg(long)]
    tag: Option<String>,
    /// Tenant id, or slug resolved through Postgres.
    #[arg(long)]
    tenant: Option<String>,
    /// Count and show a sample; change nothing.
    #[arg(long)]
    dry_run: bool,
}

pub async fn run(global: &Global, cmd: CacheCmd) -> Result<ExitCode> {
    let session = global.session()?;
    match cmd {
        CacheCmd::Stats { sample_ms } => stats(global, &session, sample_ms).await,
        CacheCmd::Keys {
            pattern,
            limit,
            sizes,
        } => {
            let opts = KeysOptions {
                pattern: pattern.as_deref().map(cache::unescape).transpose()?,
                limit,
                sizes,
            };
            keys(global, &session, &opts).await
        }
        CacheCmd::Get { key } => {
            let key = cache::unescape(&key)?;
            let value = cache::get(&session.redis().await?, &key).await?;
            super::cache_value::print(&value, global.output)?;
            Ok(ExitCode::Ok)
        }
        CacheCmd::Del { keys } => del(global, &session, &keys).await,
        CacheCmd::Invalidate(args) => invalidate(global, &session, args).await,
    }
}

/// `--tenant T`: the tenant `tenants::resolve` finds for T, or T taken as
/// the id when the context has no Postgres to look it up in.
async fn tenant_plan(session: &Session, tenant: &str) -> Result<Plan> {
    let layout = &session.ctx.cache;
    if !session.has_pg() {
        return Plan::tenant(layout, tenant, tenant.trim(), None);
    }
    let pg = session.pg().await?;
    let t = crate::tenants::resolve(&pg, &session.ctx.schema, tenant).await?;
    Plan::tenant(layout, tenant, &t.id, t.slug.as_deref())
}

fn out_err(e: std::io::Error) -> Error {
    Error::io("writing stdout", e)
}

async fn stats(global: &Global, session: &Session, sample_ms: u64) -> Result<ExitCode> {
    let redis = session.redis().await?;
    let layout = &session.ctx.cache;
    let stats = if sample_ms > 0 {
        cache::stats_over(&redis, layout, std::time::Duration::from_millis(sample_ms)).await?
    } else {
        cache::stats(&redis, layout).await?
    };
    for n in &stats.notes {
        narrate::note(n);
    }
    match global.output {
        Format::Table => super::cache_stats::print(&stats).map_err(out_err)?,
        Format::Json => output::write_json(&mut std::io::stdout().lock(), &stats)?,
        // CSV is flat: one record per node (the sample and slowlog are in the JSON).
        Format::Csv => output::print_list(&stats.nodes, Format::Csv)?,
    }
    Ok(ExitCode::Ok)
}

/// Writes listed keys as they arrive: bare lines (table), CSV rows, or the
/// elements of one JSON array.
struct KeyWriter<W: Write> {
    out: W,
    format: Format,
    sizes: bool,
    first: bool,
    /// Characters of a key a `--sizes` line has room for (none: `--wide`).
    key_width: Option<usize>,
}

impl<W: Write> KeyWriter<W> {
    fn start(&mut self) -> std::io::Result<()> {
        match (self.format, self.sizes) {
            (Format::Json, _) => self.out.write_all(b"["),
            (Format::Csv, false) => self.out.write_all(b"key\n"),
            (Format::Csv, true) => self.out.write_all(b"key,type,ttl_ms,memory_bytes\n"),
            (Format::Table, true) => writeln!(
                self.out,
                "{:<8} {:>10} {:>10}  KEY",
                "TYPE", "TTL", "MEMORY"
            ),
            (Format::Table, false) => Ok(()),
        }
    }

    fn page(&mut self, page: &[KeyEntry]) -> std::io::Result<()> {
        for e in page {
            match self.format {
                Format::Json => {
                    self.out
                        .write_all(if self.first { b"\n  " } else { b",\n  " })?;
                    super::json::compact(&mut self.out, e)?;
                }
                Format::Csv => {
                    let mut w = csv::WriterBuilder::new()
                        .has_headers(false)
                        .from_writer(&mut self.out);
                    let mut row = vec![e.key.clone()];
                    if let Some(s) = &e.sizes {
                        row.extend([
                            s.kind.clone(),
                            opt_empty(s.ttl_ms),
                            opt_empty(s.memory_bytes),
                        ]);
                    }
                    w.write_record(&row).map_err(std::io::Error::other)?;
                    w.flush()?;
                }
                Format::Table => match &e.sizes {
                    Some(s) => writeln!(
                        self.out,
                        "{:<8} {:>10} {:>10}  {}",
                        s.kind,
                        s.ttl_ms
                            .map_or_else(|| "none".into(), |t| crate::units::millis(t as f64)),
                        s.memory_bytes.map_or_else(|| "-".into(), human_bytes),
                        match self.key_width {
                            Some(w) => output::ellipsize(&e.key, w),
                            None => e.key.clone(),
                        }
                    )?,
                    None => {
                        self.out.write_all(e.key.as_bytes())?;
                        self.out.write_all(b"\n")?;
                    }
                },
            }
            self.first = false;
        }
        // Flush per page so a slow scan still shows keys as they are found.
        self.out.flush()
    }

    fn finish(&mut self) -> std::io::Result<()> {
        if self.format == Format::Json {
            self.out
                .write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        }
        self.out.flush()
    }
}

fn opt_empty<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

async fn keys(global: &Global, session: &Session, opts: &KeysOptions) -> Result<ExitCode> {
    let redis = session.redis().await?;
    let stdout = std::io::stdout();
    let mut w = KeyWriter {
        out: std::io::BufWriter::with_capacity(256 * 1024, stdout.lock()),
        format: global.output,
        sizes: opts.sizes,
        first: true,
        // The type, TTL and memory columns take 32; a key keeps at least 20.
        key_width: output::line_width().map(|w| usize::from(w).saturating_sub(32).max(20)),
    };
    let mut closed = false;
    let result = match w.start() {
        Ok(()) => {
            cache::keys(&redis, opts, |page| {
                w.page(page).map_err(|e| {
                    closed = e.kind() == std::io::ErrorKind::BrokenPipe;
                    out_err(e)
                })
            })
            .await
        }
        Err(e) => {
            closed = e.kind() == std::io::ErrorKind::BrokenPipe;
            Err(out_err(e))
        }
    };
    // A reader that went away (`| head`) ends the listing; that is not an error.
    if closed {
        return Ok(ExitCode::Ok);
    }
    let summary = result?;
    w.finish().map_err(out_err)?;
    for n in &summary.notes {
        narrate::note(n);
    }
    if summary.limited {
        narrate::say(format!("stopped at --limit {} keys", summary.found));
    }
    Ok(ExitCode::Ok)
}

async fn del(global: &Global, session: &Session, keys: &[String]) -> Result<ExitCode> {
    let keys: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| cache::unescape(k))
        .collect::<Result<_>>()?;
    let redis = session.redis().await?;
    let plan = Deletion::new(keys, &redis.target);
    let safety = session.safety().await;
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    // One UNLINK that cannot stop midway: a signal waits for its end record.
    let done = Interrupts::run(&safety, plan, approval, |approved, _| {
        cache::del(&redis, approved)
    })
    .await?;
    narrate::say(format!(
        "deleted {} of {} keys",
        done.deleted, done.requested
    ));
    output::print_result(&done, deleted_record, global.output)?;
    Ok(ExitCode::Ok)
}

async fn invalidate(global: &Global, session: &Session, args: InvalidateArgs) -> Result<ExitCode> {
    let plan = match (&args.pattern, &args.tag, &args.tenant) {
        (Some(p), _, _) => Plan::pattern(p)?,
        (_, Some(t), _) => Plan::tag(&session.ctx.cache, t),
        (_, _, Some(t)) => tenant_plan(session, t).await?,
        _ => {
            return Err(Error::Usage(
                "pass one of --pattern, --tag or --tenant".into(),
            ))
        }
    };
    let redis = session.redis().await?;
    if args.dry_run {
        let dry = cache::dry_run(&redis, &plan).await?;
        narrate::say(format!(
            "dry run: {} keys would be deleted; nothing was changed",
            dry.matched
        ));
        output::print_result(&dry, dry_run_record, global.output)?;
        return Ok(ExitCode::Ok);
    }
    let safety = session.safety().await;
    // The count goes into the question only when someone will read it.
    let asking = !global.yes && !safety.read_only() && confirm::interactive();
    let matched = if asking {
        Some(cache::dry_run(&redis, &plan).await?.matched)
    } else {
        None
    };
    let plan = plan.invalidation(&redis.target, matched);
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    // Listening before the start record: a signal from here on stops the run
    // between batches, and its end record says how far it got.
    let interrupts = Interrupts::listen()?;
    let approved = match safety.authorize(plan, approval).await {
        Ok(a) => a,
        Err(e) => return interrupts.finish(Err(e)),
    };
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message("deleting…");
    // The spinner draws only on a terminal; a log or CI job reading stderr
    // gets plain lines instead: the first batch, then at most one a second.
    let plain = !std::io::stderr().is_terminal();
    let mut last_line: Option<std::time::Instant> = None;
    let stop = interrupts.stop().clone();
    let result = cache::invalidate::run(&redis, approved, Throttle::default(), &stop, |p| {
        let text = format!(
            "deleted {} keys ({} scanned, {} batches) on {}",
            p.deleted, p.scanned, p.batches, p.node
        );
        if plain && last_line.is_none_or(|t| t.elapsed() >= std::time::Duration::from_secs(1)) {
            narrate::say(format!("progress: {text}"));
            last_line = Some(std::time::Instant::now());
        }
        bar.set_message(text);
        bar.tick();
    })
    .await;
    bar.finish_and_clear();
    if let Ok(done) = &result {
        output::print_result(done, invalidated_record, global.output)?;
        if done.cancelled {
            narrate::say(format!(
                "cancelled: {} keys were deleted before stopping",
                done.deleted
            ));
        }
    }
    // Only a signal stops a run here, and then this exits 128 + its number.
    let done = interrupts.finish(result)?;
    narrate::say(format!("deleted {} keys", done.deleted));
    Ok(ExitCode::Ok)
}

fn deleted_record(d: &Deleted) -> Record {
    Record::new()
        .text("requested", d.requested.to_string())
        .text("deleted", d.deleted.to_string())
}

/// What was selected, how: the first fields of both invalidation records.
fn selection(
    by: cache::Selector,
    target: &str,
    pattern: &Option<String>,
    tag_key: &Option<String>,
    tenant_id: &Option<String>,
) -> Record {
    Record::new()
        .text("by", output::word(&by))
        .text("target", target)
        .opt("pattern", pattern.clone())
        .opt("tag_key", tag_key.clone())
        .opt("tenant_id", tenant_id.clone())
}

fn dry_run_record(d: &DryRun) -> Record {
    selection(d.by, &d.target, &d.pattern, &d.tag_key, &d.tenant_id)
        .text("dry_run", d.dry_run.to_string())
        .text("matched", d.matched.to_string())
        .list("sample", &d.sample)
}

fn invalidated_record(d: &Invalidated) -> Record {
    selection(d.by, &d.target, &d.pattern, &d.tag_key, &d.tenant_id)
        .text("dry_run", d.dry_run.to_string())
        .text("cancelled", d.cancelled.to_string())
        .text("deleted", d.deleted.to_string())
        .text("scanned", d.scanned.to_string())
        .text("batches", d.batches.to_string())
        .millis("elapsed_ms", Some(d.elapsed_ms))
        .opt("tag_set_deleted", d.tag_set_deleted)
}
