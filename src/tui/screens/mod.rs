//! The screen registry. A screen is one file here plus one variant in
//! [`ScreenId`] and one in [`ScreenMsg`]; its `:command`, its key section
//! (`[keys.screen.NAME]`) and its help all come from this table, so a screen
//! that is not registered is not offered anywhere.

pub mod audit;
pub mod cache;
pub mod drills;
pub mod indexes;
pub mod jobs;
pub mod keys;
pub mod migrations;
pub mod overview;
pub mod queries;
pub mod tenants;

use super::cmd::Cmd;
use super::env::Env;
use super::keymap::{ActionDef, Global};
use super::msg::ContextInfo;
use ratatui::layout::Rect;
use ratatui::Frame;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScreenId {
    Overview,
    Audit,
    Tenants,
    Keys,
    Cache,
    Migrations,
    Queries,
    Jobs,
    Indexes,
    Drills,
}

impl ScreenId {
    /// In `:command` completion order.
    pub const ALL: &'static [ScreenId] = &[
        ScreenId::Overview,
        ScreenId::Audit,
        ScreenId::Tenants,
        ScreenId::Keys,
        ScreenId::Cache,
        ScreenId::Migrations,
        ScreenId::Queries,
        ScreenId::Jobs,
        ScreenId::Indexes,
        ScreenId::Drills,
    ];

    /// The `:command` and the `[keys.screen.NAME]` section.
    pub fn name(self) -> &'static str {
        match self {
            ScreenId::Overview => "overview",
            ScreenId::Audit => "audit",
            ScreenId::Tenants => "tenants",
            ScreenId::Keys => "keys",
            ScreenId::Cache => "cache",
            ScreenId::Migrations => "migrations",
            ScreenId::Queries => "queries",
            ScreenId::Jobs => "jobs",
            ScreenId::Indexes => "indexes",
            ScreenId::Drills => "drills",
        }
    }

    /// One line for completion and help.
    pub fn about(self) -> &'static str {
        match self {
            ScreenId::Overview => "health of Postgres and Redis",
            ScreenId::Audit => "opsdeck's own audit log",
            ScreenId::Tenants => "tenants: browse, suspend/resume, tenancy lint",
            ScreenId::Keys => "API keys: list, create, revoke, rotate",
            ScreenId::Cache => "Redis caches: stats, prefix tree, keys, invalidate",
            ScreenId::Migrations => "schema migrations: stuck, pending, latest per tool",
            ScreenId::Queries => "queries: slow statements, live sessions, lock tree, plans",
            ScreenId::Jobs => "background jobs: queues, failures by error, retry/discard",
            ScreenId::Indexes => "indexes: verified suggestions with costs, lint, create",
            ScreenId::Drills => "restore drills: history, results by check, run one",
        }
    }

    /// The screen's own actions (global keys are in `keymap::GLOBAL`), in
    /// footer and help order.
    pub fn actions(self) -> Vec<ActionDef<ScreenAction>> {
        fn routed<A: Copy>(
            defs: &[ActionDef<A>],
            route: fn(A) -> ScreenAction,
        ) -> Vec<ActionDef<ScreenAction>> {
            defs.iter().map(|d| d.map(route)).collect()
        }
        match self {
            // Refresh, pause and Enter are global keys; the audit and migrations screens
            // have no actions of their own.
            ScreenId::Audit | ScreenId::Migrations => Vec::new(),
            ScreenId::Overview => routed(overview::ACTIONS, ScreenAction::Overview),
            ScreenId::Tenants => routed(tenants::ACTIONS, ScreenAction::Tenants),
            ScreenId::Keys => routed(keys::ACTIONS, ScreenAction::Keys),
            ScreenId::Cache => routed(cache::ACTIONS, ScreenAction::Cache),
            ScreenId::Queries => routed(queries::ACTIONS, ScreenAction::Queries),
            ScreenId::Jobs => routed(jobs::ACTIONS, ScreenAction::Jobs),
            ScreenId::Indexes => routed(indexes::ACTIONS, ScreenAction::Indexes),
            ScreenId::Drills => routed(drills::ACTIONS, ScreenAction::Drills),
        }
    }

    pub fn build(self) -> Box<dyn Screen> {
        match self {
            ScreenId::Overview => Box::new(overview::OverviewScreen::new()),
            ScreenId::Audit => Box::new(audit::AuditScreen::new()),
            ScreenId::Tenants => Box::new(tenants::TenantsScreen::new()),
            ScreenId::Keys => Box::new(keys::KeysScreen::new()),
            ScreenId::Cache => Box::new(cache::CacheScreen::new()),
            ScreenId::Migrations => Box::new(migrations::MigrationsScreen::new()),
            ScreenId::Queries => Box::new(queries::QueriesScreen::new()),
            ScreenId::Jobs => Box::new(jobs::JobsScreen::new()),
            ScreenId::Indexes => Box::new(indexes::IndexesScreen::new()),
            ScreenId::Drills => Box::new(drills::DrillsScreen::new()),
        }
    }

    pub fn from_name(name: &str) -> Option<ScreenId> {
        ScreenId::ALL.iter().copied().find(|s| s.name() == name)
    }
}

/// A screen's own action, one variant per screen that has any. The keymap
/// resolves a key to one of these for the open screen, so a screen only ever
/// receives its own variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenAction {
    Overview(overview::Action),
    Tenants(tenants::Action),
    Keys(keys::Action),
    Cache(cache::Action),
    Queries(queries::Action),
    Jobs(jobs::Action),
    Indexes(indexes::Action),
    Drills(drills::Action),
}

/// Messages for screens, one variant per screen; the app hands each to the
/// open screen it names and drops it when that screen is gone.
#[derive(Debug)]
pub enum ScreenMsg {
    Overview(overview::Msg),
    Audit(audit::Msg),
    Tenants(tenants::Msg),
    Keys(keys::Msg),
    Cache(cache::Msg),
    Migrations(migrations::Msg),
    Queries(queries::Msg),
    Jobs(jobs::Msg),
    Indexes(indexes::Msg),
    Drills(drills::Msg),
}

impl ScreenMsg {
    pub fn target(&self) -> ScreenId {
        match self {
            ScreenMsg::Overview(_) => ScreenId::Overview,
            ScreenMsg::Audit(_) => ScreenId::Audit,
            ScreenMsg::Tenants(_) => ScreenId::Tenants,
            ScreenMsg::Keys(_) => ScreenId::Keys,
            ScreenMsg::Cache(_) => ScreenId::Cache,
            ScreenMsg::Migrations(_) => ScreenId::Migrations,
            ScreenMsg::Queries(_) => ScreenId::Queries,
            ScreenMsg::Jobs(_) => ScreenId::Jobs,
            ScreenMsg::Indexes(_) => ScreenId::Indexes,
            ScreenMsg::Drills(_) => ScreenId::Drills,
        }
    }
}

/// What screens read while updating and drawing. Borrowed, never stored.
pub struct Cx<'a> {
    pub env: &'a Env,
    pub context: &'a ContextInfo,
    pub now: Instant,
    /// Rows of the body area (inside the screen's border) at the last resize.
    pub body_rows: u16,
    /// Whether the body has focus (no popup or overlay above it).
    pub focused: bool,
}

/// The explicit load state every screen keeps; views draw every variant.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadState {
    Idle,
    Loading,
    Loaded(Instant),
    Error(String),
}

pub trait Screen: Send {
    fn id(&self) -> ScreenId;

    /// Title of the body's border.
    fn title(&self) -> String {
        self.id().name().to_string()
    }

    /// Starts loading: when first shown and after a context switch.
    fn enter(&mut self, cx: &Cx) -> Vec<Cmd>;

    /// Reloads: auto refresh and the refresh key.
    fn refresh(&mut self, cx: &Cx) -> Vec<Cmd>;

    /// Shown again after being left (its tasks were cancelled then), with
    /// its sort, filter and selection as they were.
    fn resume(&mut self, cx: &Cx) -> Vec<Cmd> {
        self.refresh(cx)
    }

    /// A message addressed to this screen.
    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd>;

    /// One of this screen's actions (from [`ScreenId::actions`]).
    fn action(&mut self, _action: ScreenAction, _cx: &Cx) -> Vec<Cmd> {
        Vec::new()
    }

    /// Whether an action applies now (no selection, read-only ...); disabled
    /// actions are greyed in the footer and ignored.
    fn enabled(&self, _action: ScreenAction, _cx: &Cx) -> bool {
        true
    }

    /// Every key while the screen holds the keyboard (a form); `None`
    /// when it does not, and keys go to the bindings as usual.
    fn capture(&mut self, _key: &crossterm::event::KeyEvent, _cx: &Cx) -> Option<Vec<Cmd>> {
        None
    }

    /// A navigation key; `None` when the screen does not use it (for `Back`
    /// that means the app goes back to the previous screen).
    fn nav(&mut self, _nav: Global, _cx: &Cx) -> Option<Vec<Cmd>> {
        None
    }

    /// The text after `/`, on every keystroke; `None` when there is nothing to filter.
    fn filter(&mut self, _text: &str, _cx: &Cx) -> Option<Vec<Cmd>> {
        None
    }

    /// What Enter does here now, for the footer; `None` when it does nothing.
    fn enter_hint(&self) -> Option<&'static str> {
        None
    }

    /// The text typed at a prompt the screen asked for (`Cmd::Prompt`).
    fn prompt(&mut self, _text: &str, _cx: &Cx) -> Vec<Cmd> {
        Vec::new()
    }

    /// The filter in force, shown when the filter line is closed.
    fn filter_text(&self) -> Option<&str> {
        None
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx);

    fn load_state(&self) -> &LoadState;

    /// How often the app refreshes this screen while it is shown; `None` for never.
    fn refresh_every(&self, cx: &Cx) -> Option<Duration> {
        Some(Duration::from_secs(cx.env.settings.refresh_secs.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::keys::KeyOverrides;
    use crate::tui::keymap::{Key, Keymap};

    /// Each config name, bound through the keymap a config file builds,
    /// comes back as the one typed action of the screen that listed it, and
    /// that action has no other name.
    #[test]
    fn action_names_are_unique_and_round_trip_through_the_keymap() {
        let screens: Vec<_> = ScreenId::ALL
            .iter()
            .map(|id| (id.name(), id.actions()))
            .collect();
        for (screen, defs) in &screens {
            let mut text = format!("[screen.{screen}]\n");
            for (i, d) in defs.iter().enumerate() {
                text += &format!("{} = \"alt-{i}\"\n", d.name);
            }
            let overrides: KeyOverrides = toml::from_str(&text).unwrap();
            let map = Keymap::build(&screens, &overrides).unwrap();
            for (i, d) in defs.iter().enumerate() {
                let key = Key::parse(&format!("alt-{i}")).unwrap();
                let bound = map.screen(screen, &key).unwrap();
                assert_eq!(bound.action, d.action, "{screen}: {}", d.name);
                let owner = match bound.action {
                    ScreenAction::Overview(_) => ScreenId::Overview,
                    ScreenAction::Tenants(_) => ScreenId::Tenants,
                    ScreenAction::Keys(_) => ScreenId::Keys,
                    ScreenAction::Cache(_) => ScreenId::Cache,
                    ScreenAction::Queries(_) => ScreenId::Queries,
                    ScreenAction::Jobs(_) => ScreenId::Jobs,
                    ScreenAction::Indexes(_) => ScreenId::Indexes,
                    ScreenAction::Drills(_) => ScreenId::Drills,
                };
                assert_eq!(owner.name(), *screen, "{} is routed elsewhere", d.name);
                let names: Vec<_> = defs
                    .iter()
                    .filter(|o| o.action == bound.action)
                    .map(|o| o.name)
                    .collect();
                assert_eq!(names, [d.name], "{screen}: one action, one name");
                assert_eq!(
                    defs.iter().filter(|o| o.name == d.name).count(),
                    1,
                    "{screen}: {} listed twice",
                    d.name
                );
            }
        }
        assert!(screens.iter().any(|(_, defs)| !defs.is_empty()));
    }
}
