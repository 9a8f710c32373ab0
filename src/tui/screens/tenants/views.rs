//! What the tenants screen shows besides the list: one tenant's detail and
//! the tenancy lint findings, as key/value panes.

use crate::tenants::{CountMethod, Finding, TenantDetail};
use crate::tui::widgets::detail::Detail;

/// One tenant as detail lines: identity, per-table rows, keys, audit, cache.
pub fn detail(d: &TenantDetail) -> Detail {
    let o = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".into());
    let mut f: Vec<(String, String)> = vec![
        ("id".into(), d.id.clone()),
        ("slug".into(), o(&d.slug)),
        ("name".into(), o(&d.name)),
        ("plan".into(), o(&d.plan)),
        ("status".into(), o(&d.status)),
        ("created".into(), o(&d.created_at)),
    ];
    for t in &d.tables {
        let rows = t.rows.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
        let how = match t.method {
            CountMethod::Exact => "exact",
            CountMethod::Estimate => "estimate",
            CountMethod::TimedOut => "timed out",
        };
        f.push((format!("rows {}", t.table), format!("{rows} ({how})")));
    }
    match &d.cache {
        Some(c) => f.push((
            "cache keys".into(),
            format!(
                "{}{}",
                c.keys,
                if c.capped { "+ (scan budget hit)" } else { "" }
            ),
        )),
        None => f.push(("cache keys".into(), "— (no Redis)".into())),
    }
    if let Some(j) = &d.failed_jobs {
        f.push((
            "failed jobs".into(),
            format!(
                "{}{} ({})",
                j.count,
                if j.capped { "+" } else { "" },
                j.source
            ),
        ));
    }
    match &d.api_keys {
        Some(keys) => {
            f.push(("api keys".into(), keys.len().to_string()));
            for k in keys {
                let state = match (&k.revoked_at, &k.expires_at) {
                    (Some(r), _) => format!("revoked {r}"),
                    (None, Some(e)) => format!("expires {e}"),
                    (None, None) => "active".into(),
                };
                f.push((
                    format!("  key {}", o(&k.prefix)),
                    format!("{} · {state}", o(&k.name)),
                ));
            }
        }
        None => f.push(("api keys".into(), "— (no api keys table)".into())),
    }
    if let Some(entries) = &d.app_audit {
        f.push(("app audit".into(), format!("{} recent", entries.len())));
        for e in entries {
            f.push((
                format!("  {}", o(&e.changed_at)),
                format!(
                    "{} {} {} by {}",
                    o(&e.action),
                    o(&e.table_name),
                    o(&e.record_id),
                    o(&e.changed_by)
                ),
            ));
        }
    }
    for n in &d.notes {
        f.push(("note".into(), n.clone()));
    }
    Detail::new(f)
}

/// Findings as detail lines: kind and table, then what is wrong and the fix.
pub fn lint(findings: &[Finding]) -> Detail {
    if findings.is_empty() {
        return Detail::new(vec![("clean".into(), "no tenancy findings".into())]);
    }
    let mut f = Vec::new();
    for x in findings {
        f.push((
            x.kind.as_str().to_string(),
            format!("{}: {}", x.table, x.detail),
        ));
        f.push(("  fix".into(), x.fix_sql.replace('\n', " ")));
    }
    Detail::new(f)
}
