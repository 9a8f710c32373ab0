//! The chrome around the current screen: header, connection banner, body,
//! status line, footer of key hints, and the overlays. A pure function of
//! the app state.

use super::app::{App, ConnState, Mode, Popup};
use super::command_bar::candidates;
use super::keymap::Global;
use super::popups::help::{self, HelpLayout};
use super::popups::messages;
use super::screens::{LoadState, Screen};
use super::text::{self, cleaned};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

pub fn view(app: &App, frame: &mut Frame) {
    let area = frame.area();
    let theme = &app.env.theme;
    frame.render_widget(Block::default().style(theme.base()), area);
    let banner = banner_text(app);
    let [header, banner_area, body, status, footer] = chrome(area, banner.is_some());
    frame.render_widget(
        Paragraph::new(header_line(app, header.width)).style(theme.header()),
        header,
    );
    if let Some(text) = banner {
        frame.render_widget(Paragraph::new(text).style(theme.banner()), banner_area);
    }
    draw_body(app, frame, body);
    frame.render_widget(Paragraph::new(status_line(app, status.width)), status);
    frame.render_widget(Paragraph::new(footer_line(app, footer.width)), footer);
    draw_overlays(app, frame, body);
    text::scrub(frame.buffer_mut());
}

/// Header, banner, body, status line, footer.
fn chrome(area: Rect, banner: bool) -> [Rect; 5] {
    Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(u16::from(banner)),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area)
}

/// Where the `?` overlay is and how it scrolls, while it is open.
pub fn help_layout(app: &App) -> Option<HelpLayout> {
    let (Mode::Help(_), Some(screen)) = (&app.mode, app.screen()) else {
        return None;
    };
    let area = Rect::new(0, 0, app.size.0, app.size.1);
    let [_, _, body, _, _] = chrome(area, banner_text(app).is_some());
    Some(HelpLayout::new(body, &help_entries(app, screen)))
}

fn help_entries(app: &App, screen: &dyn Screen) -> Vec<(String, String, bool)> {
    let cx = app.cx();
    help::entries(&app.env.keymap, screen.id(), &|a| screen.enabled(a, &cx))
}

fn banner_text(app: &App) -> Option<String> {
    match &app.conn {
        ConnState::Up(info) => {
            let down: Vec<String> = [&info.pg_down, &info.redis_down]
                .into_iter()
                .flatten()
                .map(|r| text::cleaned(r))
                .collect();
            (!down.is_empty()).then(|| format!(" down: {}", down.join("; ")))
        }
        ConnState::Lost {
            reason, retry_at, ..
        } => {
            let wait = retry_at.saturating_duration_since(app.now).as_secs();
            Some(format!(
                " connection lost: {} · retrying in {wait}s",
                text::clean(reason)
            ))
        }
        _ => None,
    }
}

/// The header: context, badges, connection state, data age, then the
/// Postgres server in whatever room is left (`pg 15.20 user@host:port/db`,
/// the target shortened in the middle, then dropped, then the version).
fn header_line(app: &App, width: u16) -> Line<'static> {
    let theme = &app.env.theme;
    let sep = || Span::styled(" │ ", theme.muted());
    let mut spans = vec![
        Span::styled(" opsdeck", theme.title()),
        sep(),
        Span::styled(cleaned(&app.context.name), theme.accent()),
    ];
    if app.context.read_only {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(" READ-ONLY ", theme.read_only_badge()));
    }
    spans.push(sep());
    let state_at = spans.len();
    let wide_state = state_spans(app, false);
    spans.extend(wide_state.iter().cloned());
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
    // Each store's state whole when it fits, else the short form.
    if Line::from(spans.clone()).width() > usize::from(width) {
        spans.splice(
            state_at..state_at + wide_state.len(),
            state_spans(app, true),
        );
    }
    if let ConnState::Up(info) = &app.conn {
        if let Some(pg) = &info.pg {
            let used: usize = spans.iter().map(Span::width).sum();
            let room = usize::from(width).saturating_sub(used + 3);
            let mut server = format!("pg {}", cleaned(short_version(&pg.server_version)));
            // The target starts with the login user; name the role only when it differs.
            if !pg.target.starts_with(&format!("{}@", pg.role)) {
                server.push_str(&format!(" as {}", text::clean(&pg.role)));
            }
            let server_width = Span::raw(server.as_str()).width();
            if server_width <= room {
                spans.push(sep());
                spans.push(Span::styled(server, theme.text()));
                let target = shorten(
                    &text::clean(&pg.target),
                    room.saturating_sub(server_width + 1),
                );
                if !target.is_empty() {
                    spans.push(Span::styled(format!(" {target}"), theme.muted()));
                }
            }
        }
    }
    Line::from(spans)
}

/// The connection state: `● up` for one store; with two, each on its own
/// (`pg ● up  redis ✖ down`, short `●pg ✖redis`), so a Redis that is
/// down never makes Postgres look down.
fn state_spans(app: &App, short: bool) -> Vec<Span<'static>> {
    let theme = &app.env.theme;
    let info = match &app.conn {
        ConnState::Connecting => return vec![Span::styled("○ connecting", theme.muted())],
        ConnState::Lost { .. } => return vec![Span::styled("✖ lost", theme.error())],
        ConnState::Up(info) => info,
    };
    let stores = info.stores();
    if stores.len() < 2 {
        let up = stores.first().is_none_or(|(_, up)| *up);
        return vec![if up {
            Span::styled("● up", theme.ok())
        } else {
            Span::styled("✖ down", theme.error())
        }];
    }
    let mut out = Vec::new();
    for (i, (name, up)) in stores.into_iter().enumerate() {
        if i > 0 {
            out.push(Span::raw(" "));
        }
        let (dot, word, style) = if up {
            ("●", "up", theme.ok())
        } else {
            ("✖", "down", theme.error())
        };
        out.push(Span::styled(
            if short {
                format!("{dot}{name}")
            } else {
                format!("{name} {dot} {word}")
            },
            style,
        ));
    }
    out
}

/// `15.20` of `15.20 (Debian 15.20-0+deb12u1)`: the build note takes room
/// the header needs.
pub fn short_version(full: &str) -> &str {
    full.split_whitespace().next().unwrap_or(full)
}

/// `text` in at most `width` columns: whole, or its start and end around an
/// ellipsis (so `user@host` and `:port/db` or `/db` stay readable), or
/// nothing when too little would be left to mean anything.
pub fn shorten(text: &str, width: usize) -> String {
    const LEAST: usize = 8;
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_string();
    }
    if width < LEAST {
        return String::new();
    }
    // The end from the port or the database on, when it takes at most half.
    let half = (width - 1) / 2;
    let tail = [':', '/']
        .iter()
        .filter_map(|c| text.rfind(*c))
        .map(|i| text[i..].chars().count())
        .find(|n| *n <= half)
        .unwrap_or((width - 1) / 3);
    let head = width - 1 - tail;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

fn draw_body(app: &App, frame: &mut Frame, area: Rect) {
    let theme = &app.env.theme;
    let Some(screen) = app.screen() else {
        return;
    };
    let cx = app.cx();
    let mut title = vec![Span::styled(
        format!(" {} ", text::clean(&screen.title())),
        theme.title(),
    )];
    if let Some(f) = screen.filter_text().filter(|f| !f.is_empty()) {
        title.push(Span::styled(
            format!("/{} ", text::clean(f)),
            theme.accent(),
        ));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(cx.focused))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    screen.render(frame, inner, &cx);
}

fn status_line(app: &App, width: u16) -> Line<'static> {
    let theme = &app.env.theme;
    match &app.mode {
        Mode::Command(bar) => {
            let mut spans = vec![Span::styled(":", theme.accent())];
            spans.extend(bar.input.spans(
                usize::from(width).saturating_sub(1),
                theme.text(),
                theme.text(),
            ));
            // Whole candidates only, and `…` when some did not fit.
            let c = candidates(bar.text(), &app.env.contexts);
            let mut room = usize::from(width).saturating_sub(Line::from(spans.clone()).width());
            let mut shown = String::new();
            for (i, cand) in c.iter().enumerate() {
                let piece = format!("  {}", text::clean(cand));
                let more = if i + 1 < c.len() { 3 } else { 0 };
                if Span::raw(piece.as_str()).width() + more > room {
                    shown.push_str("  …");
                    break;
                }
                room -= Span::raw(piece.as_str()).width();
                shown.push_str(&piece);
            }
            if !shown.is_empty() {
                spans.push(Span::styled(shown, theme.muted()));
            }
            Line::from(spans)
        }
        Mode::Prompt(label, line) => {
            let head = format!("{}: ", text::cleaned(label));
            let mut spans = vec![Span::styled(head.clone(), theme.accent())];
            let room = usize::from(width).saturating_sub(Span::raw(head.as_str()).width());
            spans.extend(line.spans(room, theme.text(), theme.text()));
            Line::from(spans)
        }
        Mode::Filter(line) => {
            const HINT: &str = "  enter keep · esc clear";
            let mut spans = vec![Span::styled("/", theme.accent())];
            let room = usize::from(width).saturating_sub(1 + HINT.len());
            spans.extend(line.spans(room.max(8), theme.text(), theme.text()));
            spans.push(Span::styled(HINT, theme.muted()));
            Line::from(spans)
        }
        _ => match &app.status {
            Some(s) if s.error => text::line(&s.text, theme.error()),
            Some(s) => text::line(&s.text, theme.ok()),
            None => Line::raw(""),
        },
    }
}

/// Key hints, from the live keymap (first key of each; `?` lists them
/// all): an open popup's or overlay's own keys; else the screen's actions
/// (disabled ones muted), then the global essentials. When they do not fit,
/// `? help` stays, then the screen's actions, then back, quit, command,
/// filter and pause, each in its place.
fn footer_line(app: &App, width: u16) -> Line<'static> {
    let theme = &app.env.theme;
    let keymap = &app.env.keymap;
    // (keys, label, enabled, priority: lower stays longer)
    let mut hints: Vec<(String, String, bool, u8)> = Vec::new();
    if let Some(own) = overlay_hints(app) {
        // Listed most important first (the way out leads).
        hints.extend(
            own.into_iter()
                .enumerate()
                .map(|(i, (k, l))| (k, l.to_string(), true, u8::try_from(i).unwrap_or(u8::MAX))),
        );
    } else {
        let global = |g: Global| keymap.global_first(g);
        if let Some(screen) = app.screen() {
            let cx = app.cx();
            for d in screen.id().actions() {
                let keys = keymap.screen_first(screen.id().name(), d.action);
                let enabled = screen.enabled(d.action, &cx);
                hints.push((keys, d.label.to_string(), enabled, 2));
            }
            if let Some(what) = screen.enter_hint() {
                hints.push((global(Global::Enter), what.into(), true, 2));
            }
            if screen.filter_text().is_some() {
                hints.push((global(Global::Filter), "filter".into(), true, 6));
            }
        }
        let pause = if app.paused { "resume" } else { "pause" };
        for (g, label, priority) in [
            (Global::Command, "cmd", 5),
            (Global::Help, "help", 1),
            (Global::Pause, pause, 7),
            (Global::Back, "back", 3),
            (Global::Quit, "quit", 4),
        ] {
            hints.push((global(g), label.into(), true, priority));
        }
    }
    hints.retain(|(k, ..)| !k.is_empty());
    let cost = |(k, l, ..): &(String, String, bool, u8)| Span::raw(format!(" {k} {l}")).width();
    let mut order: Vec<usize> = (0..hints.len()).collect();
    order.sort_by_key(|&i| (hints[i].3, i));
    let mut keep = vec![false; hints.len()];
    let mut used = 0;
    for i in order {
        let c = cost(&hints[i]);
        if used + c <= usize::from(width) {
            used += c;
            keep[i] = true;
        }
    }
    let mut spans = Vec::new();
    for ((keys, label, enabled, _), _) in hints.into_iter().zip(keep).filter(|(_, k)| *k) {
        let (k, l) = if enabled {
            (theme.key(), theme.muted())
        } else {
            (theme.muted(), theme.muted())
        };
        spans.push(Span::styled(format!(" {keys}"), k));
        spans.push(Span::styled(format!(" {label}"), l));
    }
    Line::from(spans)
}

/// The keys of what has the focus above the screen, if anything does.
fn overlay_hints(app: &App) -> Option<Vec<(String, &'static str)>> {
    // The popups, the command bar and the filter line take Esc itself; the
    // progress view also takes the remappable back key.
    let back = app.env.keymap.global_hint(Global::Back);
    let k = |s: &str| s.to_string();
    match (&app.popup, &app.mode) {
        (Some(Popup::Confirm(c)), _) if c.refusal().is_some() => {
            Some(vec![(k("any key"), "close")])
        }
        (Some(Popup::Confirm(c)), _) if c.destructive() => Some(vec![
            (k("esc"), "cancel"),
            (k("type"), "the name"),
            (k("enter"), "confirm"),
            (k("tab"), "switch"),
        ]),
        (Some(Popup::Confirm(_)), _) => Some(vec![
            (k("esc"), "cancel"),
            (k("y"), "yes"),
            (k("tab"), "switch"),
            (k("enter"), "choose"),
        ]),
        (Some(Popup::Secret(s)), _) if s.visible() => {
            Some(vec![(k("esc"), "close"), (k("c"), "copy (and mask)")])
        }
        (Some(Popup::Secret(_)), _) => Some(vec![(k("esc"), "close")]),
        (Some(Popup::Progress(_)), _) => Some(vec![(back, "cancel")]),
        (None, Mode::Help(_)) => Some(vec![(k("any key"), "close"), (k("j/k"), "scroll")]),
        (None, Mode::Messages) => Some(vec![(k("any key"), "close")]),
        (None, Mode::Prompt(..)) => Some(vec![(k("esc"), "cancel"), (k("enter"), "open")]),
        (None, Mode::Command(_)) => Some(vec![
            (k("esc"), "close"),
            (k("enter"), "run"),
            (k("tab"), "complete"),
            (k("↑/↓"), "history"),
        ]),
        (None, Mode::Filter(_)) => Some(vec![(k("esc"), "clear"), (k("enter"), "keep")]),
        _ => None,
    }
}

fn draw_overlays(app: &App, frame: &mut Frame, body: Rect) {
    let theme = &app.env.theme;
    if let (Mode::Help(scroll), Some(screen)) = (&app.mode, app.screen()) {
        let entries = help_entries(app, screen);
        let layout = HelpLayout::new(body, &entries);
        help::render(frame, &layout, *scroll, theme, screen.id().name(), &entries);
    }
    if matches!(app.mode, Mode::Messages) {
        let h = u16::try_from(app.messages.len().max(1) + 2).unwrap_or(u16::MAX);
        let area = centered(body, body.width.saturating_sub(4).max(30), h);
        messages::render(frame, area, &app.messages, app.now, theme);
    }
    match &app.popup {
        Some(Popup::Confirm(c)) => {
            let w = body.width.min(60);
            c.render(frame, centered(body, w, c.height(w, theme)), theme)
        }
        Some(Popup::Secret(s)) => {
            let w = body.width.min(64);
            s.render(frame, centered(body, w, s.height(w, theme)), theme)
        }
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

#[cfg(test)]
mod tests {
    use super::{short_version, shorten};

    #[test]
    fn short_version_drops_the_build_note() {
        assert_eq!(short_version("15.20 (Debian 15.20-0+deb12u1)"), "15.20");
        assert_eq!(short_version("17beta2"), "17beta2");
        assert_eq!(short_version(""), "");
    }

    #[test]
    fn shorten_keeps_both_ends() {
        let t = "ops@db.example:5432/app";
        assert_eq!(shorten(t, 40), t);
        assert_eq!(shorten(t, t.len()), t);
        assert_eq!(shorten(t, 20), "ops@db.exa…:5432/app");
        assert_eq!(shorten(t, 12), "ops@db.…/app");
        assert_eq!(shorten("abcdefghijklmnop", 10), "abcdef…nop");
        assert_eq!(shorten(t, 7), "");
        for w in 8..t.len() {
            assert_eq!(shorten(t, w).chars().count(), w, "width {w}");
        }
    }
}
