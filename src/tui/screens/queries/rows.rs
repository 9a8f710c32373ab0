//! The rows the `:queries` tabs show: the latest reply of each tab, the
//! slow tab's previous one (for the delta since that refresh), the filter,
//! the client-side sort of the sessions and the selection.

use crate::queries::{stat_statements, LockNode, SessionRow, SortKey, Statement};
use crate::tui::keymap::Global;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Slow,
    Active,
    Locks,
}

impl Tab {
    pub const ALL: [Tab; 3] = [Tab::Slow, Tab::Active, Tab::Locks];

    pub fn name(self) -> &'static str {
        match self {
            Tab::Slow => "slow",
            Tab::Active => "active",
            Tab::Locks => "locks",
        }
    }

    pub fn next(self) -> Tab {
        match self {
            Tab::Slow => Tab::Active,
            Tab::Active => Tab::Locks,
            Tab::Locks => Tab::Slow,
        }
    }

    pub fn prev(self) -> Tab {
        self.next().next()
    }
}

/// Orders of the active tab, cycled with `o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActiveSort {
    Transaction,
    Query,
    State,
    Pid,
}

impl ActiveSort {
    pub fn name(self) -> &'static str {
        match self {
            ActiveSort::Transaction => "xact age",
            ActiveSort::Query => "query age",
            ActiveSort::State => "state",
            ActiveSort::Pid => "pid",
        }
    }

    fn next(self) -> ActiveSort {
        match self {
            ActiveSort::Transaction => ActiveSort::Query,
            ActiveSort::Query => ActiveSort::State,
            ActiveSort::State => ActiveSort::Pid,
            ActiveSort::Pid => ActiveSort::Transaction,
        }
    }
}

pub struct Rows {
    pub sort: SortKey,
    pub active_sort: ActiveSort,
    pub reverse: bool,
    /// Show what ran since the previous refresh instead of the totals.
    pub delta: bool,
    pub selected: usize,
    slow: Vec<Statement>,
    since: Option<(Vec<Statement>, Duration)>,
    slow_at: Option<Instant>,
    active: Vec<SessionRow>,
    locks: Vec<LockNode>,
    filter: String,
}

impl Default for Rows {
    fn default() -> Self {
        Rows {
            sort: SortKey::Total,
            active_sort: ActiveSort::Transaction,
            reverse: false,
            delta: true,
            selected: 0,
            slow: Vec::new(),
            since: None,
            slow_at: None,
            active: Vec::new(),
            locks: Vec::new(),
            filter: String::new(),
        }
    }
}

fn matches(filter: &str, texts: &[Option<&str>]) -> bool {
    filter.is_empty()
        || texts
            .iter()
            .flatten()
            .any(|t| t.to_lowercase().contains(filter))
}

impl Rows {
    pub fn set_slow(&mut self, rows: Vec<Statement>, now: Instant) {
        let prev = std::mem::replace(&mut self.slow, rows);
        if let Some(at) = self.slow_at.replace(now) {
            self.since = Some((
                stat_statements::delta(&prev, &self.slow, self.sort),
                now.duration_since(at),
            ));
        }
    }

    pub fn set_active(&mut self, rows: Vec<SessionRow>) {
        self.active = rows;
    }

    pub fn set_locks(&mut self, rows: Vec<LockNode>) {
        self.locks = rows;
    }

    pub fn set_filter(&mut self, text: &str) {
        self.filter = text.trim().to_lowercase();
        self.selected = 0;
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The interval the slow tab's delta covers, when it shows one.
    pub fn delta_over(&self) -> Option<Duration> {
        self.since.as_ref().filter(|_| self.delta).map(|(_, d)| *d)
    }

    pub fn slow_rows(&self) -> Vec<&Statement> {
        let base = match (&self.since, self.delta) {
            (Some((d, _)), true) => d,
            _ => &self.slow,
        };
        base.iter()
            .filter(|s| matches(&self.filter, &[Some(&s.query), s.username.as_deref()]))
            .collect()
    }

    pub fn active_rows(&self) -> Vec<&SessionRow> {
        let mut rows: Vec<&SessionRow> = self
            .active
            .iter()
            .filter(|s| session_matches(&self.filter, s))
            .collect();
        let key = |s: &SessionRow| match self.active_sort {
            ActiveSort::Transaction => -s.xact_ms.unwrap_or(-1.0),
            ActiveSort::Query => -s.query_ms.unwrap_or(-1.0),
            ActiveSort::State => 0.0,
            ActiveSort::Pid => f64::from(s.pid),
        };
        rows.sort_by(|a, b| match self.active_sort {
            ActiveSort::State => a.state.cmp(&b.state).then(a.pid.cmp(&b.pid)),
            _ => key(a).total_cmp(&key(b)),
        });
        if self.reverse {
            rows.reverse();
        }
        rows
    }

    pub fn lock_rows(&self) -> Vec<&LockNode> {
        self.locks
            .iter()
            .filter(|n| session_matches(&self.filter, &n.session))
            .collect()
    }

    fn len(&self, tab: Tab) -> usize {
        match tab {
            Tab::Slow => self.slow_rows().len(),
            Tab::Active => self.active_rows().len(),
            Tab::Locks => self.lock_rows().len(),
        }
    }

    pub fn selected_statement(&self) -> Option<&Statement> {
        self.slow_rows().get(self.selected).copied()
    }

    pub fn selected_session(&self, tab: Tab) -> Option<&SessionRow> {
        match tab {
            Tab::Slow => None,
            Tab::Active => self.active_rows().get(self.selected).copied(),
            Tab::Locks => self.lock_rows().get(self.selected).map(|n| &n.session),
        }
    }

    /// Moves the selection; false for keys it does not use.
    pub fn nav(&mut self, tab: Tab, nav: Global, page: usize) -> bool {
        let last = self.len(tab).saturating_sub(1);
        let page = page.max(1);
        self.selected = match nav {
            Global::Down => self.selected + 1,
            Global::Up => self.selected.saturating_sub(1),
            Global::PageDown => self.selected + page,
            Global::PageUp => self.selected.saturating_sub(page),
            Global::Top => 0,
            Global::Bottom => last,
            _ => return false,
        }
        .min(last);
        true
    }

    /// Next sort of the tab (`reverse`: the slow tab's previous key, the
    /// active tab's order reversed); true when the server must sort again.
    pub fn cycle_sort(&mut self, tab: Tab, reverse: bool) -> bool {
        self.selected = 0;
        match tab {
            Tab::Slow => {
                let i = SortKey::ALL
                    .iter()
                    .position(|k| *k == self.sort)
                    .unwrap_or(0);
                let n = SortKey::ALL.len();
                self.sort = SortKey::ALL[if reverse {
                    (i + n - 1) % n
                } else {
                    (i + 1) % n
                }];
                // The delta compares lists of one order.
                self.since = None;
                self.slow_at = None;
                true
            }
            Tab::Active if reverse => {
                self.reverse = !self.reverse;
                false
            }
            Tab::Active => {
                self.active_sort = self.active_sort.next();
                false
            }
            Tab::Locks => false,
        }
    }
}

fn session_matches(filter: &str, s: &SessionRow) -> bool {
    matches(
        filter,
        &[
            s.query.as_deref(),
            Some(&s.application_name),
            s.username.as_deref(),
            Some(&s.pid.to_string()),
        ],
    )
}
