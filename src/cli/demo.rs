//! `opsdeck demo`: throwaway Postgres and Redis, seeded with the reference
//! system, then the console on them (on a terminal) or their URLs on stdout
//! until Ctrl-C/SIGTERM/SIGHUP; afterwards the servers are stopped and
//! removed (the Postgres data directory survives with `--keep`).

use super::output::{self, Format};
use super::record::Record;
use super::{narrate, Global};
use crate::audit::{install_schema, SchemaInstall};
use crate::config::{Context, ContextOverrides, Paths};
use crate::error::{Error, ExitCode, Result};
use crate::safety::Approval;
use crate::sandbox::seed::{self, Scale, SeedStep};
use crate::sandbox::{PgOptions, PgSandbox, RedisSandbox};
use crate::session::Session;
use crate::signals::{self, Signals};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// The demo's database: `postgres` stays free for admin work.
const DEMO_DB: &str = "app";
const DEMO_CONTEXT: &str = "demo";

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Leave the Postgres data directory in place on exit and print its path.
    #[arg(long)]
    pub keep: bool,
    /// Print the connection settings and wait for Ctrl-C instead of opening the console.
    #[arg(long)]
    pub no_tui: bool,
    /// How much data to seed: tiny, small, default (millions of events) or large (1,000,000 tenants).
    #[arg(long, default_value = "default")]
    pub scale: Scale,
}

/// The connection settings `--output json|csv` prints instead of export lines.
#[derive(serde::Serialize)]
struct Settings<'a> {
    pg_url: &'a str,
    redis_url: &'a str,
}

impl Settings<'_> {
    fn record(&self) -> Record {
        Record::new()
            .text("pg_url", self.pg_url)
            .text("redis_url", self.redis_url)
    }
}

/// The running servers; dropping it stops them.
struct Demo {
    pg: PgSandbox,
    redis: RedisSandbox,
}

pub async fn run(global: &Global, args: DemoArgs) -> Result<ExitCode> {
    // Ctrl-C, SIGTERM, and SIGHUP when the terminal goes away end the demo.
    let mut stop = Signals::new().map_err(|e| Error::io("cannot listen for signals", e))?;
    let demo = tokio::select! {
        demo = start(global, args.scale, args.keep) => demo?,
        sig = stop.recv() => {
            narrate::say(format!(
                "{}: stopped the demo servers before they were ready",
                signals::name(sig)
            ));
            return Err(Error::Cancelled);
        }
    };
    let pg_url = demo.pg.url_for(DEMO_DB);
    let redis_url = demo.redis.url();
    let overrides = ContextOverrides {
        pg: Some(pg_url.clone()),
        redis: Some(redis_url.clone()),
        read_only: global.read_only,
    };
    let on_terminal = std::io::stdout().is_terminal() && std::io::stdin().is_terminal();
    if !args.no_tui && on_terminal {
        let session = demo_session(global, &overrides)?;
        let options = crate::tui::Options {
            color: global.color(),
            overrides,
            log_file: global.log_file.clone(),
            verbose: global.verbose,
        };
        let ended = crate::tui::run(session, options).await;
        finish(demo, args.keep);
        return match ended? {
            crate::tui::Exit::Quit => Ok(ExitCode::Ok),
            // Like the plain console: exit the way a signalled process does,
            // now that the servers are stopped.
            crate::tui::Exit::Signal(n) => std::process::exit(128 + n),
        };
    }

    if global.output == Format::Table {
        let mut out = std::io::stdout().lock();
        let printed = writeln!(out, "export OPSDECK_PG_URL={}", shell_quote(&pg_url))
            .and_then(|()| writeln!(out, "export OPSDECK_REDIS_URL={}", shell_quote(&redis_url)))
            .and_then(|()| out.flush());
        drop(out);
        printed.map_err(|e| Error::io("cannot write to stdout", e))?;
        narrate::say(
            "demo ready; paste the export lines into your shell, then run: opsdeck overview  (Ctrl-C stops the servers)",
        );
    } else {
        let settings = Settings {
            pg_url: &pg_url,
            redis_url: &redis_url,
        };
        output::print_result(&settings, Settings::record, global.output)?;
        narrate::say("demo ready (Ctrl-C stops the servers)");
    }

    let sig = stop.recv().await;
    narrate::say(format!("{}: stopping the demo servers", signals::name(sig)));
    finish(demo, args.keep);
    Ok(ExitCode::Ok)
}

/// One word for a POSIX shell, whatever the URL holds (`?`, `&` in options).
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Stops the servers and removes their directories, except a kept data dir.
fn finish(demo: Demo, keep: bool) {
    let kept = keep.then(|| demo.pg.data_dir());
    drop(demo);
    if let Some(dir) = kept {
        narrate::say(format!(
            "kept the Postgres data directory {}",
            dir.display()
        ));
    }
}

async fn start(global: &Global, scale: Scale, keep: bool) -> Result<Demo> {
    let started = Instant::now();
    narrate::say("starting a throwaway Postgres and Redis");
    let (pg, redis) = tokio::try_join!(
        PgSandbox::start(PgOptions::default().keep(keep)),
        RedisSandbox::start()
    )?;
    pg.create_database(DEMO_DB).await?;
    // `opsdeck init`, so the console's audit goes to the database too; before
    // the seed, whose workload resets the statement stats. The demo's own
    // servers take it whatever --read-only says about the console.
    let setup = demo_session(
        global,
        &ContextOverrides {
            pg: Some(pg.url_for(DEMO_DB)),
            redis: Some(redis.url()),
            read_only: false,
        },
    )?;
    let setup_pg = setup.pg().await?;
    let approved = setup
        .safety()
        .await
        .authorize(SchemaInstall::new(&setup_pg.target), Approval::AssumeYes)
        .await?;
    install_schema(&setup_pg, approved).await?;
    drop(setup);
    let client = pg.connect(DEMO_DB).await?;
    let bar = progress_bar();
    let report = seed::seed_postgres(&client, scale, &|s: SeedStep| {
        bar.set_length(s.total);
        bar.set_position(s.done);
        bar.set_message(s.label);
    })
    .await?;
    bar.set_message("redis cache keys");
    let cache = seed::seed_redis(&redis.url(), scale).await?;
    seed::seed_bullmq(&redis.url(), scale).await?;
    bar.finish_and_clear();
    narrate::say(format!(
        "seeded {} tenants, {} users, {} events, {} API keys and {} cache keys ({} scale) in {:.1} s",
        report.tenants,
        report.users,
        report.events,
        report.api_keys,
        cache.keys,
        scale,
        started.elapsed().as_secs_f64()
    ));
    Ok(Demo { pg, redis })
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(1), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} seeding [{bar:30}] {pos}/{len} {msg} ({elapsed})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// A session on the demo servers, whatever the config's contexts say about
/// other servers.
/// The demo runs in a context of its own named `demo` with the reference
/// schema's defaults: the user's contexts (their schema mappings, read-only
/// flags) describe other systems. Theme, keys and TUI settings still apply,
/// and `:ctx` can switch to the user's contexts.
fn demo_session(global: &Global, overrides: &ContextOverrides) -> Result<Session> {
    let paths = Paths::discover();
    let mut config = global.load_config(&paths)?;
    // The seeded outbox is read through its column names, as any would be.
    let jobs = crate::config::jobs::JobsConfig {
        outbox: Some(seed::jobs_pg::outbox_config()),
        ..Default::default()
    };
    config.contexts.insert(
        DEMO_CONTEXT.into(),
        Context {
            jobs,
            ..Context::default()
        },
    );
    Session::new(config, paths, Some(DEMO_CONTEXT), overrides)
}

#[cfg(test)]
mod tests {
    #[test]
    fn shell_quote_survives_a_shell() {
        for s in [
            "postgres://u@h:5432/app?sslmode=disable&x=1",
            "it's $HOME `x` *",
        ] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", super::shell_quote(s)))
                .output()
                .unwrap();
            assert_eq!(String::from_utf8(out.stdout).unwrap(), s);
        }
    }
}
