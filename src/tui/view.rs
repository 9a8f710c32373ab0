//! The chrome around the current screen: header, connection banner, body,
//! status line, footer of key hints, and the overlays. A pure function of
//! the app state.

use super::app::{App, ConnState, Mode, Popup};
use super::command_bar::candidates;
use super::keymap::Global;
use super::popups::help;
use super::screens::LoadState;
use super::theme::Theme;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = &app.env.theme;
    frame.render_widget(Block::default().style(theme.base()), area);
    let banner = banner_text(app);
    let [header, banner_area, body, status, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner.is_some())),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(header_line(app)).style(theme.header()),
        header,
    );
    if let Some(text) = banner {
        frame.render_widget(Paragraph::new(text).style(theme.banner()), banner_area);
    }
    draw_body(app, frame, body);
    frame.render_widget(Paragraph::new(status_line(app)), status);
    frame.render_widget(Paragraph::new(footer_line(app)), footer);
    draw_overlays(app, frame, body);
}

fn banner_text(app: &App) -> Option<String> {
    match &app.conn {
        ConnState::Lost {
            reason, retry_at, ..
        } => {
            let wait = retry_at.saturating_duration_since(app.now).as_secs();
            Some(format!(" connection lost: {reason} · retrying in {wait}s"))
        }
        _ => None,
    }
}

fn header_line(app: &App) -> Line<'static> {
    let theme = &app.env.theme;
    let sep = || Span::styled(" │ ", theme.muted());
    let mut spans = vec![
        Span::styled(" opsdeck", theme.title()),
        sep(),
        Span::styled(app.context.name.clone(), theme.accent()),
    ];
    if app.context.read_only {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" READ-ONLY ", theme.read_only_badge()));
    }
    spans.push(sep());
    let (dot, style) = match &app.conn {
        ConnState::Connecting => ("○ connecting", theme.muted()),
        ConnState::Up(_) => ("● up", theme.ok()),
        ConnState::Lost { .. } => ("✖ lost", theme.error()),
    };
    spans.push(Span::styled(dot, style));
    if app.paused {
        spans.push(sep());
        spans.push(Span::styled("paused", theme.warn()));
    }
    if let Some(s) = app.screen() {
        spans.push(sep());
        let (text, style) = match s.load_state() {
            LoadState::Loaded(t) => (
                age_text(app.now.saturating_duration_since(*t)),
                theme.muted(),
            ),
            LoadState::Loading => ("loading".into(), theme.muted()),
            LoadState::Error(_) => ("error".into(), theme.error()),
            LoadState::Idle => (String::new(), theme.muted()),
        };
        spans.push(Span::styled(text, style));
    }
    if let ConnState::Up(info) = &app.conn {
        if let Some(pg) = &info.pg {
            spans.push(sep());
            spans.push(Span::styled(
                format!("pg {}", pg.server_version),
                theme.text(),
            ));
            // The target starts with the login user; name the role only when it differs.
            if !pg.target.starts_with(&format!("{}@", pg.role)) {
                spans.push(Span::styled(format!(" as {}", pg.role), theme.text()));
            }
            spans.push(Span::styled(format!(" {}", pg.target), theme.muted()));
        }
    }
    Line::from(spans)
}

fn draw_body(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.env.theme;
    let Some(screen) = app.screen() else {
        return;
    };
    let cx = app.cx();
    let mut title = vec![Span::styled(format!(" {} ", screen.title()), theme.title())];
    if let Some(f) = screen.filter_text().filter(|f| !f.is_empty()) {
        title.push(Span::styled(format!("/{f} "), theme.accent()));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(cx.focused))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    screen.render(frame, inner, &cx);
}

fn status_line(app: &App) -> Line<'static> {
    let theme = &app.env.theme;
    match &app.mode {
        Mode::Command(bar) => {
            let mut spans = vec![
                Span::styled(":", theme.accent()),
                Span::styled(format!("{}▏", bar.input), theme.text()),
            ];
            let c = candidates(&bar.input, &app.env.contexts);
            if !c.is_empty() {
                spans.push(Span::styled(format!("  {}", c.join("  ")), theme.muted()));
            }
            Line::from(spans)
        }
        Mode::Filter(text) => Line::from(vec![
            Span::styled("/", theme.accent()),
            Span::styled(format!("{text}▏"), theme.text()),
            Span::styled("  enter keep · esc clear", theme.muted()),
        ]),
        _ => match &app.status {
            Some(s) if s.error => Line::styled(s.text.clone(), theme.error()),
            Some(s) => Line::styled(s.text.clone(), theme.ok()),
            None => Line::raw(""),
        },
    }
}

/// Key hints for this screen, from the live keymap (first key of each; `?`
/// lists them all): the screen's own actions (disabled ones muted), then the
/// global essentials.
fn footer_line(app: &App) -> Line<'static> {
    let theme = &app.env.theme;
    let keymap = &app.env.keymap;
    let mut spans = Vec::new();
    let mut push = |keys: String, label: &str, enabled: bool, theme: &Theme| {
        if keys.is_empty() {
            return;
        }
        let (k, l) = if enabled {
            (theme.key(), theme.muted())
        } else {
            (theme.muted(), theme.muted())
        };
        spans.push(Span::styled(format!(" {keys}"), k));
        spans.push(Span::styled(format!(" {label}"), l));
    };
    if let Some(screen) = app.screen() {
        let cx = app.cx();
        for d in screen.id().actions() {
            push(
                keymap.screen_first(screen.id().name(), d.action),
                d.label,
                screen.enabled(d.action, &cx),
                theme,
            );
        }
        if screen.filter_text().is_some() {
            push(keymap.global_first(Global::Filter), "filter", true, theme);
        }
    }
    for (g, label) in [
        (Global::Command, "cmd"),
        (Global::Help, "help"),
        (Global::Pause, if app.paused { "resume" } else { "pause" }),
        (Global::Back, "back"),
        (Global::Quit, "quit"),
    ] {
        push(keymap.global_first(g), label, true, theme);
    }
    Line::from(spans)
}

fn draw_overlays(app: &App, frame: &mut Frame, body: Rect) {
    let theme = &app.env.theme;
    if let (Mode::Help, Some(screen)) = (&app.mode, app.screen()) {
        let cx = app.cx();
        let entries = help::entries(&app.env.keymap, screen.id(), &|a| screen.enabled(a, &cx));
        let h = (entries.len() as u16 + 2).min(body.height);
        help::render(
            frame,
            centered(body, 44, h),
            theme,
            screen.id().name(),
            &entries,
        );
    }
    match &app.popup {
        Some(Popup::Confirm(c)) => c.render(frame, centered(body, 60, 9), theme),
        Some(Popup::Secret(s)) => s.render(frame, centered(body, 64, 7), theme),
        Some(Popup::Progress(p)) => {
            let key = app.env.keymap.global_hint(Global::Back);
            p.render(frame, centered(body, 50, 5), theme, app.now, &key)
        }
        None => {}
    }
}

/// A `w`x`h` box centred in `area`, shrunk to fit.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let r = Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    };
    r.intersection(area)
}

/// Age of the data on screen, in whole seconds or minutes.
pub fn age_text(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        _ => format!("{}h ago", s / 3600),
    }
}
