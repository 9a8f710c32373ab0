//! A table over a paged data source: keyset cursors, a bounded window of
//! loaded rows, virtual scrolling, selection, sort by column and a filter
//! passed to the source. Memory is bounded whatever the row count: at most
//! `WINDOW_PAGES` pages are held; pages that scroll out are dropped and
//! fetched again by cursor when the selection comes back to them.
//!
//! A screen owns a `PagedTable`, forwards navigation keys to [`PagedTable::nav`],
//! its messages to [`PagedTable::update`], and calls [`PagedTable::render`].

mod render;
mod source;

pub use source::{
    Anchor, Column, Cursor, Keyed, Page, PageRequest, PagedSource, SortSpec, TableRow,
};

use crate::tui::cmd::Cmd;
use crate::tui::keymap::Global;
use crate::tui::msg::Msg as AppMsg;
use crate::tui::screens::{Cx, LoadState};
use std::collections::VecDeque;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Replace the window; select the first row, the last, or keep the index.
    Reset(Select),
    Append,
    Prepend,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    First,
    Last,
    Keep,
}

#[derive(Debug)]
pub enum Msg<R> {
    Loaded {
        gen: u64,
        dir: Dir,
        anchor: Anchor,
        limit: usize,
        result: crate::Result<Page<R>>,
    },
}

pub const PAGE_SIZE: usize = 200;
pub const WINDOW_PAGES: usize = 3;

pub struct PagedTable<S: PagedSource> {
    name: &'static str,
    source: Arc<S>,
    wrap: fn(Msg<S::Row>) -> AppMsg,
    columns: Vec<Column>,
    page_size: usize,
    rows: VecDeque<Keyed<S::Row>>,
    at_start: bool,
    at_end: bool,
    /// The anchor that reproduces the window's first row (for reloads).
    head: Anchor,
    selected: usize,
    offset: usize,
    /// Absolute index of `rows[0]`, when known.
    first_abs: Option<u64>,
    /// `first_abs` was derived from an estimated total (a jump to the end).
    abs_estimated: bool,
    total: Option<u64>,
    sort: Option<SortSpec>,
    filter: String,
    gen: u64,
    loading_after: bool,
    loading_before: bool,
    state: LoadState,
}

impl<S: PagedSource> PagedTable<S> {
    /// `name` keys its tasks (one page fetch per direction in flight);
    /// `wrap` turns the table's messages into the app's.
    pub fn new(
        name: &'static str,
        source: S,
        columns: Vec<Column>,
        wrap: fn(Msg<S::Row>) -> AppMsg,
    ) -> Self {
        PagedTable {
            name,
            source: Arc::new(source),
            wrap,
            columns,
            page_size: PAGE_SIZE,
            rows: VecDeque::new(),
            at_start: true,
            at_end: false,
            head: Anchor::First,
            selected: 0,
            offset: 0,
            first_abs: Some(0),
            abs_estimated: false,
            total: None,
            sort: None,
            filter: String::new(),
            gen: 0,
            loading_after: false,
            loading_before: false,
            state: LoadState::Idle,
        }
    }

    pub fn with_page_size(mut self, n: usize) -> Self {
        self.page_size = n.max(1);
        self
    }

    /// Replaces the columns (optional columns switched on or off).
    pub fn set_columns(&mut self, columns: Vec<Column>) {
        self.columns = columns;
    }

    /// The loaded rows, to fill in figures that arrive after their page.
    pub fn rows_mut(&mut self) -> impl Iterator<Item = &mut S::Row> {
        self.rows.iter_mut().map(|k| &mut k.row)
    }

    pub fn rows(&self) -> impl Iterator<Item = &S::Row> {
        self.rows.iter().map(|k| &k.row)
    }

    pub fn with_sort(mut self, column: &'static str, desc: bool) -> Self {
        self.sort = Some(SortSpec { column, desc });
        self
    }

    pub fn selected(&self) -> Option<&S::Row> {
        self.rows.get(self.selected).map(|k| &k.row)
    }

    pub fn loaded_rows(&self) -> usize {
        self.rows.len()
    }

    /// Absolute index of the selection when known (see [`Self::position_exact`]).
    pub fn position(&self) -> Option<u64> {
        self.first_abs.map(|f| f + self.selected as u64)
    }

    /// False when the position was derived from an estimated total.
    pub fn position_exact(&self) -> bool {
        !self.abs_estimated
    }

    /// Total rows and whether the figure is exact. Exact when the window
    /// has seen both ends from an exact start (the rows are all counted),
    /// else what the source said.
    pub fn total(&self) -> Option<(u64, bool)> {
        match self.first_abs {
            Some(f) if self.at_end && !self.abs_estimated => {
                Some((f + self.rows.len() as u64, true))
            }
            _ => self.total.map(|t| (t, !S::TOTAL_IS_ESTIMATE)),
        }
    }

    pub fn state(&self) -> &LoadState {
        &self.state
    }

    pub fn filter_text(&self) -> &str {
        &self.filter
    }

    pub fn sort(&self) -> Option<&SortSpec> {
        self.sort.as_ref()
    }

    pub fn generation(&self) -> u64 {
        self.gen
    }

    /// Loads from the top (first show, new filter or sort).
    pub fn load(&mut self) -> Vec<Cmd> {
        self.reset(Anchor::First, Select::First, self.page_size)
    }

    /// Reloads the rows in the window, keeping the selection.
    pub fn reload(&mut self) -> Vec<Cmd> {
        let limit = self
            .rows
            .len()
            .clamp(self.page_size, self.page_size * WINDOW_PAGES);
        let head = self.head.clone();
        self.reset(head, Select::Keep, limit)
    }

    fn reset(&mut self, anchor: Anchor, select: Select, limit: usize) -> Vec<Cmd> {
        self.gen = crate::tui::next_gen();
        self.loading_after = false;
        self.loading_before = false;
        self.state = LoadState::Loading;
        vec![self.fetch(Dir::Reset(select), anchor, limit)]
    }

    fn fetch(&self, dir: Dir, anchor: Anchor, limit: usize) -> Cmd {
        let req = PageRequest {
            anchor: anchor.clone(),
            limit,
            sort: self.sort.clone(),
            filter: self.filter.clone(),
        };
        let (gen, source, wrap) = (self.gen, self.source.clone(), self.wrap);
        let key = match dir {
            Dir::Reset(_) => format!("{}:reset", self.name),
            Dir::Append => format!("{}:after", self.name),
            Dir::Prepend => format!("{}:before", self.name),
        };
        Cmd::task("table.page", Some(key), move |cx| async move {
            let result = source.fetch(cx.session.clone(), req).await;
            wrap(Msg::Loaded {
                gen,
                dir,
                anchor,
                limit,
                result,
            })
        })
    }

    pub fn set_filter(&mut self, text: &str) -> Vec<Cmd> {
        if text == self.filter {
            return Vec::new();
        }
        self.filter = text.to_string();
        self.load()
    }

    /// Next sortable column (ascending), or flip the direction.
    pub fn cycle_sort(&mut self, reverse: bool) -> Vec<Cmd> {
        let keys: Vec<&'static str> = self.columns.iter().filter_map(|c| c.sort_key).collect();
        if keys.is_empty() {
            return Vec::new();
        }
        self.sort = match (&self.sort, reverse) {
            (Some(s), true) => Some(SortSpec {
                column: s.column,
                desc: !s.desc,
            }),
            (None, true) => Some(SortSpec {
                column: keys[0],
                desc: true,
            }),
            (Some(s), false) => {
                let i = keys
                    .iter()
                    .position(|k| *k == s.column)
                    .map_or(0, |i| (i + 1) % keys.len());
                Some(SortSpec {
                    column: keys[i],
                    desc: false,
                })
            }
            (None, false) => Some(SortSpec {
                column: keys[0],
                desc: false,
            }),
        };
        self.load()
    }

    /// Rows of data visible in a body of `body_rows` (minus header and status line).
    fn visible(body_rows: u16) -> usize {
        usize::from(body_rows.saturating_sub(2)).max(1)
    }

    /// Handles a navigation key; `None` for keys a table does not use.
    pub fn nav(&mut self, nav: Global, cx: &Cx) -> Option<Vec<Cmd>> {
        let page = Self::visible(cx.body_rows);
        let last = self.rows.len().saturating_sub(1);
        match nav {
            Global::Up => self.selected = self.selected.saturating_sub(1),
            Global::Down => self.selected = (self.selected + 1).min(last),
            Global::PageUp => self.selected = self.selected.saturating_sub(page),
            Global::PageDown => self.selected = (self.selected + page).min(last),
            Global::Top if self.at_start => self.selected = 0,
            Global::Top => return Some(self.reset(Anchor::First, Select::First, self.page_size)),
            Global::Bottom if self.at_end => self.selected = last,
            Global::Bottom => return Some(self.reset(Anchor::Last, Select::Last, self.page_size)),
            Global::Sort => return Some(self.cycle_sort(false)),
            Global::SortReverse => return Some(self.cycle_sort(true)),
            _ => return None,
        }
        self.offset = scroll_offset(self.offset, self.selected, page);
        Some(self.prefetch(page))
    }

    /// Starts loading the next or previous page when the selection gets near
    /// the edge of the window, so scrolling rarely waits.
    fn prefetch(&mut self, page: usize) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        if matches!(self.state, LoadState::Loading) || self.rows.is_empty() {
            return cmds;
        }
        let margin = page.max(self.page_size / 2);
        if !self.at_end && !self.loading_after && self.rows.len() - self.selected <= margin {
            if let Some(last) = self.rows.back() {
                self.loading_after = true;
                cmds.push(self.fetch(
                    Dir::Append,
                    Anchor::After(last.cursor.clone()),
                    self.page_size,
                ));
            }
        }
        if !self.at_start && !self.loading_before && self.selected <= margin {
            if let Some(first) = self.rows.front() {
                self.loading_before = true;
                cmds.push(self.fetch(
                    Dir::Prepend,
                    Anchor::Before(first.cursor.clone()),
                    self.page_size,
                ));
            }
        }
        cmds
    }

    /// Applies a page. Replies for an older generation (a filter or sort the
    /// operator has left) are dropped; returns whether it was applied.
    pub fn update(&mut self, msg: Msg<S::Row>, cx: &Cx) -> (bool, Vec<Cmd>) {
        let Msg::Loaded {
            gen,
            dir,
            anchor,
            limit,
            result,
        } = msg;
        if gen != self.gen {
            return (false, Vec::new());
        }
        match dir {
            Dir::Append => self.loading_after = false,
            Dir::Prepend => self.loading_before = false,
            Dir::Reset(_) => {}
        }
        let page = match result {
            Ok(p) => p,
            Err(e) => {
                self.state = LoadState::Error(e.to_string());
                return (true, Vec::new());
            }
        };
        if page.total.is_some() {
            self.total = page.total;
        }
        let n = page.rows.len();
        let short = n < limit;
        match dir {
            Dir::Reset(select) => self.apply_reset(page.rows, anchor, select, short),
            Dir::Append => self.apply_append(page.rows, short),
            Dir::Prepend => self.apply_prepend(page.rows, short),
        }
        self.state = LoadState::Loaded(cx.now);
        let visible = Self::visible(cx.body_rows);
        self.offset = scroll_offset(self.offset, self.selected, visible);
        let more = self.prefetch(visible);
        (true, more)
    }

    fn apply_reset(
        &mut self,
        rows: Vec<Keyed<S::Row>>,
        anchor: Anchor,
        select: Select,
        short: bool,
    ) {
        let n = rows.len();
        let keep = self.selected;
        self.rows = rows.into();
        match &anchor {
            Anchor::First => {
                self.at_start = true;
                self.at_end = short;
                self.first_abs = Some(0);
                self.abs_estimated = false;
            }
            Anchor::Last => {
                self.at_end = true;
                self.at_start = short;
                self.first_abs = if short {
                    Some(0)
                } else {
                    self.total.map(|t| t.saturating_sub(n as u64))
                };
                self.abs_estimated = !short && S::TOTAL_IS_ESTIMATE;
            }
            Anchor::After(_) => {
                self.at_start = false;
                self.at_end = short;
            }
            Anchor::Before(_) => {
                self.at_end = false;
                self.at_start = short;
                if short {
                    self.first_abs = Some(0);
                    self.abs_estimated = false;
                }
            }
        }
        self.head = if self.at_start { Anchor::First } else { anchor };
        let last = n.saturating_sub(1);
        self.selected = match select {
            Select::First => 0,
            Select::Last => last,
            Select::Keep => keep.min(last),
        };
        if select != Select::Keep {
            self.offset = 0;
        }
    }

    fn apply_append(&mut self, rows: Vec<Keyed<S::Row>>, short: bool) {
        self.at_end = short;
        self.rows.extend(rows);
        let max = self.page_size * WINDOW_PAGES;
        while self.rows.len() > max && self.selected > 0 {
            if let Some(dropped) = self.rows.pop_front() {
                self.head = Anchor::After(dropped.cursor);
            }
            self.selected -= 1;
            self.offset = self.offset.saturating_sub(1);
            self.first_abs = self.first_abs.map(|f| f + 1);
            self.at_start = false;
        }
    }

    fn apply_prepend(&mut self, rows: Vec<Keyed<S::Row>>, short: bool) {
        let n = rows.len();
        self.at_start = short;
        for r in rows.into_iter().rev() {
            self.rows.push_front(r);
        }
        self.selected += n;
        self.offset += n;
        self.first_abs = if short {
            self.abs_estimated = false;
            Some(0)
        } else {
            self.first_abs.map(|f| f.saturating_sub(n as u64))
        };
        self.head = match (short, self.rows.get(n)) {
            (true, _) => Anchor::First,
            (false, Some(next)) => Anchor::Before(next.cursor.clone()),
            (false, None) => Anchor::Last,
        };
        let max = self.page_size * WINDOW_PAGES;
        while self.rows.len() > max && self.selected + 1 < self.rows.len() {
            self.rows.pop_back();
            self.at_end = false;
        }
    }
}

/// Keeps `selected` inside a view of `visible` rows starting at `offset`.
pub fn scroll_offset(offset: usize, selected: usize, visible: usize) -> usize {
    let visible = visible.max(1);
    if selected < offset {
        selected
    } else if selected >= offset + visible {
        selected + 1 - visible
    } else {
        offset
    }
}
