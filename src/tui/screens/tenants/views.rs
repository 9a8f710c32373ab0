//! What the tenants screen shows besides the list: one tenant's detail and
//! the tenancy lint findings, as sectioned, scrollable detail panes.

use crate::tenants::figures::{Sources, TenantFigures};
use crate::tenants::{CountMethod, Finding, KeyState, TenantDetail};
use crate::tui::widgets::detail::{Detail, Entry};

/// One tenant: identity and a summary of every section first (so the first
/// screen at 80x24 answers "how big, how many keys, anything failing"),
/// then the sections themselves: rows per table, API keys, app audit, notes.
pub fn detail(
    d: &TenantDetail,
    figures: Option<&TenantFigures>,
    sources: Option<&Sources>,
) -> Detail {
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let field = |k: &str, v: String| Entry::Field(k.into(), v);
    let mut e = vec![
        field("id", d.id.clone()),
        field("slug", o(&d.slug)),
        field("name", o(&d.name)),
        field("plan", o(&d.plan)),
        field("status", o(&d.status)),
        field("created", o(&d.created_at)),
    ];
    e.push(field(
        "cache keys",
        match &d.cache {
            Some(c) => format!(
                "{}{}",
                c.keys,
                if c.capped { "+ (scan budget hit)" } else { "" }
            ),
            None => "— (no Redis)".into(),
        },
    ));
    e.push(field(
        "failed jobs",
        match &d.failed_jobs {
            Some(j) => format!(
                "{}{} ({})",
                j.count,
                if j.capped { "+" } else { "" },
                j.source
            ),
            None => "— (no job system found)".into(),
        },
    ));
    for r in d.failed_jobs.iter().flat_map(|j| &j.recent) {
        e.push(field(
            "  failed",
            format!("{} {} {}", r.queue, r.id, r.error.as_deref().unwrap_or("-")),
        ));
    }
    e.push(field(
        "api keys",
        match (d.api_keys_total, d.api_keys_active) {
            (Some(total), Some(active)) => {
                let expired = d
                    .api_keys
                    .iter()
                    .flatten()
                    .filter(|k| k.state == KeyState::Expired)
                    .count();
                let expired = if expired > 0 {
                    format!(", {expired} expired")
                } else {
                    String::new()
                };
                format!("{total} ({active} active{expired})")
            }
            _ => "— (no api keys table)".into(),
        },
    ));
    e.push(field(
        "app audit",
        match &d.app_audit {
            Some(entries) => format!("{} recent", entries.len()),
            None => "— (no app audit table)".into(),
        },
    ));

    if let (Some(f), Some(src)) = (figures, sources) {
        list_figures(&mut e, f, src);
    }
    e.push(Entry::Heading(format!(
        "rows per table ({})",
        d.tables.len()
    )));
    for t in &d.tables {
        let rows = t.rows.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
        let how = match t.method {
            CountMethod::Exact => "exact",
            CountMethod::Estimate => "estimate",
            CountMethod::TimedOut => "timed out",
        };
        e.push(field(&t.table, format!("{rows} ({how})")));
    }
    if let Some(keys) = d.api_keys.as_ref().filter(|k| !k.is_empty()) {
        e.push(Entry::Heading(format!("api keys ({})", keys.len())));
        for k in keys {
            let state = match (k.state, &k.revoked_at, &k.expires_at) {
                (KeyState::Revoked, r, _) => format!("revoked {}", o(r)),
                (KeyState::Expired, _, x) => format!("expired {}", o(x)),
                (_, _, Some(x)) => format!("expires {x}"),
                (_, _, None) => "active".into(),
            };
            e.push(field(&o(&k.prefix), format!("{} · {state}", o(&k.name))));
        }
    }
    if let Some(entries) = d.app_audit.as_ref().filter(|a| !a.is_empty()) {
        e.push(Entry::Heading(format!(
            "app audit ({} recent)",
            entries.len()
        )));
        for a in entries {
            let at = o(&a.changed_at);
            // The date as the key (short, so values keep the room), the time with the rest.
            let (date, time) = at.split_once(['T', ' ']).unwrap_or((&at, ""));
            e.push(field(
                date,
                format!(
                    "{} {} {} {} by {}",
                    time.chars().take(8).collect::<String>(),
                    o(&a.action),
                    o(&a.table_name),
                    o(&a.record_id),
                    o(&a.changed_by)
                ),
            ));
        }
    }
    if !d.notes.is_empty() {
        e.push(Entry::Heading("notes".into()));
        for n in &d.notes {
            e.push(field("note", n.clone()));
        }
    }
    Detail::with_entries(e)
}

/// The list's figure columns, each with where it comes from.
fn list_figures(e: &mut Vec<Entry>, f: &TenantFigures, src: &Sources) {
    let tables: Vec<String> = src.tables.iter().map(|(t, _)| t.display()).collect();
    e.push(Entry::Heading("list figures".into()));
    let rows = if f.rows_capped {
        format!(
            "≥{} (counted up to {} per table: a lower bound)",
            f.rows,
            crate::tenants::EST_CAP
        )
    } else {
        format!("{} (exact count)", f.rows)
    };
    e.push(Entry::Field(format!("rows in {}", tables.join(", ")), rows));
    e.push(Entry::Field(
        "size".into(),
        format!(
            "≈{} (estimate: rows × each table's average row size)",
            crate::units::bytes(u64::try_from(f.bytes).unwrap_or(0))
        ),
    ));
    e.push(Entry::Field(
        "last activity".into(),
        match (&src.activity, &f.last_activity) {
            (Some((t, c)), Some(at)) => format!("{at} (exact: latest {}.{c})", t.display()),
            (Some((t, c)), None) => format!("— (no rows in {}.{c})", t.display()),
            (None, _) => "— (no index on tenant and a timestamp to read it from)".into(),
        },
    ));
}

/// One section a finding: the kind in full and the table as its heading
/// (headings wrap, so long kind names are never cut), then what is wrong
/// and the fix.
pub fn lint(findings: &[Finding]) -> Detail {
    if findings.is_empty() {
        return Detail::new(vec![("clean".into(), "no tenancy findings".into())]);
    }
    let mut e = Vec::new();
    for x in findings {
        e.push(Entry::Heading(format!("{} · {}", x.kind.as_str(), x.table)));
        e.push(Entry::Field("what".into(), x.detail.clone()));
        e.push(Entry::Field("fix".into(), x.fix_sql.replace('\n', " ")));
    }
    Detail::with_entries(e)
}
