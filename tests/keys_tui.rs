//! The `:keys` console screen against real Postgres: the list (expiring keys
//! highlighted), the create form through the confirm popup to the one-time
//! secret view (the key the backend accepts, masked in the snapshots, masked
//! for good after `c`), revoke by typed id, and the way in from a tenant.

mod common;
mod keys_support;

use common::TestDb;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keys_support::{backend_accepts, fixture};
use opsdeck::config::{Config, ContextOverrides, Paths};
use opsdeck::session::Session;
use opsdeck::tui::app::App;
use opsdeck::tui::cmd::{Cmd, TaskCx};
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ContextInfo, Msg};
use opsdeck::tui::screens::keys::KeysScreen;
use opsdeck::tui::screens::tenants::TenantsScreen;
use opsdeck::tui::screens::Screen;
use opsdeck::tui::view::view;
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

struct Harness {
    app: App,
    session: Arc<Session>,
    clipboard: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new(db: &TestDb, size: (u16, u16), first: Box<dyn Screen>) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("[contexts.t]\npg = \"{}\"\n", db.url);
        let config = Config::parse(&text, Path::new("c.toml")).unwrap();
        let session = Arc::new(
            Session::new(
                config,
                Paths::under(dir.path().to_path_buf()),
                None,
                &ContextOverrides::default(),
            )
            .unwrap(),
        );
        let info = ContextInfo::of(&session);
        let (app, cmds) = App::with_screen(
            Env::test_env_with_theme("mono"),
            info,
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

    /// Runs every task to completion and feeds its reply back, like the
    /// runtime does; clipboard writes are kept to look at.
    async fn run(&mut self, cmds: Vec<Cmd>) {
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

    async fn key(&mut self, code: KeyCode) {
        let cmds = self
            .app
            .update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self.run(cmds).await;
    }

    async fn keys(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c)).await;
        }
    }

    fn screen(&self) -> String {
        format!("{}", draw(&self.app).backend())
    }
}

fn draw(app: &App) -> Terminal<TestBackend> {
    let mut t = Terminal::new(TestBackend::new(app.size.0, app.size.1)).unwrap();
    t.draw(|f| view(app, f)).unwrap();
    t
}

/// Dates move with the clock, and a secret (or its display prefix) must never
/// reach a snapshot file.
fn snapshot(name: &str, app: &App) {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d{2}-\d{2}", "YYYY-MM-DD");
    settings.add_filter(r"\b\d+(s|m|h) ago", "[age]");
    settings.add_filter(r"opsdeck_t_\d+_\d+", "[db]");
    // Same widths as what they hide, so the layout in the snapshot is the real one.
    settings.add_filter(
        r"sk_live_[0-9A-Za-z]{38}\b",
        format!("sk_live_{}", "•".repeat(38)),
    );
    settings.add_filter(r"sk_live_[0-9A-Za-z]{8}\b", "sk_live_********");
    settings.bind(|| insta::assert_snapshot!(name.to_string(), draw(app).backend()));
}

fn the_key(screen: &str) -> Option<String> {
    screen
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| w.starts_with("sk_live_") && w.len() == 46)
        .map(str::to_string)
}

#[tokio::test]
async fn list_renders_with_states_and_filters_by_state() {
    let db = fixture().await;
    let mut h = Harness::new(&db, (80, 24), Box::new(KeysScreen::new())).await;
    let s = h.screen();
    for name in ["active", "expiring", "revoked", "expired"] {
        assert!(s.contains(name), "{name} in {s}");
    }
    snapshot("keys_list_80x24", &h.app);
    h.key(KeyCode::Char('/')).await;
    h.keys("state:expiring").await;
    h.key(KeyCode::Enter).await;
    let s = h.screen();
    assert!(
        s.contains("sk_live_old3") && !s.contains("sk_live_old4"),
        "{s}"
    );
    let small = Harness::new(&db, (40, 12), Box::new(KeysScreen::new())).await;
    snapshot("keys_list_40x12", &small.app);
}

#[tokio::test]
async fn create_shows_the_key_once_then_copy_masks_it_and_close_clears_the_clipboard() {
    let db = fixture().await;
    let mut h = Harness::new(&db, (80, 24), Box::new(KeysScreen::new())).await;
    h.key(KeyCode::Char('n')).await;
    // Keys go to the form while it is open: `q` is a letter here, not quit.
    h.keys("acme").await;
    h.key(KeyCode::Tab).await;
    h.keys("quick deploy").await;
    assert!(h.screen().contains("quick deploy"), "{}", h.screen());
    assert!(!h.app.quit);
    h.key(KeyCode::Enter).await;
    assert!(
        h.screen().contains("Create API key 'quick deploy'"),
        "{}",
        h.screen()
    );
    h.key(KeyCode::Char('y')).await;
    let shown = h.screen();
    let key = the_key(&shown).unwrap_or_else(|| panic!("no key on screen: {shown}"));
    assert!(shown.contains("shown once"), "{shown}");
    assert!(
        backend_accepts(&db, &key).await,
        "the key shown is the one stored"
    );
    snapshot("keys_secret_80x24", &h.app);
    h.key(KeyCode::Char('c')).await;
    assert_eq!(h.clipboard, std::slice::from_ref(&key));
    let masked = h.screen();
    assert!(!masked.contains(&key[16..]), "{masked}");
    assert!(masked.contains("masked for good"), "{masked}");
    snapshot("keys_secret_copied_80x24", &h.app);
    h.key(KeyCode::Esc).await;
    assert_eq!(
        h.clipboard,
        [key.clone(), String::new()],
        "closing clears the clipboard"
    );
    let after = h.screen();
    assert!(
        after.contains("quick deploy") && !after.contains(&key[16..]),
        "{after}"
    );
}

#[tokio::test]
async fn revoke_needs_the_id_typed_and_rotate_issues_a_new_key() {
    let db = fixture().await;
    let mut h = Harness::new(&db, (80, 24), Box::new(KeysScreen::new())).await;
    // The newest key (id 4, "active") is selected first.
    h.key(KeyCode::Char('r')).await;
    assert!(h.screen().contains("Rotate API key"), "{}", h.screen());
    h.key(KeyCode::Char('y')).await;
    let key = the_key(&h.screen()).expect("the rotated key is shown");
    assert!(backend_accepts(&db, &key).await);
    h.key(KeyCode::Esc).await;
    let s = h.screen();
    assert!(s.contains("replaces"), "{s}");
    // Now the replacement (id 5) is first; revoke it, typing a wrong id first.
    h.key(KeyCode::Char('x')).await;
    assert!(h.screen().contains("type '5' to confirm"), "{}", h.screen());
    h.keys("4").await;
    h.key(KeyCode::Enter).await;
    assert!(
        backend_accepts(&db, &key).await,
        "a wrong id changes nothing"
    );
    h.key(KeyCode::Esc).await;
    h.key(KeyCode::Char('x')).await;
    h.keys("5").await;
    h.key(KeyCode::Enter).await;
    assert!(!backend_accepts(&db, &key).await, "revoked");
    assert!(h.screen().contains("revoked"), "{}", h.screen());
}

#[tokio::test]
async fn a_tenant_opens_its_own_keys() {
    let db = fixture().await;
    let mut h = Harness::new(&db, (80, 24), Box::new(TenantsScreen::new())).await;
    // Tenants sort by id: acme (1) first, then globex (2), which has the keys.
    h.key(KeyCode::Char('j')).await;
    h.key(KeyCode::Char('K')).await;
    let s = h.screen();
    assert!(
        s.contains("keys · tenant globex") && s.contains("sk_live_old4"),
        "{s}"
    );
    h.key(KeyCode::Esc).await;
    h.key(KeyCode::Char('k')).await;
    h.key(KeyCode::Char('K')).await;
    let s = h.screen();
    assert!(
        s.contains("keys · tenant acme") && !s.contains("sk_live_old"),
        "{s}"
    );
}
