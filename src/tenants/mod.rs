//! Tenants: browse (keyset pages and whole-table streams), inspect, suspend
//! and resume through the safety layer, and lint tenant isolation. Every
//! table and column name comes from the context's `SchemaMap`.

pub mod cursor;
mod extras;
pub mod figures;
mod jobs;
pub mod lint;
pub mod list;
pub mod meta;
mod query;
pub mod resolve;
pub mod show;
pub mod status;
pub mod stream;

pub use crate::keys::KeyState;
pub use cursor::Cursor;
pub use extras::AppAuditEntry;
pub use jobs::{FailedJobs, RecentFailure};
pub use lint::{lint, Finding};
pub use list::{page, Page};
pub use resolve::resolve;
pub use show::{show, show_with, CountMethod, TableCount, TenantDetail};
pub use status::{apply, plan, Change, StatusAction, StatusChange, StatusPlan};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Per-table counts in list rows stop here, so a page never does unbounded work.
pub const EST_CAP: i64 = 10_000;

/// One tenant as lists show it. Every field is text from the server so ids
/// of any type and names in any script round-trip unchanged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TenantRow {
    pub id: String,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub plan: Option<String>,
    pub status: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: Option<String>,
    /// Rows of this tenant in the largest tenant tables (see `Page::est_tables`),
    /// each counted up to [`EST_CAP`]: a lower bound, not an exact size.
    /// Null when sizes were not asked for (streams never compute them).
    pub est_rows: Option<i64>,
    /// True when a table hit the cap, so the real figure is larger.
    pub est_rows_capped: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SortField {
    #[default]
    Id,
    Slug,
    Name,
    CreatedAt,
}

impl SortField {
    pub const ALL: [SortField; 4] = [
        SortField::Id,
        SortField::Slug,
        SortField::Name,
        SortField::CreatedAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::Id => "id",
            SortField::Slug => "slug",
            SortField::Name => "name",
            SortField::CreatedAt => "created_at",
        }
    }
}

impl std::str::FromStr for SortField {
    type Err = Error;
    fn from_str(s: &str) -> Result<SortField> {
        SortField::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "unknown sort '{s}': use id, slug, name or created_at"
                ))
            })
    }
}

/// What to list. `limit` is used by [`page`]; streams take their own.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub status: Option<String>,
    /// Exact id, or a substring of slug or name (case-insensitive, wildcards literal).
    pub search: Option<String>,
    pub sort: SortField,
    pub desc: bool,
    pub limit: usize,
    /// Rows after this cursor (a previous page's `next_cursor`, or a row's cursor).
    pub after: Option<String>,
    /// Rows right before this cursor, still returned in display order.
    pub before: Option<String>,
    /// The last page (display order), for jumping to the end.
    pub from_end: bool,
    /// Compute the bounded `est_rows` figures.
    pub sizes: bool,
}

impl ListQuery {
    /// Whether the page is read backwards from its anchor.
    pub fn reversed(&self) -> bool {
        self.before.is_some() || self.from_end
    }
}
