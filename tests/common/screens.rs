//! One screen driven the way the runtime drives it, without a terminal:
//! a real Session on a config, every task run to completion and its reply
//! fed back, clipboard writes kept to look at, and the frame drawn on a
//! TestBackend.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::config::{Config, ContextOverrides, Paths};
use opsdeck::session::Session;
use opsdeck::tui::app::App;
use opsdeck::tui::cmd::{Cmd, TaskCx};
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ContextInfo, Msg};
use opsdeck::tui::screens::Screen;
use opsdeck::tui::view::view;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub struct Harness {
    pub app: App,
    pub session: Arc<Session>,
    pub clipboard: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// `first` opened at `size` (mono theme) on the context of `config_toml`.
    pub async fn new(config_toml: &str, size: (u16, u16), first: Box<dyn Screen>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse(config_toml, Path::new("c.toml")).unwrap();
        let session = Arc::new(
            Session::new(
                config,
                Paths::under(dir.path().to_path_buf()),
                None,
                &ContextOverrides::default(),
            )
            .unwrap(),
        );
        let (app, cmds) = App::with_screen(
            Env::test_env_with_theme("mono"),
            ContextInfo::of(&session),
            Instant::now(),
            size,
            first,
        );
        let mut h = Harness {
            app,
            session,
            clipboard: Vec::new(),
            _dir: dir,
        };
        h.run(cmds).await;
        h
    }

    /// Runs every task to completion and feeds its reply back, as the
    /// runtime does (without the connection probe).
    pub async fn run(&mut self, cmds: Vec<Cmd>) {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut queue: VecDeque<Cmd> = cmds.into();
        while let Some(c) = queue.pop_front() {
            match c {
                Cmd::Task { key, run, name } if name != "probe" => {
                    let cx = TaskCx::new(
                        self.session.clone(),
                        key.clone(),
                        tx.clone(),
                        opsdeck::stop::Stop::new(),
                    );
                    let msg = run(cx).await;
                    queue.extend(self.app.update(Msg::Reply {
                        epoch: 0,
                        key,
                        msg: Box::new(msg),
                    }));
                }
                Cmd::Clipboard(s) => self.clipboard.push(s.expose().to_string()),
                _ => {}
            }
        }
    }

    pub async fn key(&mut self, code: KeyCode) {
        let cmds = self
            .app
            .update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.run(cmds).await;
    }

    pub async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    pub fn screen(&self) -> String {
        format!("{}", draw(&self.app).backend())
    }
}

pub fn draw(app: &App) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| view(app, f)).unwrap();
    t
}
