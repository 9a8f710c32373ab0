//! `opsdeck tenants list|show|suspend|resume|lint`.

use super::interrupt::Interrupts;
use super::output::{self, Format, Tabular};
use super::record::Record;
use super::{confirm, narrate, Global};
use crate::error::{Error, ExitCode, Result};
use crate::session::Session;
use crate::tenants::{
    self, Change, Finding, ListQuery, SortField, StatusAction, StatusChange, TenantRow,
};
use clap::{Args, Subcommand};
use futures_util::StreamExt;
use std::io::{IsTerminal, Write};

/// Rows of table output without --limit (about a screenful).
const DEFAULT_PAGE: usize = 50;
/// Table output with a larger --limit is fetched and printed in chunks of this many rows.
const TABLE_CHUNK: usize = 500;
/// Names longer than this are cut in the list table (JSON and CSV keep them whole).
const NAME_WIDTH: usize = 60;

#[derive(Debug, Subcommand)]
pub enum TenantsCmd {
    /// List tenants. --output csv|json streams the rows (all of them, or
    /// --limit N; from --after CURSOR on); table output shows 50 rows, or
    /// --limit N printed in chunks. When more rows follow, the next page's
    /// cursor is printed on stderr. est_rows (table output) is a lower bound:
    /// rows in the largest tenant tables, each counted up to 10,000.
    List(ListArgs),
    /// One tenant in detail: row counts per tenant table, API keys, app audit, cache keys.
    Show {
        /// Tenant id or slug.
        tenant: String,
    },
    /// Set the tenant's status to suspended (and run the configured suspend hooks).
    Suspend {
        /// Tenant id or slug.
        tenant: String,
    },
    /// Set the tenant's status back to active (and run the configured resume hooks).
    Resume {
        /// Tenant id or slug.
        tenant: String,
    },
    /// Tenancy lint: RLS off or without policies, missing tenant index, FKs
    /// without the tenant column, nullable tenant column. Exit 1 on findings.
    Lint,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only tenants with this status.
    #[arg(long)]
    pub status: Option<String>,
    /// Exact id, or text contained in the slug or name (case-insensitive).
    #[arg(long)]
    pub search: Option<String>,
    /// Sort key (id breaks ties).
    #[arg(long, default_value = "id", value_parser = parse_sort)]
    pub sort: SortField,
    /// Sort descending.
    #[arg(long)]
    pub desc: bool,
    /// At most this many rows; the cursor that continues is printed on stderr.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Continue after this cursor (from a previous page).
    #[arg(long)]
    pub after: Option<String>,
    /// Skip the bounded est_rows counts (table output; streams never compute them).
    #[arg(long)]
    pub no_sizes: bool,
}

fn parse_sort(s: &str) -> std::result::Result<SortField, String> {
    s.parse().map_err(|e: Error| e.to_string())
}

impl Tabular for TenantRow {
    fn headers() -> Vec<&'static str> {
        vec![
            "id",
            "slug",
            "name",
            "plan",
            "status",
            "created_at",
            "est_rows",
            "est_rows_capped",
        ]
    }
    fn cells(&self) -> Vec<String> {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            self.id.clone(),
            o(&self.slug),
            o(&self.name),
            o(&self.plan),
            o(&self.status),
            o(&self.created_at),
            self.est_rows.map(|n| n.to_string()).unwrap_or_default(),
            self.est_rows_capped
                .map(|b| b.to_string())
                .unwrap_or_default(),
        ]
    }
}

impl Tabular for Finding {
    fn headers() -> Vec<&'static str> {
        vec!["kind", "table", "detail", "fix_sql"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.kind.as_str().to_string(),
            self.table.clone(),
            self.detail.clone(),
            self.fix_sql.clone(),
        ]
    }
}

pub async fn run(global: &Global, cmd: TenantsCmd) -> Result<ExitCode> {
    let session = global.session()?;
    match cmd {
        TenantsCmd::List(args) => list(global, &session, args).await,
        TenantsCmd::Show { tenant } => super::tenants_show::run(global, &session, &tenant).await,
        TenantsCmd::Suspend { tenant } => {
            set_status(global, &session, &tenant, StatusAction::Suspend).await
        }
        TenantsCmd::Resume { tenant } => {
            set_status(global, &session, &tenant, StatusAction::Resume).await
        }
        TenantsCmd::Lint => lint(global, &session).await,
    }
}

async fn list(global: &Global, session: &Session, a: ListArgs) -> Result<ExitCode> {
    let after = a.after.clone();
    listing(global, session, a)
        .await
        .map_err(|e| match (after, e) {
            // The server judges a cursor's sort key (a created_at edited into
            // junk) only as it casts it: a data exception there is a bad cursor,
            // the caller's mistake, not a server failure.
            (Some(c), Error::Server { detail, .. }) if detail.contains("(SQLSTATE 22") => {
                tenants::Cursor::invalid(&c)
            }
            (_, e) => e,
        })
}

async fn listing(global: &Global, session: &Session, a: ListArgs) -> Result<ExitCode> {
    // A bad cursor is the caller's mistake whether or not the server is up.
    if let Some(after) = &a.after {
        tenants::Cursor::decode(after)?.check(a.sort, a.desc)?;
    }
    let pg = session.pg().await?;
    let map = &session.ctx.schema;
    let q = ListQuery {
        status: a.status,
        search: a.search,
        sort: a.sort,
        desc: a.desc,
        limit: a.limit.unwrap_or(DEFAULT_PAGE),
        after: a.after,
        sizes: !a.no_sizes,
        ..ListQuery::default()
    };
    if global.output == Format::Table {
        return list_table(&pg, map, q).await;
    }
    let done = match global.output {
        Format::Csv => write_csv(tenants::stream::csv(&pg, map, &q, a.limit).await?, a.limit).await,
        _ => write_json(tenants::stream::rows(&pg, map, &q, a.limit).await?, a.limit).await,
    };
    let next_id = match done {
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::Ok)
        }
        other => other?,
    };
    if let Some(id) = next_id {
        let c = tenants::stream::next_cursor(&pg, map, &q, &id).await?;
        narrate::say(format!("next page: --after {c}"));
    }
    Ok(ExitCode::Ok)
}

/// Table output: one page (of `--limit`, else a screenful). A limit larger
/// than [`TABLE_CHUNK`] is fetched and printed a chunk at a time (keyset
/// pages, so est_rows stays bounded per chunk and memory does not grow with
/// the limit). Columns are fitted to the widest values of every chunk so
/// far, so they stay aligned unless a later value is wider.
async fn list_table(
    pg: &crate::conn::Pg,
    map: &crate::config::SchemaMap,
    mut q: ListQuery,
) -> Result<ExitCode> {
    let mut left = q.limit;
    let mut widths: Option<Vec<u16>> = None;
    let mut est_tables = Vec::new();
    let mut next = None;
    let stdout = std::io::stdout();
    while left > 0 {
        q.limit = left.min(TABLE_CHUNK);
        let page = tenants::page(pg, map, &q).await?;
        left -= page.rows.len();
        let mut t = match &widths {
            None => output::table(TenantRow::headers()[..7].to_vec()),
            Some(_) => {
                let mut t = comfy_table::Table::new();
                t.load_preset(comfy_table::presets::NOTHING);
                output::fit(&mut t);
                t
            }
        };
        for r in &page.rows {
            let mut cells = r.cells();
            cells[6] = match (r.est_rows, r.est_rows_capped) {
                (Some(n), Some(true)) => format!("{n}+"),
                (Some(n), _) => n.to_string(),
                _ => String::new(),
            };
            cells[2] = output::ellipsize(&cells[2], NAME_WIDTH);
            cells.truncate(7);
            output::row(&mut t, cells);
        }
        let first = widths.is_none();
        if first || !page.rows.is_empty() {
            let now = t.column_max_content_widths();
            let seen = widths.get_or_insert_with(|| vec![0; now.len()]);
            for (w, n) in seen.iter_mut().zip(now) {
                *w = (*w).max(n);
            }
            // Constraints only reach columns that exist, so they follow the rows.
            if !output::fit_to(&mut t, seen) {
                t.set_constraints(seen.iter().map(|w| {
                    comfy_table::ColumnConstraint::LowerBoundary(comfy_table::Width::Fixed(w + 2))
                }));
            }
            match writeln!(stdout.lock(), "{t}") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::Ok),
                r => r.map_err(out_err)?,
            }
        }
        est_tables = page.est_tables;
        next = page.next_cursor;
        match &next {
            Some(c) => q.after = Some(c.clone()),
            None => break,
        }
    }
    if !est_tables.is_empty() {
        narrate::note(format!(
            "EST_ROWS counts up to 10000 rows per table in {}",
            est_tables.join(", ")
        ));
    }
    if let Some(c) = &next {
        narrate::say(format!("next page: --after {c}"));
    }
    Ok(ExitCode::Ok)
}

fn out_err(e: std::io::Error) -> Error {
    Error::io("writing stdout", e)
}

/// Writes the stream (cut after `limit` rows when given); returns the id of
/// the last row written when more rows follow it.
async fn write_csv(
    mut s: tenants::stream::ByteStream,
    limit: Option<usize>,
) -> Result<Option<String>> {
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    let mut out = super::safe::Csv::new(
        std::io::BufWriter::with_capacity(256 * 1024, stdout.lock()),
        terminal,
    );
    let mut cut = limit.map(tenants::stream::CsvCut::new);
    while let Some(chunk) = s.next().await {
        let chunk = chunk?;
        let part = match &mut cut {
            Some(c) => c.feed(&chunk),
            None => &chunk,
        };
        out.write_all(part).map_err(out_err)?;
    }
    out.flush().map_err(out_err)?;
    cut.map_or(Ok(None), |c| c.next_id())
}

/// Writes a JSON array (of at most `limit` rows when given); returns the id
/// of the last row written when more rows follow it.
async fn write_json(
    mut s: tenants::stream::RowStream,
    limit: Option<usize>,
) -> Result<Option<String>> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, stdout.lock());
    out.write_all(b"[").map_err(out_err)?;
    let (mut written, mut last_id, mut more) = (0usize, None, false);
    while let Some(row) = s.next().await {
        let row = row?;
        if limit.is_some_and(|n| written >= n) {
            more = true;
            break;
        }
        out.write_all(if written == 0 { b"\n  " } else { b",\n  " })
            .map_err(out_err)?;
        super::json::compact(&mut out, &row).map_err(out_err)?;
        written += 1;
        last_id = Some(row.id);
    }
    out.write_all(b"\n]\n").map_err(out_err)?;
    out.flush().map_err(out_err)?;
    Ok(last_id.filter(|_| more))
}

async fn set_status(
    global: &Global,
    session: &Session,
    key: &str,
    action: StatusAction,
) -> Result<ExitCode> {
    let safety = session.safety().await;
    // Asked before the lookup: a read-only context refuses (exit 3) even when
    // the tenant already has the wanted status or does not exist.
    safety.admit(&action.intent_for(key)).await?;
    let pg = session.pg().await?;
    let change = match tenants::plan(&pg, &session.ctx.schema, key, action).await? {
        Change::Already(c) => c,
        Change::Needed(plan) => {
            let approval = confirm::approval(&safety, &plan, global.yes).await?;
            // The change runs on a session of its own: a signal's cancel
            // request then stops only its statement.
            let own = session.pg_dedicated().await?;
            Interrupts::run(&safety, plan, approval, |approved, stop| async move {
                tenants::apply(&own, approved, &stop).await
            })
            .await?
        }
    };
    if let Some(n) = &change.note {
        narrate::say(n);
    } else {
        narrate::say(format!(
            "tenant {} is now {}",
            change.slug.as_deref().unwrap_or(&change.id),
            change.to
        ));
    }
    output::print_result(&change, change_record, global.output)?;
    Ok(ExitCode::Ok)
}

async fn lint(global: &Global, session: &Session) -> Result<ExitCode> {
    let pg = session.pg().await?;
    let findings = tenants::lint(&pg, &session.ctx.schema).await?;
    output::print_list(&findings, global.output)?;
    if findings.is_empty() {
        let map = &session.ctx.schema;
        // A mapping that matches no table would otherwise read as a clean bill.
        if tenants::meta::tenant_tables(&pg, map, 0).await?.is_empty() {
            narrate::warn(format!(
                "no table in schema '{}' has a column '{}', so nothing was linted; check schema.app_schema and schema.tenant_column in the context",
                map.app_schema, map.tenant_column
            ));
        } else {
            narrate::say("no tenancy findings");
        }
        Ok(ExitCode::Ok)
    } else {
        narrate::say(format!("{} tenancy finding(s)", findings.len()));
        Ok(ExitCode::Problems)
    }
}

fn change_record(c: &StatusChange) -> Record {
    Record::new()
        .text("id", c.id.clone())
        .opt("slug", c.slug.clone())
        .opt("name", c.name.clone())
        .text("action", output::word(&c.action))
        .opt("from", c.from.clone())
        .text("to", c.to.clone())
        .text("changed", c.changed.to_string())
        .text("hooks_run", c.hooks_run.to_string())
        .opt("note", c.note.clone())
}
