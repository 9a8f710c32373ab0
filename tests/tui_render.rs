//! Render snapshots of the shell and the overview (ratatui TestBackend +
//! insta) at 80x24 and 40x12 in the dark, light and mono themes, plus the
//! overlays. Theme snapshots keep the styles (the buffer's Debug form), the
//! others only the text. Volatile text (ages, versions, hosts, ports) is
//! filtered even though the fixtures are fixed.

mod common;

use common::cockpit::{app, context, filters};
use common::screens::draw;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::conn::Secret;
use opsdeck::safety::{Intent, Mutation, Risk};
use opsdeck::tui::app::App;
use opsdeck::tui::cmd::{Cmd, PendingOp};
use opsdeck::tui::env::Env;
use opsdeck::tui::msg::{ConnInfo, Msg, PgInfo};
use std::time::{Duration, Instant};

/// A test-only plan: just the intent to approve.
struct Probe(Intent);

impl Mutation for Probe {
    fn intent(&self) -> &Intent {
        &self.0
    }
}

macro_rules! styled {
    ($name:expr, $term:expr) => {
        insta::with_settings!({filters => filters()}, {
            insta::assert_debug_snapshot!($name, $term.backend().buffer());
        })
    };
}

macro_rules! text {
    ($name:expr, $term:expr) => {
        insta::with_settings!({filters => filters()}, {
            insta::assert_snapshot!($name, $term.backend());
        })
    };
}

#[test]
fn overview_in_every_theme_and_size() {
    for theme in ["dark", "light", "mono"] {
        for (w, h) in [(80, 24), (40, 12)] {
            let t = draw(&app(theme, (w, h), false));
            styled!(format!("overview_{theme}_{w}x{h}"), t);
        }
    }
}

#[test]
fn overview_figures_carry_their_level() {
    let t = draw(&app("dark", (80, 24), false));
    let buf = t.backend().buffer();
    let text: Vec<String> = (0..24)
        .map(|y| (0..80).map(|x| buf[(x, y)].symbol().to_string()).collect())
        .collect();
    let row = text
        .iter()
        .position(|l| l.contains("Longest xact"))
        .unwrap() as u16;
    let line = &text[row as usize];
    let x = line[..line.find("75.0 s").unwrap()].chars().count() as u16;
    let theme = opsdeck::tui::theme::Theme::builtin("dark").unwrap();
    assert_eq!(
        buf[(x, row)].fg,
        theme.warn().fg.unwrap(),
        "75 s transaction is a warning"
    );
}

#[test]
fn shell_overlays_and_banners() {
    let mut a = app("dark", (80, 24), true);
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('?'),
        KeyModifiers::NONE,
    )));
    text!("shell_help_80x24", draw(&a));

    let mut a = app("mono", (80, 24), false);
    for c in ":ctx".chars() {
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::NONE,
        )));
    }
    text!("shell_command_bar_80x24", draw(&a));

    let mut a = app("dark", (40, 12), false);
    a.update(Msg::Connected(Err("connection refused".into())));
    text!("shell_lost_40x12", draw(&a));

    let mut a = app("mono", (80, 24), false);
    let op = PendingOp::new(
        Probe(Intent::new(
            "cache.invalidate",
            "t:42:*",
            Risk::Destructive,
            "Delete 1,204 keys matching t:42:*.",
        )),
        "invalidating",
        |_cx, _guard| async { Msg::Status(Ok("done".into())) },
    );
    a.absorb(vec![Cmd::Confirm(op)]);
    text!("shell_confirm_destructive_80x24", draw(&a));

    let mut a = app("dark", (80, 24), true);
    let op = PendingOp::new(
        Probe(Intent::new(
            "tenants.suspend",
            "acme",
            Risk::Mutating,
            "Suspend tenant acme.",
        )),
        "suspending",
        |_cx, _guard| async { Msg::Status(Ok("done".into())) },
    );
    a.absorb(vec![Cmd::Confirm(op)]);
    text!("shell_confirm_read_only_80x24", draw(&a));

    let mut a = app("dark", (80, 24), false);
    a.absorb(vec![Cmd::ShowSecret {
        title: "new API key".into(),
        secret: Secret::new("sk_live_0123456789abcdefghijklmnopqrstu"),
    }]);
    text!("shell_secret_80x24", draw(&a));
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('c'),
        KeyModifiers::NONE,
    )));
    let t = draw(&a);
    let screen = format!("{}", t.backend());
    assert!(!screen.contains("sk_live"), "masked after copy: {screen}");

    let mut a = app("dark", (80, 24), false);
    a.absorb(vec![Cmd::Progress {
        key: "op:1".into(),
        label: "restoring".into(),
    }]);
    a.update(Msg::Progress {
        key: "op:1".into(),
        done: 3,
        total: Some(10),
        note: "table 3 of 10".into(),
    });
    a.update(Msg::Tick(a.now + Duration::from_millis(2500)));
    text!("shell_progress_80x24", draw(&a));
}

/// The header line of an app connected to `target` as `role`, at `width`.
fn header_at(width: u16, role: &str, target: &str) -> String {
    let mut a = app("mono", (width, 24), false);
    a.update(Msg::Connected(Ok(ConnInfo {
        pg: Some(PgInfo {
            target: target.into(),
            server_version: "15.20 (Debian 15.20-0+deb12u1)".into(),
            role: role.into(),
        }),
        ..ConnInfo::default()
    })));
    let t = draw(&a);
    let buf = t.backend().buffer();
    (0..width).map(|x| buf[(x, 0)].symbol()).collect::<String>()
}

#[test]
fn header_shows_the_short_version_and_shortens_the_target() {
    let long = "postgres@db-primary.eu-west-1.internal.example.com:5432/opsdeck_demo";
    let left = " opsdeck │ local │ ● up │ 0s ago │ ";
    let h = header_at(80, "postgres", "postgres@127.0.0.1:5432/opsdeck_demo");
    assert_eq!(
        h.trim_end(),
        format!("{left}pg 15.20 postgres@127.0.0.1:5432/opsdeck_demo")
    );
    // The target keeps its start and its database, around an ellipsis.
    assert_eq!(
        header_at(80, "postgres", long),
        format!("{left}pg 15.20 postgres@db-primary.eu…/opsdeck_demo")
    );
    assert_eq!(
        header_at(80, "app_admin", "postgres@127.0.0.1:5432/app").trim_end(),
        format!("{left}pg 15.20 as app_admin postgres@127.…:5432/app")
    );
    // Too little room for a readable target: the version alone, then nothing.
    assert_eq!(
        header_at(48, "postgres", long).trim_end(),
        format!("{left}pg 15.20")
    );
    assert_eq!(
        header_at(40, "postgres", long).trim_end(),
        " opsdeck │ local │ ● up │ 0s ago"
    );
}

#[test]
fn popups_fit_at_40x12_and_keep_their_keys() {
    let long = "Delete 120,431 keys matching t:42:* on redis cache.example:6379/0 across \
                3 masters; they are gone for good and every tenant-42 page is rebuilt \
                from Postgres on its next read.";
    for (risk, read_only) in [
        (Risk::Mutating, false),
        (Risk::Destructive, false),
        (Risk::Destructive, true),
    ] {
        let mut a = app("mono", (40, 12), read_only);
        a.absorb(vec![Cmd::Confirm(PendingOp::new(
            Probe(Intent::new("cache.invalidate", "t:42:*", risk, long)),
            "invalidating",
            |_cx, _guard| async { Msg::Status(Ok("done".into())) },
        ))]);
        let screen = format!("{}", draw(&a).backend());
        if read_only {
            assert!(screen.contains("any key closes"), "{screen}");
        } else {
            assert!(screen.contains("[ Cancel ]"), "default Cancel: {screen}");
            assert!(screen.contains(" esc cancel"), "footer: {screen}");
        }
        if risk == Risk::Destructive && !read_only {
            assert!(screen.contains("type 't:42:*' to confirm:"), "{screen}");
            text!("shell_confirm_destructive_40x12", draw(&a));
        }
        if risk == Risk::Mutating {
            assert!(
                screen.contains("its next read."),
                "all of it fits: {screen}"
            );
        } else {
            assert!(screen.contains('…'), "the cut text is marked: {screen}");
        }
    }

    let value = "sk_live_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";
    let mut a = app("mono", (40, 12), false);
    a.absorb(vec![Cmd::ShowSecret {
        title: "new API key".into(),
        secret: Secret::new(value),
    }]);
    let t = draw(&a);
    let buf = t.backend().buffer();
    let inside: String = (0..12)
        .flat_map(|y| (0..40).map(move |x| (x, y)))
        .map(|(x, y)| buf[(x, y)].symbol().to_string())
        .filter(|c| c != "│" && c != " ")
        .collect();
    assert!(inside.contains(value), "the whole value: {inside}");
    assert!(format!("{}", t.backend()).contains("c copy (and mask)"));

    let mut a = app("mono", (40, 12), false);
    a.absorb(vec![Cmd::Progress {
        key: "op:1".into(),
        label: "restoring".into(),
    }]);
    assert!(format!("{}", draw(&a).backend()).contains("esc cancel"));

    let mut a = app("mono", (40, 12), false);
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('?'),
        KeyModifiers::NONE,
    )));
    let screen = format!("{}", draw(&a).backend());
    assert!(screen.contains("1-7/36 j/k scroll"), "{screen}");
    for _ in 0..35 {
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char('j'),
            KeyModifiers::NONE,
        )));
    }
    let screen = format!("{}", draw(&a).backend());
    assert!(
        screen.contains("30-36/36"),
        "scrolled to the end, no further: {screen}"
    );
    assert!(
        screen.contains(":cache") && screen.contains(":messages"),
        "the screens come last: {screen}"
    );
}

#[test]
fn tiny_terminals_do_not_panic() {
    for (w, h) in [(40, 12), (20, 6), (1, 1), (0, 0), (200, 3)] {
        let mut a = app("dark", (w, h), false);
        draw(&a);
        a.update(Msg::Key(KeyEvent::new(
            KeyCode::Char('?'),
            KeyModifiers::NONE,
        )));
        draw(&a);
    }
}

#[tokio::test]
async fn audit_screen_lists_entries_in_the_paged_table() {
    use opsdeck::config::{Config, ContextOverrides, Paths};
    use opsdeck::safety::Approval;
    use opsdeck::session::Session;
    use opsdeck::tui::cmd::TaskCx;
    use opsdeck::tui::screens::audit::AuditScreen;
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let session = Arc::new(
        Session::new(
            Config::default(),
            Paths::under(dir.path().to_path_buf()),
            None,
            &ContextOverrides::default(),
        )
        .unwrap(),
    );
    let safety = session.safety().await;
    for (action, target, approval) in [
        ("tenants.suspend", "acme", Approval::Confirmed),
        (
            "cache.invalidate",
            "t:42:*",
            Approval::Typed("t:42:*".into()),
        ),
        ("keys.revoke", "key_9", Approval::Declined),
    ] {
        let risk = if action == "tenants.suspend" {
            Risk::Mutating
        } else {
            Risk::Destructive
        };
        if let Ok(g) = safety
            .authorize(Probe(Intent::new(action, target, risk, "x")), approval)
            .await
        {
            g.run(|_, _| async { Ok(()) }, |_| serde_json::Value::Null)
                .await
                .unwrap();
        }
    }
    let (mut app, cmds) = App::with_screen(
        Env::test_env_with_theme("mono"),
        context(false),
        Instant::now(),
        (80, 24),
        Box::new(AuditScreen::new()),
    );
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut queue: std::collections::VecDeque<Cmd> = cmds.into();
    while let Some(c) = queue.pop_front() {
        if let Cmd::Task { key, run, name } = c {
            if name == "probe" {
                continue;
            }
            let msg = run(TaskCx::new(
                session.clone(),
                key.clone(),
                tx.clone(),
                opsdeck::stop::Stop::new(),
            ))
            .await;
            queue.extend(app.update(Msg::Reply {
                epoch: 0,
                key,
                msg: Box::new(msg),
            }));
        }
    }
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "[time]             ");
    settings.add_filter(r"\b\d+ms\b", "[ms]");
    settings.add_filter(r"\S+@\S+", "[actor]");
    settings.bind(|| insta::assert_snapshot!("audit_80x24", draw(&app).backend()));
    let screen = format!("{}", draw(&app).backend());
    for action in ["cache.invalidate", "tenants.suspend"] {
        assert!(screen.contains(action), "{action} shown whole\n{screen}");
    }
    assert!(
        screen.contains("refused") && screen.contains("keys.revoke"),
        "{screen}"
    );
    assert!(screen.contains("1/3"), "position and total: {screen}");
}
