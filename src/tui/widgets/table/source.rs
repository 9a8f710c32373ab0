//! The contract between a table and its data: keyset pages in display
//! order, requested by anchor, sort and filter.

use crate::health::overview::Level;
use crate::session::Session;
use crate::tui::cmd::BoxFuture;
use ratatui::layout::Constraint;
use std::fmt::Debug;
use std::sync::Arc;

/// Opaque position of a row in the source's order (e.g. sort value and id).
pub type Cursor = String;

/// Where a page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Anchor {
    First,
    /// The rows right after this cursor.
    After(Cursor),
    /// The rows right before this cursor (returned in display order).
    Before(Cursor),
    Last,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortSpec {
    /// The column's key, as the source knows it.
    pub column: &'static str,
    pub desc: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub anchor: Anchor,
    pub limit: usize,
    pub sort: Option<SortSpec>,
    /// What the operator typed after `/`; the source decides what it matches.
    pub filter: String,
}

#[derive(Debug, Clone)]
pub struct Keyed<R> {
    pub cursor: Cursor,
    pub row: R,
}

/// A page in display order. Fewer than `limit` rows means the source has no
/// more in that direction.
#[derive(Debug, Clone)]
pub struct Page<R> {
    pub rows: Vec<Keyed<R>>,
    /// Total matching rows when the source knows it cheaply (an estimate
    /// when the source says [`PagedSource::TOTAL_IS_ESTIMATE`]).
    pub total: Option<u64>,
}

pub trait TableRow: Debug + Send + Sync + 'static {
    fn cells(&self) -> Vec<String>;
    /// Colours the row by level (an error outcome, a failed job).
    fn level(&self) -> Option<Level> {
        None
    }
}

pub trait PagedSource: Send + Sync + 'static {
    type Row: TableRow;
    /// Whether `Page::total` is an estimate (a planner's row count), which
    /// the table then marks `≈`, with every position derived from it.
    const TOTAL_IS_ESTIMATE: bool = false;
    fn fetch(
        &self,
        session: Arc<Session>,
        req: PageRequest,
    ) -> BoxFuture<crate::Result<Page<Self::Row>>>;
}

pub struct Column {
    pub title: &'static str,
    /// Sort key passed to the source; `None` for a column it cannot sort by.
    pub sort_key: Option<&'static str>,
    pub width: Constraint,
    /// Hidden first when the table is too narrow for every column (else
    /// columns go from the right, the first ones being the most telling).
    pub optional: bool,
}

impl Column {
    pub const fn new(
        title: &'static str,
        sort_key: Option<&'static str>,
        width: Constraint,
    ) -> Column {
        Column {
            title,
            sort_key,
            width,
            optional: false,
        }
    }

    /// Marks the column as the first to hide in a narrow terminal.
    pub const fn optional(mut self) -> Column {
        self.optional = true;
        self
    }
}
