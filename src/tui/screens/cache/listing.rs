//! The keys pane's listing: the keys under a prefix (or those without a
//! separator) page by page on through the SCAN cursor as the selection
//! nears the end of what is loaded, a `/` filter on the key names, and a
//! bounded window (the oldest keys go once it is full; Home scans again).

use super::{wrap, CacheScreen, Focus, KeysPane, Msg};
use crate::cache::page::{self, ScanPos};
use crate::cache::{self, KeyEntry};
use crate::tui::cmd::Cmd;
use crate::tui::screens::LoadState;

/// Keys asked for per page.
pub const PAGE: usize = 200;

/// Keys held at most; the oldest go first.
pub const WINDOW: usize = 5_000;

/// The next page is asked for when the selection gets this close to the end.
const AHEAD: usize = 20;

/// What the pane lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// Keys under a tree path.
    Prefix(String),
    /// Keys without the separator (the `(none)` node), picked on the client
    /// side: no SCAN pattern selects them.
    NoSeparator,
}

impl KeysPane {
    /// Keys dropped from the front of the window, for the row numbers.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Whether the listing covered the whole keyspace.
    pub fn complete(&self) -> bool {
        self.next.is_none() && self.state != LoadState::Loading
    }

    pub fn loading_more(&self) -> bool {
        self.more_gen.is_some()
    }

    pub fn filter(&self) -> &str {
        &self.filter
    }
}

impl CacheScreen {
    /// Opens the keys pane on a listing, from the start.
    pub(super) fn list(&mut self, listing: Listing, filter: String) -> Vec<Cmd> {
        let gen = crate::tui::next_gen();
        self.keys = Some(KeysPane {
            listing,
            gen,
            more_gen: None,
            state: LoadState::Loading,
            entries: Vec::new(),
            cursor: 0,
            next: None,
            skipped: 0,
            filter,
        });
        self.value = None;
        self.focus = Focus::Keys;
        self.fetch(gen, ScanPos::default(), false)
    }

    /// Lists the same keys again from the start (Home, a new filter, resume).
    pub(super) fn relist(&mut self, filter: Option<String>) -> Vec<Cmd> {
        let Some(k) = self.keys.as_ref() else {
            return Vec::new();
        };
        let listing = k.listing.clone();
        let filter = filter.unwrap_or_else(|| k.filter.clone());
        self.list(listing, filter)
    }

    /// The next page when the selection nears the end of the loaded keys.
    pub(super) fn more_if_near_end(&mut self) -> Vec<Cmd> {
        let Some(k) = self.keys.as_mut() else {
            return Vec::new();
        };
        let near = k.cursor + AHEAD >= k.entries.len();
        let (Some(from), None, true) = (k.next, k.more_gen, near) else {
            return Vec::new();
        };
        if k.state == LoadState::Loading {
            return Vec::new();
        }
        let gen = crate::tui::next_gen();
        k.more_gen = Some(gen);
        self.fetch(gen, from, true)
    }

    fn fetch(&self, gen: u64, from: ScanPos, append: bool) -> Vec<Cmd> {
        let Some(k) = self.keys.as_ref() else {
            return Vec::new();
        };
        let pattern = match &k.listing {
            Listing::Prefix(path) => Some(self.pattern_for(path)),
            Listing::NoSeparator => None,
        };
        let no_sep = k.listing == Listing::NoSeparator;
        let sep = self.separator.clone();
        let filter = k.filter.to_lowercase();
        vec![Cmd::task(
            "cache.keys",
            Some(format!(
                "cache:keys:{}",
                if append { "more" } else { "first" }
            )),
            move |cx| async move {
                let result = async {
                    let redis = cx.session.redis().await?;
                    let pattern = pattern.as_deref().map(cache::unescape).transpose()?;
                    let keep = |raw: &[u8]| {
                        (!no_sep || page::has_no_separator(raw, &sep))
                            && (filter.is_empty()
                                || cache::escape(raw).to_lowercase().contains(&filter))
                    };
                    page::keys_page(&redis, pattern.as_deref(), &keep, from, PAGE).await
                }
                .await;
                wrap(Msg::Keys {
                    gen,
                    append,
                    result,
                })
            },
        )]
    }

    /// A page arrived: the first one replaces, later ones append (and the
    /// oldest keys go past [`WINDOW`]).
    pub(super) fn keys_arrived(
        &mut self,
        gen: u64,
        append: bool,
        result: crate::Result<page::KeysPage>,
        now: std::time::Instant,
    ) -> Vec<Cmd> {
        let Some(k) = self.keys.as_mut() else {
            return Vec::new();
        };
        let current = if append { k.more_gen } else { Some(k.gen) };
        if current != Some(gen) {
            return Vec::new();
        }
        k.more_gen = None;
        match result {
            Ok(p) => {
                if !append {
                    k.entries.clear();
                    k.skipped = 0;
                }
                k.entries.extend(p.entries);
                k.next = p.next;
                let over = k.entries.len().saturating_sub(WINDOW);
                if over > 0 {
                    k.entries.drain(..over);
                    k.skipped += over;
                    k.cursor = k.cursor.saturating_sub(over);
                }
                k.cursor = k.cursor.min(k.entries.len().saturating_sub(1));
                k.state = LoadState::Loaded(now);
            }
            Err(e) => k.state = LoadState::Error(e.to_string()),
        }
        // A filter that matches little: go on until the pane has rows.
        self.more_if_near_end()
    }

    pub(super) fn selected_entry(&self) -> Option<&KeyEntry> {
        let k = self.keys.as_ref()?;
        k.entries.get(k.cursor)
    }
}
