//! The tenants list's rows and pages: a `TenantRow` (plus its figures,
//! once they arrive) as table cells, the `/` filter's `status:NAME` words,
//! and keyset pages from the core.

use crate::error::Result;
use crate::session::Session;
use crate::tenants::figures::TenantFigures;
use crate::tenants::{self, ListQuery, SortField, TenantRow};
use crate::tui::cmd::BoxFuture;
use crate::tui::widgets::table::{Anchor, Keyed, Page, PageRequest, PagedSource, TableRow};
use std::sync::Arc;

/// A row of the list: the tenant, and its figures once they were read
/// (after the page, so the list never waits for them).
#[derive(Debug, Clone)]
pub struct TenantLine {
    pub row: TenantRow,
    pub figures: Option<TenantFigures>,
}

impl std::ops::Deref for TenantLine {
    type Target = TenantRow;

    fn deref(&self) -> &TenantRow {
        &self.row
    }
}

impl TableRow for TenantLine {
    fn cells(&self) -> Vec<String> {
        let mut cells = self.row.cells();
        // Cells past the columns shown are not drawn: these show only with
        // the figure columns on.
        cells.extend(match &self.figures {
            Some(f) => [
                if f.rows_capped {
                    format!("≥{}", f.rows)
                } else {
                    f.rows.to_string()
                },
                format!(
                    "≈{}",
                    crate::units::bytes(u64::try_from(f.bytes).unwrap_or(0))
                ),
                f.last_activity
                    .as_deref()
                    .map_or_else(|| "—".into(), |t| t.chars().take(10).collect()),
            ],
            None => ["…".into(), "…".into(), "…".into()],
        });
        cells
    }
}

impl TableRow for TenantRow {
    fn cells(&self) -> Vec<String> {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            o(&self.slug),
            o(&self.name),
            o(&self.plan),
            o(&self.status),
            self.created_at
                .as_deref()
                .map(|c| c.chars().take(10).collect())
                .unwrap_or_default(),
            self.id.clone(),
        ]
    }
}

/// `status:NAME` words set the status filter; the rest is the search text.
pub fn parse_filter(text: &str) -> (Option<String>, Option<String>) {
    let mut status = None;
    let mut words = Vec::new();
    for w in text.split_whitespace() {
        match w.strip_prefix("status:") {
            Some(s) if !s.is_empty() => status = Some(s.to_string()),
            _ => words.push(w),
        }
    }
    let search = (!words.is_empty()).then(|| words.join(" "));
    (status, search)
}

/// Pages come from `tenants::page` by keyset cursor, without the per-row
/// size counts (those are bounded but add up over a 200-row page; the
/// detail pane has exact counts). Totals are the planner's estimate.
pub struct TenantSource;

impl PagedSource for TenantSource {
    type Row = TenantLine;
    const TOTAL_IS_ESTIMATE: bool = true;

    fn fetch(
        &self,
        session: Arc<Session>,
        req: PageRequest,
    ) -> BoxFuture<Result<Page<TenantLine>>> {
        Box::pin(async move {
            let pg = session.pg().await?;
            let (status, search) = parse_filter(&req.filter);
            let (sort, desc) = match &req.sort {
                Some(s) => (s.column.parse::<SortField>()?, s.desc),
                None => (SortField::Id, false),
            };
            let mut q = ListQuery {
                status,
                search,
                sort,
                desc,
                limit: req.limit,
                ..ListQuery::default()
            };
            let whole_count = match req.anchor {
                Anchor::First => true,
                Anchor::After(c) => {
                    q.after = Some(c);
                    false
                }
                Anchor::Before(c) => {
                    q.before = Some(c);
                    false
                }
                Anchor::Last => {
                    q.from_end = true;
                    true
                }
            };
            let page = tenants::page(&pg, &session.ctx.schema, &q).await?;
            // A short first page is the whole answer; otherwise the planner's
            // estimate (no scan) when the table starts over at either end.
            let total = match (whole_count, page.rows.len() < req.limit) {
                (true, true) => Some(page.rows.len() as u64),
                (true, _) => tenants::list::estimated_count(&pg, &session.ctx.schema, &q).await?,
                (false, _) => None,
            };
            let rows = page
                .cursors
                .into_iter()
                .zip(page.rows)
                .map(|(cursor, row)| Keyed {
                    cursor,
                    row: TenantLine { row, figures: None },
                })
                .collect();
            Ok(Page { rows, total })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_filter;

    #[test]
    fn status_words_filter_by_status() {
        assert_eq!(parse_filter(""), (None, None));
        assert_eq!(
            parse_filter("status:suspended acme co"),
            (Some("suspended".into()), Some("acme co".into()))
        );
        assert_eq!(parse_filter("status:"), (None, Some("status:".into())));
    }
}
