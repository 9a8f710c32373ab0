//! One pane per store, with its figures (by key, most telling first: a
//! short body shows the head of the list) and, when the store could not be
//! read, why: Postgres (connections, TPS, cache hit, the longest
//! transaction, blocked sessions, sessions by state, replication lag,
//! database size) and Redis (memory against maxmemory, hit ratio and ops/s
//! over the window with opsdeck's own commands left out, evictions, clients).

use super::super::pane::{Data, Pane, Width};
use super::figure_rows;
use crate::health::overview::Overview;
use crate::tui::screens::{Cx, ScreenId};
use ratatui::layout::Rect;
use ratatui::Frame;

pub struct Store {
    title: &'static str,
    opens: ScreenId,
    keys: &'static [&'static str],
    configured: fn(&Cx) -> bool,
    read: fn(&Overview) -> bool,
    error: fn(&Overview) -> Option<&String>,
}

pub const POSTGRES: Store = Store {
    title: "Postgres",
    opens: ScreenId::Tenants,
    keys: &[
        "connections",
        "tps",
        "cache_hit",
        "longest_transaction",
        "blocked_sessions",
        "sessions",
        "replication_lag",
        "database_size",
    ],
    configured: |cx| cx.context.has_pg,
    read: |o| o.postgres.is_some(),
    error: |o| o.postgres_error.as_ref(),
};

pub const REDIS: Store = Store {
    title: "Redis",
    opens: ScreenId::Cache,
    keys: &[
        "redis_memory",
        "redis_hit",
        "redis_ops",
        "redis_evictions",
        "redis_clients",
    ],
    configured: |cx| cx.context.has_redis,
    read: |o| o.redis.is_some(),
    error: |o| o.redis_error.as_ref(),
};

impl Pane for Store {
    fn title(&self) -> &'static str {
        self.title
    }

    fn opens(&self) -> Option<ScreenId> {
        Some(self.opens)
    }

    fn width(&self) -> Width {
        Width::Half
    }

    fn shown(&self, cx: &Cx) -> bool {
        (self.configured)(cx)
    }

    fn rows(&self, data: &Data) -> u16 {
        if (self.read)(data.overview) {
            u16::try_from(self.keys.len()).unwrap_or(u16::MAX)
        } else {
            1
        }
    }

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx) {
        let problem = (self.error)(data.overview).map(|e| format!("down: {e}"));
        figure_rows(frame, area, data, self.keys, problem.as_deref(), cx);
    }
}
