//! The overview screen: the figures of `opsdeck overview`, coloured by the
//! context's thresholds, each with a sparkline of its recent values, and
//! refreshed on the app's interval.

use super::{Cx, LoadState, Screen, ScreenId, ScreenMsg};
use crate::health::overview::{self, Figure, Overview};
use crate::tui::cmd::Cmd;
use crate::tui::msg::Msg as AppMsg;
use crate::tui::text;
use crate::tui::widgets::sparkline::Series;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use std::collections::BTreeMap;

/// Values kept per figure for its sparkline.
const HISTORY: usize = 120;

#[derive(Debug)]
pub enum Msg {
    Loaded {
        gen: u64,
        result: crate::Result<Box<Overview>>,
    },
}

pub struct OverviewScreen {
    state: LoadState,
    gen: u64,
    current: Option<Overview>,
    series: BTreeMap<&'static str, Series>,
    /// A collection is running: refreshes wait for it instead of piling up
    /// (a slow server must not have every tick cancel the one before).
    in_flight: bool,
}

impl Default for OverviewScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl OverviewScreen {
    pub fn new() -> OverviewScreen {
        OverviewScreen {
            state: LoadState::Idle,
            gen: 0,
            current: None,
            series: BTreeMap::new(),
            in_flight: false,
        }
    }

    pub fn current(&self) -> Option<&Overview> {
        self.current.as_ref()
    }

    pub fn series(&self, key: &str) -> Option<&Series> {
        self.series.get(key)
    }

    fn load(&mut self) -> Vec<Cmd> {
        self.in_flight = true;
        self.gen = crate::tui::next_gen();
        if self.current.is_none() {
            self.state = LoadState::Loading;
        }
        let gen = self.gen;
        vec![Cmd::task(
            "overview.collect",
            Some("overview".into()),
            move |cx| async move {
                let result = overview::collect(&cx.session).await.map(Box::new);
                AppMsg::Screen(ScreenMsg::Overview(Msg::Loaded { gen, result }))
            },
        )]
    }

    /// Applies a snapshot: TPS and the Redis window from the previous one,
    /// then one point per figure.
    pub fn apply(&mut self, mut snapshot: Overview, cx: &Cx) {
        if let Some(prev) = &self.current {
            snapshot.window_since(prev);
        }
        for f in snapshot.figures(&cx.context.thresholds) {
            if let Some(v) = f.value {
                self.series
                    .entry(f.key)
                    .or_insert_with(|| Series::new(HISTORY))
                    .push(v);
            }
        }
        self.current = Some(snapshot);
        self.state = LoadState::Loaded(cx.now);
    }
}

impl Screen for OverviewScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Overview
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
        let ScreenMsg::Overview(Msg::Loaded { gen, result }) = msg else {
            return Vec::new();
        };
        if gen != self.gen {
            return Vec::new();
        }
        self.in_flight = false;
        match result {
            Ok(snapshot) => self.apply(*snapshot, cx),
            Err(e) => self.state = LoadState::Error(e.to_string()),
        }
        Vec::new()
    }

    fn load_state(&self) -> &LoadState {
        &self.state
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        let theme = &cx.env.theme;
        let mut notes: Vec<Line> = Vec::new();
        if let LoadState::Error(e) = &self.state {
            notes.push(text::line(e, theme.error()));
        }
        let Some(ov) = &self.current else {
            if notes.is_empty() {
                notes.push(Line::styled("collecting…", theme.muted()));
            }
            frame.render_widget(Paragraph::new(notes), area);
            return;
        };
        if let Some(e) = &ov.postgres_error {
            notes.push(text::line(&format!("postgres: {e}"), theme.error()));
        }
        if let Some(e) = &ov.redis_error {
            notes.push(text::line(&format!("redis: {e}"), theme.error()));
        }
        if !cx.context.has_pg && !cx.context.has_redis {
            notes.push(Line::styled(
                "nothing to watch: pass --pg / --redis or add pg and redis to the context",
                theme.warn(),
            ));
        }
        let figures = ov.figures(&cx.context.thresholds);
        let [notes_area, figures_area] =
            Layout::vertical([Constraint::Length(notes.len() as u16), Constraint::Min(0)])
                .areas(area);
        frame.render_widget(Paragraph::new(notes), notes_area);
        for (i, f) in figures.iter().enumerate() {
            let y = figures_area.y + i as u16;
            if y >= figures_area.bottom() {
                break;
            }
            self.render_figure(
                frame,
                Rect {
                    y,
                    height: 1,
                    ..figures_area
                },
                f,
                cx,
            );
        }
    }
}

impl OverviewScreen {
    fn render_figure(&self, frame: &mut Frame, row: Rect, f: &Figure, cx: &Cx) {
        let theme = &cx.env.theme;
        let label_w = (row.width / 3).min(16);
        // The value whole (the sparkline narrows or goes), never cut.
        let display = text::cleaned(&f.display);
        let display_w = u16::try_from(Span::raw(display.as_str()).width()).unwrap_or(u16::MAX);
        let value_w = (row.width.saturating_sub(label_w) * 2 / 3)
            .min(26)
            .max(display_w)
            .min(row.width.saturating_sub(label_w + 1));
        let [label, value, spark] = Layout::horizontal([
            Constraint::Length(label_w),
            Constraint::Length(value_w),
            Constraint::Min(0),
        ])
        .spacing(1)
        .areas(row);
        frame.render_widget(Paragraph::new(text::span(&f.label, theme.muted())), label);
        frame.render_widget(
            Paragraph::new(Span::styled(display, theme.level(f.level))),
            value,
        );
        if spark.width >= 4 {
            if let Some(s) = self.series.get(f.key) {
                let inner = Rect {
                    x: spark.x + 1,
                    width: spark.width - 1,
                    ..spark
                };
                s.render(frame, inner, theme.level(f.level));
            }
        }
    }
}
