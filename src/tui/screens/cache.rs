//! `:cache`: Redis stats on top, the sampled keyspace as a prefix tree below
//! (→/← expand and collapse, Enter lists the keys under a prefix page by
//! page through the SCAN cursor, `(none)` the keys without a separator;
//! Enter on a key shows its value and TTL), `/` filters the tree or the
//! keys, `n` opens a key by its name, `x` invalidates the selected prefix
//! after a dry run whose count is in the confirmation, `d` deletes the
//! selected key.

mod keys_view;
pub mod listing;
mod nav;
mod ops;
mod view;

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::cache::keyname::glob_escape_escaped;
use crate::cache::page::{KeysPage, ScanPos};
use crate::cache::{self, CacheStats, Invalidated, KeyEntry, KeyValue, Plan};
use crate::error::Result;
use crate::tui::cmd::Cmd;
use crate::tui::keymap::{def, ActionDef, Global};
use crate::tui::msg::Msg as AppMsg;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::collections::HashSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Invalidate,
    Delete,
    OpenKey,
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(Action::Invalidate, "invalidate", "invalidate prefix", "x"),
    def(Action::Delete, "delete", "delete key", "d"),
    def(Action::OpenKey, "open_key", "open key by name", "n"),
];

#[derive(Debug)]
pub enum Msg {
    Stats {
        gen: u64,
        result: Box<Result<(CacheStats, String)>>,
    },
    /// A page of keys: the first of a listing, or the next one (`append`).
    Keys {
        gen: u64,
        append: bool,
        result: Result<KeysPage>,
    },
    Value {
        gen: u64,
        result: Box<Result<KeyValue>>,
    },
    /// A dry run finished: the count for the confirmation.
    Planned {
        gen: u64,
        result: Box<Result<(Plan, u64)>>,
    },
    Invalidated(Box<Result<Invalidated>>),
    Deleted(Result<u64>),
}

fn wrap(m: Msg) -> AppMsg {
    AppMsg::Screen(ScreenMsg::Cache(m))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Tree,
    Keys,
    Value,
}

/// The keys under one prefix, a window of them at a time.
pub struct KeysPane {
    pub listing: listing::Listing,
    pub gen: u64,
    /// The next page's request, while it runs.
    more_gen: Option<u64>,
    pub state: LoadState,
    pub entries: Vec<KeyEntry>,
    pub cursor: usize,
    /// Where the next page starts; `None` once the keyspace is covered.
    next: Option<ScanPos>,
    skipped: usize,
    filter: String,
}

/// One key's value.
pub struct ValuePane {
    pub key: String,
    pub gen: u64,
    pub state: LoadState,
    pub value: Option<KeyValue>,
    pub scroll: u16,
}

pub struct CacheScreen {
    state: LoadState,
    gen: u64,
    in_flight: bool,
    stats: Option<CacheStats>,
    separator: String,
    expanded: HashSet<String>,
    cursor: usize,
    focus: Focus,
    keys: Option<KeysPane>,
    value: Option<ValuePane>,
    planning: u64,
    /// `/` on the tree: prefixes whose path holds this (any depth).
    tree_filter: String,
}

impl Default for CacheScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl CacheScreen {
    pub fn new() -> CacheScreen {
        CacheScreen {
            state: LoadState::Idle,
            gen: 0,
            in_flight: false,
            stats: None,
            separator: ":".into(),
            expanded: HashSet::new(),
            cursor: 0,
            focus: Focus::Tree,
            keys: None,
            value: None,
            planning: 0,
            tree_filter: String::new(),
        }
    }

    /// The generation of the latest stats request (replies must carry it).
    pub fn stats_gen(&self) -> u64 {
        self.gen
    }

    /// The generation of the latest dry run for a confirmation.
    pub fn plan_gen(&self) -> u64 {
        self.planning
    }

    pub fn keys_gen(&self) -> Option<u64> {
        self.keys.as_ref().map(|k| k.gen)
    }

    pub fn value_gen(&self) -> Option<u64> {
        self.value.as_ref().map(|v| v.gen)
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// Visible tree rows: (depth, node); with a filter, every node whose
    /// path holds it, whatever is expanded.
    pub fn rows(&self) -> Vec<(usize, &cache::PrefixNode)> {
        let Some(st) = self.stats.as_ref() else {
            return Vec::new();
        };
        if self.tree_filter.is_empty() {
            return st.tree.visible(&self.expanded);
        }
        let all: HashSet<String> = all_paths(&st.tree);
        let want = self.tree_filter.to_lowercase();
        st.tree
            .visible(&all)
            .into_iter()
            .filter(|(_, n)| n.path.to_lowercase().contains(&want))
            .collect()
    }

    /// The selected row: a prefix, or the group of keys without a separator.
    fn selected_row(&self) -> Option<listing::Listing> {
        self.rows().get(self.cursor).map(|(depth, n)| {
            if *depth == 0 && n.path == cache::prefix::NO_PREFIX {
                listing::Listing::NoSeparator
            } else {
                listing::Listing::Prefix(n.path.clone())
            }
        })
    }

    /// The selected prefix; None for the group of keys without a separator,
    /// which no SCAN pattern selects (so it cannot be invalidated).
    fn selected_path(&self) -> Option<String> {
        match self.selected_row()? {
            listing::Listing::Prefix(p) => Some(p),
            listing::Listing::NoSeparator => None,
        }
    }

    fn selected_key(&self) -> Option<&KeyEntry> {
        match self.focus {
            Focus::Tree => None,
            Focus::Keys | Focus::Value => self.selected_entry(),
        }
    }

    /// What the sample says about the whole keyspace: (keys sampled,
    /// keys in all), for estimates as sample share × DBSIZE.
    pub fn sample_scale(&self) -> Option<(u64, u64)> {
        let st = self.stats.as_ref()?;
        (st.sample.sampled_keys > 0).then_some((st.sample.sampled_keys, st.totals.keys))
    }

    /// The SCAN pattern of the keys under a tree path (`*` segments stay
    /// globs), in the escaped form `cache::unescape` reads: tree names are
    /// escaped key bytes, control characters included.
    pub fn pattern_for(&self, path: &str) -> String {
        let sep = &self.separator;
        let segs: Vec<String> = path
            .split(sep.as_str())
            .map(|s| {
                if s == "*" {
                    s.to_string()
                } else {
                    glob_escape_escaped(s)
                }
            })
            .collect();
        format!("{}{sep}*", segs.join(sep))
    }

    fn load(&mut self) -> Vec<Cmd> {
        self.in_flight = true;
        self.gen = crate::tui::next_gen();
        if self.stats.is_none() {
            self.state = LoadState::Loading;
        }
        let gen = self.gen;
        // Hit ratio and ops/s are over the time since the previous refresh.
        let since = self.stats.as_ref().and_then(|s| s.info_sample.clone());
        vec![Cmd::task(
            "cache.stats",
            Some("cache:stats".into()),
            move |cx| async move {
                let s = cx.session.clone();
                let result = async {
                    let redis = s.redis().await?;
                    let stats = cache::stats_since(&redis, &s.ctx.cache, since.as_ref()).await?;
                    Ok((stats, s.ctx.cache.separator.clone()))
                }
                .await;
                wrap(Msg::Stats {
                    gen,
                    result: Box::new(result),
                })
            },
        )]
    }

    fn load_value(&mut self, entry: &KeyEntry) -> Vec<Cmd> {
        self.load_value_of(entry.key.clone(), entry.raw.clone())
    }

    /// Shows the value of a key by its (escaped) name and raw bytes.
    fn load_value_of(&mut self, key: String, raw: Vec<u8>) -> Vec<Cmd> {
        let gen = crate::tui::next_gen();
        self.value = Some(ValuePane {
            key,
            gen,
            state: LoadState::Loading,
            value: None,
            scroll: 0,
        });
        self.focus = Focus::Value;
        vec![Cmd::task(
            "cache.get",
            Some("cache:get".into()),
            move |cx| async move {
                let result = async { cache::get(&cx.session.redis().await?, &raw).await }.await;
                wrap(Msg::Value {
                    gen,
                    result: Box::new(result),
                })
            },
        )]
    }
}

impl Screen for CacheScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Cache
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        if self.in_flight {
            return Vec::new();
        }
        self.load()
    }

    fn resume(&mut self, _cx: &Cx) -> Vec<Cmd> {
        let mut cmds = self.load();
        // Its tasks were cancelled when it was left: list again from the start.
        if self.keys.is_some() {
            let cursor = self.keys.as_ref().map_or(0, |k| k.cursor);
            let focus = self.focus;
            let value = self.value.take();
            cmds.extend(self.relist(None));
            if let Some(k) = self.keys.as_mut() {
                k.cursor = cursor;
            }
            self.focus = focus;
            self.value = value;
        }
        cmds
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Cache(msg) = msg else {
            return Vec::new();
        };
        match msg {
            Msg::Stats { gen, result } => {
                if gen != self.gen {
                    return Vec::new();
                }
                self.in_flight = false;
                match *result {
                    Ok((stats, sep)) => {
                        self.stats = Some(stats);
                        self.separator = sep;
                        self.cursor = self.cursor.min(self.rows().len().saturating_sub(1));
                        self.state = LoadState::Loaded(cx.now);
                    }
                    Err(e) => self.state = LoadState::Error(e.to_string()),
                }
            }
            Msg::Keys {
                gen,
                append,
                result,
            } => return self.keys_arrived(gen, append, result, cx.now),
            Msg::Value { gen, result } => {
                if let Some(p) = self.value.as_mut().filter(|p| p.gen == gen) {
                    match *result {
                        Ok(v) => {
                            p.value = Some(v);
                            p.state = LoadState::Loaded(cx.now);
                        }
                        Err(e) => p.state = LoadState::Error(e.to_string()),
                    }
                }
            }
            Msg::Planned { gen, result } => return self.planned(gen, *result),
            Msg::Invalidated(r) => {
                let status = match *r {
                    Ok(done) if done.cancelled => Ok(format!(
                        "cancelled: {} keys deleted before stopping",
                        done.deleted
                    )),
                    Ok(done) => Ok(format!(
                        "deleted {} keys matching {}",
                        done.deleted, done.target
                    )),
                    Err(e) => Err(e.to_string()),
                };
                return self.changed(status);
            }
            Msg::Deleted(r) => {
                self.value = None;
                let status = r
                    .map(|n| format!("deleted {n} key"))
                    .map_err(|e| e.to_string());
                return self.changed(status);
            }
        }
        Vec::new()
    }

    fn action(&mut self, act: ScreenAction, cx: &Cx) -> Vec<Cmd> {
        let ScreenAction::Cache(own) = act else {
            return Vec::new();
        };
        if !self.enabled(act, cx) {
            return Vec::new();
        }
        match own {
            Action::Invalidate => self.plan_invalidation(),
            Action::Delete => self.delete_key(),
            Action::OpenKey => vec![Cmd::Prompt {
                label: "open key".into(),
                initial: String::new(),
            }],
        }
    }

    fn prompt(&mut self, text: &str, _cx: &Cx) -> Vec<Cmd> {
        if text.is_empty() {
            return Vec::new();
        }
        // The name as `cache get` takes it: escapes (`\xNN`) stand for bytes.
        match cache::unescape(text) {
            Ok(raw) => {
                if self.keys.is_none() {
                    self.focus = Focus::Value;
                }
                self.load_value_of(text.to_string(), raw)
            }
            Err(e) => vec![Cmd::Status(Err(e.to_string()))],
        }
    }

    fn filter(&mut self, text: &str, _cx: &Cx) -> Option<Vec<Cmd>> {
        match self.focus {
            Focus::Tree => {
                self.tree_filter = text.to_string();
                self.cursor = 0;
                Some(Vec::new())
            }
            Focus::Keys | Focus::Value => {
                if self.keys.as_ref().is_some_and(|k| k.filter == text) {
                    return Some(Vec::new());
                }
                Some(self.relist(Some(text.to_string())))
            }
        }
    }

    fn filter_text(&self) -> Option<&str> {
        match (&self.focus, &self.keys) {
            (Focus::Keys | Focus::Value, Some(k)) => Some(k.filter()),
            _ => Some(&self.tree_filter),
        }
    }

    fn enabled(&self, act: ScreenAction, _cx: &Cx) -> bool {
        let ScreenAction::Cache(act) = act else {
            return false;
        };
        match act {
            Action::Invalidate => self.focus == Focus::Tree && self.selected_path().is_some(),
            Action::Delete => self.selected_key().is_some(),
            Action::OpenKey => true,
        }
    }

    fn enter_hint(&self) -> Option<&'static str> {
        match self.focus {
            Focus::Tree => self.selected_row().map(|_| "list keys"),
            Focus::Keys => self.selected_entry().map(|_| "show value"),
            Focus::Value => Some("back to keys"),
        }
    }

    fn nav(&mut self, nav: Global, _cx: &Cx) -> Option<Vec<Cmd>> {
        match self.focus {
            Focus::Tree => self.tree_nav(nav),
            Focus::Keys => self.keys_nav(nav),
            Focus::Value => self.value_nav(nav),
        }
    }

    fn load_state(&self) -> &LoadState {
        &self.state
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        view::render(self, frame, area, cx);
    }
}

/// Every path in the tree, to show it fully expanded.
fn all_paths(n: &cache::PrefixNode) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut stack = vec![n];
    while let Some(n) = stack.pop() {
        out.insert(n.path.clone());
        stack.extend(&n.children);
    }
    out
}
