//! Input: keys and the mouse, by mode (popup, help, command bar, filter,
//! then the screen's own keys, then the global ones).

use super::{cx, App, Mode, Popup};
use crate::safety::Approval;
use crate::tui::cmd::{Cmd, PendingOp};
use crate::tui::command_bar::{BarOutcome, Command, CommandBar};
use crate::tui::keymap::{Global, Key};
use crate::tui::popups::confirm::Answer;
use crate::tui::widgets::line_input::{Edit, LineInput};
use crate::tui::widgets::progress::Progress;
use crossterm::event::{KeyCode, KeyEvent, MouseEvent, MouseEventKind};

const HISTORY: usize = 50;

impl App {
    pub(super) fn on_key(&mut self, ev: KeyEvent) -> Vec<Cmd> {
        // A key a popup takes leaves the status line: it often reports what
        // the popup just did (a key created, a change applied), and closing
        // the popup is not reading it.
        if let Some(popup) = self.popup.take() {
            return self.popup_key(popup, ev);
        }
        self.status_read();
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => {}
            Mode::Messages => return Vec::new(),
            Mode::Help(scroll) => {
                // Scroll keys move the overlay; any other key closes it.
                self.mode = Mode::Help(scroll);
                let layout = crate::tui::view::help_layout(self);
                self.mode = Mode::Normal;
                let max = layout.map_or(0, |l| l.max_scroll());
                let page = layout.map_or(1, |l| l.shown.max(1));
                let moved = match self.env.keymap.global(&Key::from_event(&ev)) {
                    Some(Global::Down) => Some(scroll + 1),
                    Some(Global::Up) => Some(scroll.saturating_sub(1)),
                    Some(Global::PageDown) => Some(scroll + page),
                    Some(Global::PageUp) => Some(scroll.saturating_sub(page)),
                    Some(Global::Top) => Some(0),
                    Some(Global::Bottom) => Some(max),
                    _ => None,
                };
                if let Some(s) = moved {
                    self.mode = Mode::Help(s.min(max));
                }
                return Vec::new();
            }
            Mode::Command(mut bar) => {
                return match bar.key(ev, &self.env.contexts, &self.history) {
                    BarOutcome::Open => {
                        self.mode = Mode::Command(bar);
                        Vec::new()
                    }
                    BarOutcome::Closed => Vec::new(),
                    BarOutcome::Run(text) => self.run_command(text),
                }
            }
            Mode::Filter(text) => return self.filter_key(text, ev),
            Mode::Prompt(label, line) => return self.prompt_key(label, line, ev),
        }
        let key = Key::from_event(&ev);
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        let Some(screen) = self.stack.last_mut().map(|o| &mut o.screen) else {
            return Vec::new();
        };
        let cx = cx(env, context, now, size, true);
        if let Some(cmds) = screen.capture(&ev, &cx) {
            return cmds;
        }
        if let Some(def) = env.keymap.screen(screen.id().name(), &key) {
            if screen.enabled(def.action, &cx) {
                return screen.action(def.action, &cx);
            }
            let msg = format!("{} is not available here now", def.name);
            self.set_status(Err(msg));
            return Vec::new();
        }
        let Some(global) = env.keymap.global(&key) else {
            self.dirty = false;
            return Vec::new();
        };
        match global {
            Global::Quit => {
                self.quit = true;
                Vec::new()
            }
            Global::Help => {
                self.mode = Mode::Help(0);
                Vec::new()
            }
            Global::Command => {
                self.mode = Mode::Command(CommandBar::default());
                Vec::new()
            }
            Global::Filter => {
                match screen.filter_text() {
                    Some(current) => self.mode = Mode::Filter(LineInput::new(current)),
                    None => self.set_status(Err("nothing to filter on this screen".into())),
                }
                Vec::new()
            }
            // Esc first closes what is open on the screen, then clears its
            // filter, and only then goes back.
            Global::Back => match screen.nav(Global::Back, &cx) {
                Some(cmds) => cmds,
                None if screen.filter_text().is_some_and(|f| !f.is_empty()) => {
                    self.apply_filter("")
                }
                None if self.stack.len() > 1 => self.back(),
                None => Vec::new(),
            },
            Global::Refresh => self.refresh_top(),
            Global::Pause => {
                self.paused = !self.paused;
                Vec::new()
            }
            nav => screen.nav(nav, &cx).unwrap_or_default(),
        }
    }

    fn filter_key(&mut self, mut line: LineInput, ev: KeyEvent) -> Vec<Cmd> {
        let keep_open = match ev.code {
            KeyCode::Esc => {
                line.set("");
                false
            }
            KeyCode::Enter => false,
            _ => {
                if line.key(&ev) != Edit::Changed {
                    self.mode = Mode::Filter(line);
                    return Vec::new();
                }
                true
            }
        };
        let cmds = self.apply_filter(line.value());
        if keep_open {
            self.mode = Mode::Filter(line);
        }
        cmds
    }

    fn prompt_key(&mut self, label: String, mut line: LineInput, ev: KeyEvent) -> Vec<Cmd> {
        match ev.code {
            KeyCode::Esc => Vec::new(),
            KeyCode::Enter => {
                let text = line.value().trim().to_string();
                let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
                match self.stack.last_mut() {
                    Some(o) => o.screen.prompt(&text, &cx(env, context, now, size, true)),
                    None => Vec::new(),
                }
            }
            _ => {
                line.key(&ev);
                self.mode = Mode::Prompt(label, line);
                Vec::new()
            }
        }
    }

    /// Pasted text goes to the line being edited, if any.
    pub(super) fn on_paste(&mut self, text: &str) -> Vec<Cmd> {
        match &mut self.mode {
            Mode::Command(bar) => {
                bar.paste(text);
                Vec::new()
            }
            Mode::Prompt(_, line) => {
                line.paste(text);
                Vec::new()
            }
            Mode::Filter(line) => {
                if line.paste(text) != Edit::Changed {
                    return Vec::new();
                }
                let value = line.value().to_string();
                self.apply_filter(&value)
            }
            _ => match &mut self.popup {
                Some(Popup::Confirm(c)) => {
                    c.paste(text);
                    Vec::new()
                }
                _ => {
                    self.dirty = false;
                    Vec::new()
                }
            },
        }
    }

    pub(super) fn apply_filter(&mut self, text: &str) -> Vec<Cmd> {
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        match self.stack.last_mut() {
            Some(o) => o
                .screen
                .filter(text, &cx(env, context, now, size, true))
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    fn popup_key(&mut self, popup: Popup, ev: KeyEvent) -> Vec<Cmd> {
        match popup {
            Popup::Confirm(c) => match c.key(ev) {
                (Some(c), _) => {
                    self.popup = Some(Popup::Confirm(c));
                    Vec::new()
                }
                (None, Answer::Approved(op, approval)) => self.run_op(op, approval),
                (None, _) => {
                    self.set_status(Ok("cancelled; nothing was changed".into()));
                    Vec::new()
                }
            },
            Popup::Secret(s) => {
                let (s, cmds) = s.key(ev);
                self.popup = s.map(Popup::Secret);
                cmds
            }
            Popup::Progress(mut p) => {
                let cancel = Key::from_event(&ev) == Key::new(KeyCode::Esc, ev.modifiers)
                    || self.env.keymap.global(&Key::from_event(&ev)) == Some(Global::Back);
                let cmds = if cancel && !p.cancelling {
                    p.cancelling = true;
                    vec![Cmd::Abort(p.key.clone())]
                } else {
                    Vec::new()
                };
                self.popup = Some(Popup::Progress(p));
                cmds
            }
        }
    }

    /// Runs the operation with the operator's answer (authorized by the
    /// safety layer inside the task), behind a progress view that can cancel it.
    fn run_op(&mut self, op: PendingOp, approval: Approval) -> Vec<Cmd> {
        let key = format!("op:{}:{}", op.intent.action, crate::tui::next_gen());
        let PendingOp { label, run, .. } = op;
        self.popup = Some(Popup::Progress(Progress::new(key.clone(), label, self.now)));
        vec![Cmd::task("operation", Some(key), move |cx| {
            run(cx, approval)
        })]
    }

    fn run_command(&mut self, text: String) -> Vec<Cmd> {
        if text.is_empty() {
            return Vec::new();
        }
        if self.history.last() != Some(&text) {
            self.history.push(text.clone());
            if self.history.len() > HISTORY {
                self.history.remove(0);
            }
        }
        match Command::parse(&text, &self.env.contexts) {
            Ok(Command::Quit) => {
                self.quit = true;
                Vec::new()
            }
            Ok(Command::Screen(id)) => self.show(id),
            Ok(Command::Messages) => {
                self.mode = Mode::Messages;
                Vec::new()
            }
            Ok(Command::Ctx(name)) => {
                self.set_status(Ok(format!("switching to context {name}…")));
                vec![Cmd::SwitchContext(name)]
            }
            Err(e) => {
                self.set_status(Err(e));
                Vec::new()
            }
        }
    }

    pub(super) fn on_mouse(&mut self, m: MouseEvent) -> Vec<Cmd> {
        let nav = match m.kind {
            MouseEventKind::ScrollDown => Global::Down,
            MouseEventKind::ScrollUp => Global::Up,
            _ => {
                self.dirty = false;
                return Vec::new();
            }
        };
        if self.popup.is_some() || !matches!(self.mode, Mode::Normal) {
            return Vec::new();
        }
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        match self.stack.last_mut() {
            Some(o) => o
                .screen
                .nav(nav, &cx(env, context, now, size, true))
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }
}
