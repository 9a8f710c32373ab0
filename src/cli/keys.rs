//! `opsdeck keys list|create|revoke|rotate|verify`. A new key is printed
//! once, on stdout (alone in table output, so `KEY=$(opsdeck keys create …)`
//! works); everything else about it goes to stderr, and nothing records it.

mod stdin;

use super::interrupt::Interrupts;
use super::narrate;
use super::output::{self, Format, Tabular};
use super::record::Record;
use super::{confirm, Global};
use crate::conn::Secret;
use crate::error::{Error, ExitCode, Result};
use crate::keys::{self, CreateRequest, KeyRow, KeyState, ListQuery, Revocation};
use crate::session::Session;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Rows of table output without --limit (about a screenful).
const DEFAULT_PAGE: usize = 50;
/// Rows fetched per round trip when streaming.
const CHUNK: usize = 1000;

#[derive(Debug, Subcommand)]
pub enum KeysCmd {
    /// List API keys, newest first (never their secrets). --output csv|json
    /// streams every match (or --limit N); table output shows 50 rows, or
    /// --limit N. When more rows follow, the next page's cursor is printed on stderr.
    List(ListArgs),
    /// Create a key; it is printed once on stdout and stored only as its hash.
    Create(CreateArgs),
    /// Revoke a key (by id or display prefix): requests with it fail from now on.
    Revoke {
        /// Key id or display prefix.
        key: String,
    },
    /// Issue a new key with the same tenant, name and scopes; the old one
    /// stays valid until the grace deadline. The new key is printed once.
    Rotate {
        /// Key id or display prefix.
        key: String,
        /// How long the old key keeps working (30m, 24h, 7d; 0 ends it now).
        #[arg(long, default_value = "24h")]
        grace: String,
    },
    /// Read a key from stdin and say whether the backend would accept it
    /// (format, checksum, stored hash, revoked, expired), without printing it.
    /// Exit 1 when it would not.
    Verify,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this tenant's keys (id, slug or name).
    #[arg(long)]
    pub tenant: Option<String>,
    /// Only keys in this state: active, expiring, expired, revoked.
    #[arg(long, value_parser = parse_state)]
    pub state: Option<KeyState>,
    /// Text contained in the name or display prefix (case-insensitive).
    #[arg(long)]
    pub search: Option<String>,
    /// At most this many rows; the cursor that continues is printed on stderr.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Continue after this cursor (from a previous page).
    #[arg(long)]
    pub after: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Tenant id, slug or name.
    #[arg(long)]
    pub tenant: String,
    /// What the key is for ("ci", "zapier").
    #[arg(long)]
    pub name: String,
    /// Comma-separated scopes.
    #[arg(long, value_delimiter = ',')]
    pub scopes: Vec<String>,
    /// Lifetime (90d, 12w, 24h); without it the key does not expire.
    #[arg(long)]
    pub expires: Option<String>,
}

fn parse_state(s: &str) -> std::result::Result<KeyState, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

impl Tabular for KeyRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "prefix",
            "name",
            "tenant_id",
            "scopes",
            "state",
            "created_at",
            "expires_at",
            "last_used_at",
            "revoked_at",
            "replaced_by",
            "created_by",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            self.id.clone(),
            o(&self.prefix),
            o(&self.name),
            self.tenant_id.clone(),
            self.scopes.join(","),
            self.state.as_str().to_string(),
            o(&self.created_at),
            o(&self.expires_at),
            o(&self.last_used_at),
            o(&self.revoked_at),
            o(&self.replaced_by),
            o(&self.created_by),
        ]
    }
}

/// Columns of the list table, which fits 80 columns (every field is in JSON and CSV).
const TABLE_HEADERS: [&str; 7] = [
    "id", "prefix", "name", "tenant", "scopes", "state", "expires",
];

fn table_cells(k: &KeyRow) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        k.id.clone(),
        o(&k.prefix),
        o(&k.name),
        k.tenant_id.clone(),
        k.scopes.join(","),
        k.state.as_str().to_string(),
        // The day is what a reader scans for; JSON and CSV keep the time.
        k.expires_at
            .as_deref()
            .map(|t| t.chars().take(10).collect())
            .unwrap_or_default(),
    ]
}

pub async fn run(global: &Global, cmd: KeysCmd) -> Result<ExitCode> {
    let session = global.session()?;
    match cmd {
        KeysCmd::List(args) => list(global, &session, args).await,
        KeysCmd::Create(args) => create(global, &session, args).await,
        KeysCmd::Revoke { key } => revoke(global, &session, &key).await,
        KeysCmd::Rotate { key, grace } => rotate(global, &session, &key, &grace).await,
        KeysCmd::Verify => verify(global, &session).await,
    }
}

fn out_err(e: std::io::Error) -> Error {
    Error::io("writing stdout", e)
}

async fn list(global: &Global, session: &Session, a: ListArgs) -> Result<ExitCode> {
    // A bad cursor is the caller's mistake whether or not the server is up.
    if let Some(after) = &a.after {
        keys::cursor::decode(after)?;
    }
    if a.limit == Some(0) {
        return Err(Error::Usage("--limit must be at least 1".into()));
    }
    let pg = session.pg().await?;
    let (map, settings) = (&session.ctx.schema, &session.ctx.api_keys);
    let (m, tenant) = match &a.tenant {
        Some(t) => {
            let (m, t) = tokio::try_join!(
                keys::meta::load(&pg, map),
                crate::tenants::resolve(&pg, map, t)
            )?;
            (m, Some(t.id))
        }
        None => (keys::meta::load(&pg, map).await?, None),
    };
    let limit = match global.output {
        Format::Table => Some(a.limit.unwrap_or(DEFAULT_PAGE)),
        _ => a.limit,
    };
    let mut q = ListQuery {
        tenant,
        state: a.state,
        search: a.search,
        after: a.after,
        ..ListQuery::default()
    };
    let mut sink = Sink::new(global.output);
    let mut left = limit;
    let next = loop {
        q.limit = left.map_or(CHUNK, |n| n.min(CHUNK));
        let page = keys::store::page_in(&pg, &m, settings, &q).await?;
        if let Some(n) = &mut left {
            *n -= page.rows.len();
        }
        match sink.write(&page.rows) {
            Err(e) if broken_pipe(&e) => return Ok(ExitCode::Ok),
            r => r.map_err(out_err)?,
        }
        match (page.next_cursor, left) {
            (None, _) => break None,
            (Some(c), Some(0)) => break Some(c),
            (Some(c), _) => q.after = Some(c),
        }
    };
    sink.finish().or_else(|e| {
        if broken_pipe(&e) {
            Ok(())
        } else {
            Err(out_err(e))
        }
    })?;
    if let Some(c) = next {
        narrate::say(format!("next page: --after {c}"));
    }
    Ok(ExitCode::Ok)
}

fn broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

/// Rows written as they arrive: a JSON array, CSV with one header, or a
/// table per chunk (header on the first).
struct Sink {
    format: Format,
    written: usize,
    csv: Option<csv::Writer<super::safe::Csv<std::io::Stdout>>>,
}

impl Sink {
    fn new(format: Format) -> Sink {
        Sink {
            format,
            written: 0,
            csv: None,
        }
    }

    fn write(&mut self, rows: &[KeyRow]) -> std::io::Result<()> {
        let stdout = std::io::stdout();
        match self.format {
            Format::Json => {
                let mut out = std::io::BufWriter::new(stdout.lock());
                for r in rows {
                    out.write_all(if self.written == 0 {
                        b"[\n  "
                    } else {
                        b",\n  "
                    })?;
                    serde_json::to_writer(&mut out, r)?;
                    self.written += 1;
                }
                out.flush()
            }
            Format::Csv => {
                let w = match &mut self.csv {
                    Some(w) => w,
                    None => {
                        let terminal = stdout.is_terminal();
                        let mut w =
                            csv::Writer::from_writer(super::safe::Csv::new(stdout, terminal));
                        w.write_record(KeyRow::headers())?;
                        self.csv.insert(w)
                    }
                };
                for r in rows {
                    w.write_record(r.cells())?;
                }
                w.flush()
            }
            Format::Table => {
                if rows.is_empty() && self.written > 0 {
                    return Ok(());
                }
                let mut t = output::table(TABLE_HEADERS.to_vec());
                for r in rows {
                    output::row(&mut t, table_cells(r));
                }
                output::fit_columns(&mut t);
                self.written += rows.len().max(1);
                writeln!(stdout.lock(), "{t}")
            }
        }
    }

    fn finish(mut self) -> std::io::Result<()> {
        match self.format {
            Format::Json if self.written == 0 => writeln!(std::io::stdout(), "[]"),
            Format::Json => writeln!(std::io::stdout(), "\n]"),
            Format::Csv if self.csv.is_none() => self.write(&[]),
            _ => Ok(()),
        }
    }
}

/// A key with its secret, for the one time it is printed.
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    key: &'a KeyRow,
    /// The key itself: store it now, it is not kept anywhere.
    secret: &'a str,
}

fn print_secret(global: &Global, key: &KeyRow, secret: &Secret) -> Result<()> {
    match global.output {
        Format::Table => {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{}", secret.expose()).map_err(out_err)?;
            out.flush().map_err(out_err)
        }
        format => output::print_result(
            &Shown {
                key,
                secret: secret.expose(),
            },
            |s| key_record(s.key).text("secret", s.secret),
            format,
        ),
    }
}

/// A key as one record: identity, state, times, then detail.
fn key_record(k: &KeyRow) -> Record {
    Record::new()
        .text("id", k.id.clone())
        .opt("prefix", k.prefix.clone())
        .opt("name", k.name.clone())
        .text("tenant_id", k.tenant_id.clone())
        .text("state", output::word(&k.state))
        .list("scopes", &k.scopes)
        .opt("created_at", k.created_at.clone())
        .opt("expires_at", k.expires_at.clone())
        .opt("last_used_at", k.last_used_at.clone())
        .opt("revoked_at", k.revoked_at.clone())
        .opt("replaced_by", k.replaced_by.clone())
        .opt("created_by", k.created_by.clone())
}

fn parse_lifetime(text: &str, flag: &str) -> Result<chrono::Duration> {
    crate::units::parse_age(text).map_err(|e| Error::Usage(format!("{flag}: {e}")))
}

async fn create(global: &Global, session: &Session, a: CreateArgs) -> Result<ExitCode> {
    let expires = a
        .expires
        .as_deref()
        .map(|e| parse_lifetime(e, "--expires"))
        .transpose()?;
    let safety = session.safety().await;
    safety.admit(&keys::create_intent(&a.tenant)).await?;
    let pg = session.pg().await?;
    let req = CreateRequest {
        tenant: a.tenant,
        name: a.name,
        scopes: a.scopes,
        expires,
    };
    let plan = keys::plan_create(&pg, &session.ctx.schema, &session.ctx.api_keys, &req).await?;
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    let own = session.pg_dedicated().await?;
    let interrupts = Interrupts::listen()?;
    let result = match safety.authorize(plan, approval).await {
        Ok(approved) => keys::apply_create(&own, approved, interrupts.stop()).await,
        Err(e) => Err(e),
    };
    // Printed before a caught signal ends the process: the key exists now.
    if let Ok(c) = &result {
        print_secret(global, &c.key, &c.secret)?;
        narrate::say(format!(
            "created key {} for tenant {}; it is shown once (above) and stored only as its hash",
            c.key.label(),
            c.key.tenant_id
        ));
    }
    interrupts.finish(result)?;
    Ok(ExitCode::Ok)
}

async fn revoke(global: &Global, session: &Session, ident: &str) -> Result<ExitCode> {
    let safety = session.safety().await;
    safety.admit(&keys::revoke_intent(ident)).await?;
    let pg = session.pg().await?;
    let r = match keys::plan_revoke(&pg, &session.ctx.schema, &session.ctx.api_keys, ident).await? {
        Revocation::Already(r) => *r,
        Revocation::Needed(plan) => {
            let approval = confirm::approval(&safety, &plan, global.yes).await?;
            let own = session.pg_dedicated().await?;
            Interrupts::run(&safety, plan, approval, |approved, stop| async move {
                keys::apply_revoke(&own, approved, &stop).await
            })
            .await?
        }
    };
    match &r.note {
        Some(n) => narrate::say(n),
        None => narrate::say(format!("key {} is revoked", r.key.label())),
    }
    output::print_result(
        &r,
        |r| {
            key_record(&r.key)
                .text("changed", r.changed.to_string())
                .opt("note", r.note.clone())
        },
        global.output,
    )?;
    Ok(ExitCode::Ok)
}

async fn rotate(global: &Global, session: &Session, ident: &str, grace: &str) -> Result<ExitCode> {
    let grace = parse_lifetime(grace, "--grace")?;
    let safety = session.safety().await;
    safety.admit(&keys::rotate_intent(ident)).await?;
    let pg = session.pg().await?;
    let plan = keys::plan_rotate(
        &pg,
        &session.ctx.schema,
        &session.ctx.api_keys,
        ident,
        grace,
    )
    .await?;
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    let own = session.pg_dedicated().await?;
    let interrupts = Interrupts::listen()?;
    let result = match safety.authorize(plan, approval).await {
        Ok(approved) => keys::apply_rotate(&own, approved, interrupts.stop()).await,
        Err(e) => Err(e),
    };
    if let Ok(r) = &result {
        match global.output {
            Format::Table => print_secret(global, &r.new, &r.secret)?,
            Format::Json => output::write_json(
                &mut std::io::stdout().lock(),
                &serde_json::json!({"old": r.old, "new": Shown { key: &r.new, secret: r.secret.expose() }}),
            )?,
            Format::Csv => key_record(&r.new)
                .text("secret", r.secret.expose())
                .text("replaces", r.old.id.clone())
                .opt("replaced_valid_until", r.old.expires_at.clone())
                .print(Format::Csv)?,
        }
        narrate::say(format!(
            "key {} replaces {}, which stays valid until {}; the new key is shown once (above)",
            r.new.label(),
            r.old.label(),
            r.old.expires_at.as_deref().unwrap_or("now")
        ));
    }
    interrupts.finish(result)?;
    Ok(ExitCode::Ok)
}

async fn verify(global: &Global, session: &Session) -> Result<ExitCode> {
    let key = stdin::read_key()?;
    let pg = session.pg().await?;
    let v = keys::verify(&pg, &session.ctx.schema, &session.ctx.api_keys, &key).await?;
    output::print_result(
        &v,
        |v| {
            let r = Record::new()
                .text("valid", v.valid.to_string())
                .text("well_formed", v.well_formed.to_string())
                .text("matched", v.matched.to_string())
                .opt("reason", v.reason.clone());
            match &v.key {
                Some(k) => r
                    .text("id", k.id.clone())
                    .opt("prefix", k.prefix.clone())
                    .text("state", output::word(&k.state)),
                None => r,
            }
        },
        global.output,
    )?;
    match (&v.reason, &v.key) {
        (None, Some(k)) => narrate::say(format!("valid: key {}", k.label())),
        (Some(why), _) => narrate::say(format!("not valid: {why}")),
        _ => {}
    }
    Ok(if v.valid {
        ExitCode::Ok
    } else {
        ExitCode::Problems
    })
}
