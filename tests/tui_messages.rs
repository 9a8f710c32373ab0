//! The status line's life, driven through `App::update`: a result line
//! expires after a few seconds or at the next key, an error stays until a
//! key, and `:messages` lists both, newest first.

mod common;

use common::cockpit::app;
use common::screens::draw;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::tui::app::Mode;
use opsdeck::tui::msg::Msg;
use std::time::Duration;

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

#[test]
fn results_expire_errors_stay_until_read_and_messages_keeps_both() {
    let mut a = app("mono", (80, 24), false);
    a.update(Msg::Status(Ok("suspended acme".into())));
    a.update(Msg::Tick(a.now + Duration::from_secs(2)));
    assert_eq!(a.status.as_ref().unwrap().text, "suspended acme");
    a.update(Msg::Tick(a.now + Duration::from_secs(4)));
    assert!(a.status.is_none(), "a result line goes after a few seconds");

    a.update(Msg::Status(Err("cannot connect to redis".into())));
    a.update(Msg::Tick(a.now + Duration::from_secs(60)));
    assert!(a.status.as_ref().unwrap().error, "an error stays");
    a.update(key('j'));
    assert!(a.status.is_none(), "a key says it was read");

    for c in ":messages".chars() {
        a.update(key(c));
    }
    a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(matches!(a.mode, Mode::Messages));
    let s = format!("{}", draw(&a).backend());
    let error = s
        .find("cannot connect to redis")
        .expect("the error is listed");
    let result = s.find("suspended acme").expect("the result is listed");
    assert!(error < result, "newest first: {s}");
    assert!(s.contains(" messages "), "{s}");
    a.update(key('x'));
    assert!(matches!(a.mode, Mode::Normal), "any key closes it");
}

#[test]
fn a_paste_goes_into_the_line_being_edited() {
    let mut a = app("mono", (80, 24), false);
    a.update(key(':'));
    a.update(Msg::Paste("aud\nit".into()));
    match &a.mode {
        Mode::Command(bar) => assert_eq!(bar.text(), "aud it"),
        _ => panic!("bar closed"),
    }
    a.update(Msg::Key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)));
    // Outside a text input a paste does nothing (no keys run as actions).
    let before = a.screen_ids();
    a.update(Msg::Paste("q".into()));
    assert!(!a.quit);
    assert_eq!(a.screen_ids(), before);
}
