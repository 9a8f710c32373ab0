//! The interactive console, Elm-style.
//!
//! - [`app`]: `App` state and the pure `update(&mut App, Msg) -> Vec<Cmd>`.
//! - [`msg`]: the one `Msg` enum (keys, ticks, task results with their request generation).
//! - [`cmd`]: effects; [`runtime`] runs them on tokio and answers with `Msg`s on one channel.
//! - [`view`]: the chrome (header, banner, body, status line, footer, overlays), pure.
//! - [`screens`]: the registry and one file per screen; [`widgets`] and [`popups`]: shared pieces.
//! - [`env`]: theme, keymap, settings (`Env::test_env()` for tests); [`keymap`], [`theme`].
//! - [`terminal`]: raw mode / alternate screen / cursor restored on exit, panic and signals.
//! - [`text`]: data made safe to draw (control and bidi characters shown as escapes).
//!
//! # Adding a screen (tenants, cache, …)
//! 1. Write `src/tui/screens/NAME.rs` with `pub enum Msg` (or `pub type Msg =
//!    table::Msg<Row>` for a list) and a struct implementing [`screens::Screen`]:
//!    `enter`/`refresh` return `Cmd::task(..)`s whose futures call the core with
//!    `cx.session` and answer `Msg::Screen(ScreenMsg::NAME(..))` carrying the `Result` and
//!    the generation the screen recorded (`tui::next_gen()`); `update` ignores replies whose
//!    generation is not the latest. Keep an explicit [`screens::LoadState`] and draw every
//!    variant. A screen with keys of its own adds `pub enum Action { Suspend, .. }` and
//!    `pub const ACTIONS: &[ActionDef<Action>]` (`keymap::def(Action::Suspend, "suspend",
//!    "suspend tenant", "s")`: the name is what `[keys.screen.NAME]` overrides, checked when
//!    the config loads; keys must not clash with `keymap::GLOBAL`). Its `action`/`enabled`
//!    take the routed [`screens::ScreenAction`], unwrap their own variant with `let ..
//!    else` (another screen's cannot arrive) and match `Action` exhaustively.
//! 2. In `screens/mod.rs`: `pub mod NAME;`, a `ScreenId::NAME` variant, its arms in `name`
//!    (the `:command` and `[keys.screen.NAME]` section), `about`, `actions`, `build`, and
//!    `ALL`; a `ScreenMsg::NAME(NAME::Msg)` variant and its arm in `target`; with actions,
//!    a `ScreenAction::NAME(NAME::Action)` variant, routed in `actions` and in the
//!    round-trip test there.
//! 3. Lists: hold a [`widgets::table::PagedTable`] over your [`widgets::table::PagedSource`]
//!    (keyset cursors: `Anchor::{First, After, Before, Last}`, filter and sort in the
//!    `PageRequest`), forward `nav`, `filter`, `filter_text`, `load_state` and the
//!    table's `Msg` to it; details in [`widgets::detail::Detail`].
//! 4. Mutations: build an `Intent`, return `Cmd::Confirm(PendingOp::new(intent, label,
//!    |cx, guard| async move { ... guard.run(core_fn(..), |r| json!(..)).await ... }))`;
//!    the confirm popup, read-only refusal, `Safety::authorize` and a cancellable progress
//!    view come with it (`cx.until_cancelled(fut)` turns Esc into `Error::Cancelled`, audited).
//!    Long Postgres work runs on `cx.pg_cancellable().await?` (a connection of the task's
//!    own, not the shared `session.pg()`): Esc then also cancels its query on the server,
//!    and the status line says whether that worked.
//!    A new secret: `Cmd::ShowSecret { title, secret }` (shown once, `c` copies by OSC 52).
//!    A form typed in place (keys' create form) takes every key through
//!    [`screens::Screen::capture`] while it is open.
//!    Results and errors for the status line: `Cmd::Status(Ok/Err(text))`; drill-down:
//!    `Cmd::Push(screen)` (Esc comes back). A task with a key (`Cmd::task(name, Some(key), ..)`)
//!    replaces a running one with the same key, so typing a filter never piles up queries.
//!    Key a screen's tasks `NAME` or `NAME:…`: leaving the screen cancels them.
//! 5. Text from the servers (names, keys, values, error messages) can hold control
//!    characters: it goes through [`text::clean`] before it is measured or drawn. The
//!    table, the detail pane, the popups, the progress view and the status line do it
//!    for you; text a screen draws itself is its own to clean ([`text::span`],
//!    [`text::line`]). [`view::view`] scrubs each frame as a last resort.
//! 6. Tests: state tests drive `App::update` / your screen with `Env::test_env()`; render
//!    tests draw into ratatui's `TestBackend` (see tests/tui_render.rs).
//! 7. Coming back: a screen left with Esc or `:NAME` is parked with its state and shown
//!    again through `resume` (its tasks were cancelled when it was left; the default
//!    refreshes). Esc closes what the screen has open (`nav(Back)` returning `Some`),
//!    then clears its filter, then goes back. `Cmd::Show(id)` opens a registered screen
//!    as `:NAME` does; `Cmd::Prompt { label, initial }` asks for a line of text that
//!    comes back in `prompt`; `enter_hint` tells the footer what Enter does.
//!
//! # Adding an overview pane (failed jobs, keys expiring soon, …)
//! See `screens/overview/pane.rs`: one file in `screens/overview/panes/` implementing
//! `Pane`, one line in `PANES`, and, when it opens a screen, one `Action::Open` line
//! with its key in the overview's `ACTIONS`.

pub mod app;
pub mod cmd;
pub mod command_bar;
pub mod env;
pub mod keymap;
pub mod msg;
pub mod popups;
pub mod runtime;
pub mod screens;
pub mod terminal;
pub mod text;
pub mod theme;
pub mod view;
pub mod widgets;

use crate::config::ContextOverrides;
use crate::error::{Error, Result};
use crate::session::Session;
use crossterm::event::{Event, EventStream};
use futures_util::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

static GEN: AtomicU64 = AtomicU64::new(1);

/// A request generation, unique in the process, so a reply can be matched to
/// the latest request even across screens rebuilt by a context switch.
pub fn next_gen() -> u64 {
    GEN.fetch_add(1, Ordering::Relaxed)
}

/// How the command line configured the TUI.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// False for `--no-color` or NO_COLOR: monochrome, selection by reverse video.
    pub color: bool,
    /// `--pg`, `--redis`, `--read-only`. `--pg` and `--redis` stay with the
    /// context the console started with; `:ctx` to another context uses that
    /// context's own servers; `--read-only` holds for every context.
    pub overrides: ContextOverrides,
    /// `--log-file`; default is the log file in the state dir.
    pub log_file: Option<PathBuf>,
    pub verbose: u8,
}

/// How the TUI ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Quit,
    /// Ended by this signal (the terminal is restored already).
    Signal(i32),
}

/// Runs the console until `q`, `:q` or a signal. Config problems (theme,
/// keys) fail before the terminal is touched.
pub async fn run(session: Session, options: Options) -> Result<Exit> {
    let log = options
        .log_file
        .clone()
        .unwrap_or_else(|| session.paths.log_file());
    init_logging(&log, options.verbose)?;
    let theme = theme::Theme::choose(
        options.color,
        session.ctx.theme.as_deref(),
        session.config.theme.as_deref(),
        &session.paths.themes_dir(),
    )?;
    let env = env::Env::new(&session.config, theme)?;
    let mut signals =
        crate::signals::Signals::new().map_err(|e| Error::io("cannot watch for signals", e))?;
    let guard = terminal::enter(env.settings.mouse)
        .map_err(|e| Error::io("cannot set up the terminal", e))?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .map_err(|e| Error::io("cannot set up the terminal", e))?;
    let size = term
        .size()
        .map_err(|e| Error::io("cannot read the terminal size", e))?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let context = msg::ContextInfo::of(&session);
    let mut runtime =
        runtime::Runtime::new(Arc::new(session), options.overrides, options.color, tx);
    let (mut app, cmds) = app::App::new(env, context, Instant::now(), (size.width, size.height));
    cmds.into_iter().for_each(|c| runtime.exec(c));
    let mut events = EventStream::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    tracing::info!("tui started on context {}", app.context.name);
    let exit = loop {
        if app.dirty {
            term.draw(|f| view::view(&app, f))
                .map_err(|e| Error::io("cannot draw", e))?;
            app.dirty = false;
        }
        let msg = tokio::select! {
            biased;
            sig = signals.recv() => {
                // Tell ratatui the cursor is back, so its drop writes nothing after the restore.
                let _ = term.show_cursor();
                terminal::restore();
                tracing::info!("ended by signal {sig}");
                break Exit::Signal(sig);
            }
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) => msg::Msg::Key(k),
                Some(Ok(Event::Paste(text))) => msg::Msg::Paste(text),
                Some(Ok(Event::Resize(w, h))) => {
                    // The terminal may have lost what it showed (shrunk, then
                    // grown back to the last frame's size before a draw, which
                    // ratatui takes for no resize): the next frame is drawn
                    // whole, not as a diff against what is no longer there.
                    term.clear().map_err(|e| Error::io("cannot draw", e))?;
                    msg::Msg::Resize(w, h)
                }
                Some(Ok(Event::Mouse(m))) => msg::Msg::Mouse(m),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(Error::io("cannot read the terminal", e)),
                None => break Exit::Quit,
            },
            Some(m) = rx.recv() => m,
            _ = tick.tick() => msg::Msg::Tick(Instant::now()),
        };
        for c in app.update(msg) {
            runtime.exec(c);
        }
        if app.quit {
            break Exit::Quit;
        }
    };
    runtime.shutdown().await;
    if exit == Exit::Quit {
        let _ = term.show_cursor();
        drop(term);
    } else {
        // After SIGHUP the pty is gone: ratatui's drop would retry showing
        // the cursor, fail, and report it with eprintln!, which panics on a
        // dead stderr. The terminal was restored above; skip that drop.
        std::mem::forget(term);
    }
    drop(guard);
    Ok(exit)
}

/// Tracing goes to a file, never to the screen.
fn init_logging(path: &std::path::Path, verbose: u8) -> Result<()> {
    let file = crate::config::private::open_append(path)
        .map_err(|e| Error::io(format!("cannot open the log file {}", path.display()), e))?;
    let level = match verbose {
        0 => "opsdeck=info",
        1 => "opsdeck=debug",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("OPSDECK_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
    Ok(())
}
