//! The `:keys` console screen against real Postgres: the list (expiring keys
//! highlighted), the create form through the confirm popup to the one-time
//! secret view (the key the backend accepts, masked in the snapshots, masked
//! for good after `c`), revoke by typed id, and the way in from a tenant.

mod common;
mod keys_support;

use common::screens::{draw, Harness};
use common::TestDb;
use crossterm::event::KeyCode;
use keys_support::{backend_accepts, fixture};
use opsdeck::tui::app::App;
use opsdeck::tui::screens::keys::KeysScreen;
use opsdeck::tui::screens::tenants::TenantsScreen;
use opsdeck::tui::screens::Screen;

async fn harness(db: &TestDb, size: (u16, u16), first: Box<dyn Screen>) -> Harness {
    Harness::new(&format!("[contexts.t]\npg = \"{}\"\n", db.url), size, first).await
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
    let mut h = harness(&db, (80, 24), Box::new(KeysScreen::new())).await;
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
    let small = harness(&db, (40, 12), Box::new(KeysScreen::new())).await;
    snapshot("keys_list_40x12", &small.app);
}

#[tokio::test]
async fn create_shows_the_key_once_then_copy_masks_it_and_close_clears_the_clipboard() {
    let db = fixture().await;
    let mut h = harness(&db, (80, 24), Box::new(KeysScreen::new())).await;
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
    let mut h = harness(&db, (80, 24), Box::new(KeysScreen::new())).await;
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
    let mut h = harness(&db, (80, 24), Box::new(TenantsScreen::new())).await;
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
