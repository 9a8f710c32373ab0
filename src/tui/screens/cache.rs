//! `:cache`: Redis stats on top, the sampled keyspace as a prefix tree below
//! (→/← expand and collapse, Enter lists the keys under a prefix, Enter on a
//! key shows its value and TTL), `x` invalidates the selected prefix after a
//! dry run whose count is in the confirmation, `d` deletes the selected key.

mod nav;
mod ops;
mod view;

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::cache::keyname::glob_escape_escaped;
use crate::cache::{self, CacheStats, Invalidated, KeyEntry, KeyValue, KeysOptions, Plan};
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
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(Action::Invalidate, "invalidate", "invalidate prefix", "x"),
    def(Action::Delete, "delete", "delete key", "d"),
];

/// Keys listed under a prefix.
pub const KEYS_SHOWN: usize = 200;

#[derive(Debug)]
pub enum Msg {
    Stats {
        gen: u64,
        result: Box<Result<(CacheStats, String)>>,
    },
    Keys {
        gen: u64,
        result: Result<Vec<KeyEntry>>,
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

/// The keys under one prefix.
pub struct KeysPane {
    pub prefix: String,
    pub gen: u64,
    pub state: LoadState,
    pub entries: Vec<KeyEntry>,
    pub cursor: usize,
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

    /// Visible tree rows: (depth, node).
    pub fn rows(&self) -> Vec<(usize, &cache::PrefixNode)> {
        self.stats
            .as_ref()
            .map(|s| s.tree.visible(&self.expanded))
            .unwrap_or_default()
    }

    /// The selected prefix; None for the group of keys without a separator,
    /// which no SCAN pattern selects (list those with `opsdeck cache keys`).
    fn selected_path(&self) -> Option<String> {
        self.rows()
            .get(self.cursor)
            .filter(|(depth, n)| !(*depth == 0 && n.path == cache::prefix::NO_PREFIX))
            .map(|(_, n)| n.path.clone())
    }

    fn selected_key(&self) -> Option<&KeyEntry> {
        let k = self.keys.as_ref()?;
        match self.focus {
            Focus::Tree => None,
            Focus::Keys | Focus::Value => k.entries.get(k.cursor),
        }
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

    fn load_keys(&mut self, path: String) -> Vec<Cmd> {
        let gen = crate::tui::next_gen();
        let pattern = self.pattern_for(&path);
        self.keys = Some(KeysPane {
            prefix: path,
            gen,
            state: LoadState::Loading,
            entries: Vec::new(),
            cursor: 0,
        });
        self.value = None;
        self.focus = Focus::Keys;
        vec![Cmd::task(
            "cache.keys",
            Some("cache:keys".into()),
            move |cx| async move {
                let result = async {
                    let redis = cx.session.redis().await?;
                    let opts = KeysOptions {
                        pattern: Some(cache::unescape(&pattern)?),
                        limit: Some(KEYS_SHOWN),
                        sizes: true,
                    };
                    let mut out = Vec::new();
                    cache::keys(&redis, &opts, |page| {
                        out.extend_from_slice(page);
                        Ok(())
                    })
                    .await?;
                    out.sort_by(|a, b| a.key.cmp(&b.key));
                    Ok(out)
                }
                .await;
                wrap(Msg::Keys { gen, result })
            },
        )]
    }

    fn load_value(&mut self, entry: &KeyEntry) -> Vec<Cmd> {
        let gen = crate::tui::next_gen();
        let raw = entry.raw.clone();
        self.value = Some(ValuePane {
            key: entry.key.clone(),
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
        self.load()
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
            Msg::Keys { gen, result } => {
                if let Some(p) = self.keys.as_mut().filter(|p| p.gen == gen) {
                    match result {
                        Ok(entries) => {
                            p.cursor = p.cursor.min(entries.len().saturating_sub(1));
                            p.entries = entries;
                            p.state = LoadState::Loaded(cx.now);
                        }
                        Err(e) => p.state = LoadState::Error(e.to_string()),
                    }
                }
            }
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
        }
    }

    fn enabled(&self, act: ScreenAction, _cx: &Cx) -> bool {
        let ScreenAction::Cache(act) = act else {
            return false;
        };
        match act {
            Action::Invalidate => self.focus == Focus::Tree && self.selected_path().is_some(),
            Action::Delete => self.selected_key().is_some(),
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
