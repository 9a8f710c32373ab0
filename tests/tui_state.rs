//! State tests for the TUI: drive `App::update` and the paged table with
//! messages, run the effects they return, and assert state. No terminal.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use opsdeck::config::{Config, ContextOverrides, Paths, Thresholds};
use opsdeck::session::Session;
use opsdeck::tui::app::{App, ConnState, Mode};
use opsdeck::tui::cmd::{BoxFuture, Cmd, TaskCx};
use opsdeck::tui::env::Env;
use opsdeck::tui::keymap::Global;
use opsdeck::tui::msg::{ContextInfo, Msg};
use opsdeck::tui::screens::{Cx, ScreenId};
use opsdeck::tui::widgets::table::{
    Anchor, Column, Keyed, Msg as TableMsg, Page, PageRequest, PagedSource, PagedTable, TableRow,
    PAGE_SIZE, WINDOW_PAGES,
};
use ratatui::layout::Constraint;
use std::sync::Arc;
use std::time::Instant;

fn session() -> (tempfile::TempDir, Arc<Session>) {
    let dir = tempfile::tempdir().unwrap();
    let s = Session::new(
        Config::default(),
        Paths::under(dir.path().to_path_buf()),
        None,
        &ContextOverrides::default(),
    )
    .unwrap();
    (dir, Arc::new(s))
}

fn context() -> ContextInfo {
    ContextInfo {
        name: "local".into(),
        read_only: false,
        has_pg: false,
        has_redis: false,
        thresholds: Thresholds::default(),
    }
}

/// Runs the task effects against the session and returns their messages,
/// wrapped the way the runtime wraps them (epoch 0).
async fn run(session: &Arc<Session>, cmds: Vec<Cmd>) -> Vec<Msg> {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut out = Vec::new();
    for c in cmds {
        if let Cmd::Task { key, run, .. } = c {
            let cx = TaskCx::new(
                session.clone(),
                key.clone(),
                tx.clone(),
                opsdeck::stop::Stop::new(),
            );
            out.push(Msg::Reply {
                epoch: 0,
                key,
                msg: Box::new(run(cx).await),
            });
        }
    }
    out
}

fn key(c: char) -> Msg {
    Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn names(cmds: &[Cmd]) -> Vec<String> {
    cmds.iter().map(|c| c.name()).collect()
}

fn app() -> (App, Vec<Cmd>) {
    App::new(Env::test_env(), context(), Instant::now(), (80, 24))
}

#[tokio::test]
async fn starts_on_overview_loading_and_probing() {
    let (app, cmds) = app();
    assert_eq!(app.screen_ids(), vec![ScreenId::Overview]);
    assert_eq!(names(&cmds), vec!["task:overview.collect", "task:probe"]);
    assert_eq!(app.conn, ConnState::Connecting);
}

#[tokio::test]
async fn command_bar_completes_opens_screens_and_remembers() {
    let (_dir, session) = session();
    let (mut app, cmds) = app();
    for m in run(&session, cmds).await {
        app.update(m);
    }
    app.update(key(':'));
    assert!(matches!(app.mode, Mode::Command(_)));
    app.update(key('a'));
    app.update(key('u'));
    app.update(code(KeyCode::Tab));
    match &app.mode {
        Mode::Command(bar) => assert_eq!(bar.text(), "audit"),
        _ => panic!("bar closed"),
    }
    let cmds = app.update(code(KeyCode::Enter));
    assert_eq!(app.screen_ids(), vec![ScreenId::Overview, ScreenId::Audit]);
    assert_eq!(names(&cmds), vec!["task:table.page"]);
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.history, vec!["audit"]);

    // Esc goes back, cancelling what the audit screen still runs; the overview refreshes.
    let cmds = app.update(code(KeyCode::Esc));
    assert_eq!(app.screen_ids(), vec![ScreenId::Overview]);
    assert_eq!(
        names(&cmds),
        vec!["abort-screen:audit", "task:overview.collect"]
    );
    // While that collection runs, another refresh waits for it (coalesced).
    let again = app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('r'),
        KeyModifiers::CONTROL,
    )));
    assert!(again.is_empty(), "{again:?}");

    // History: up recalls the last command.
    app.update(key(':'));
    app.update(code(KeyCode::Up));
    match &app.mode {
        Mode::Command(bar) => assert_eq!(bar.text(), "audit"),
        _ => panic!("bar closed"),
    }
    app.update(code(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Normal));

    // An unknown command leaves an error on the status line.
    for c in ":nope".chars() {
        app.update(key(c));
    }
    app.update(code(KeyCode::Enter));
    let status = app.status.clone().unwrap();
    assert!(
        status.error && status.text.contains("unknown command"),
        "{status:?}"
    );

    // :ctx NAME asks the runtime for a new session.
    for c in ":ctx prod".chars() {
        app.update(key(c));
    }
    let cmds = app.update(code(KeyCode::Enter));
    assert_eq!(names(&cmds), vec!["ctx:prod"]);
}

#[tokio::test]
async fn quit_help_and_pause() {
    let (mut app, _) = app();
    app.update(key('?'));
    assert!(matches!(app.mode, Mode::Help(0)));
    app.update(key('x'));
    assert!(matches!(app.mode, Mode::Normal), "any key closes help");
    app.update(key('p'));
    assert!(app.paused);
    app.update(key('q'));
    assert!(app.quit);
}

#[tokio::test]
async fn filter_goes_to_the_screen_and_esc_clears_it() {
    let (_dir, session) = session();
    let (mut app, _) = app();
    for c in ":audit\r".chars() {
        if c == '\r' {
            app.update(code(KeyCode::Enter));
        } else {
            app.update(key(c));
        }
    }
    app.update(key('/'));
    assert!(matches!(app.mode, Mode::Filter(_)));
    let cmds = app.update(key('x'));
    assert_eq!(names(&cmds), vec!["task:table.page"]);
    assert_eq!(app.screen().unwrap().filter_text(), Some("x"));
    // The reply for "x" arrives and is applied.
    for m in run(&session, cmds).await {
        app.update(m);
    }
    app.update(code(KeyCode::Esc));
    assert!(matches!(app.mode, Mode::Normal));
    assert_eq!(app.screen().unwrap().filter_text(), Some(""));
    // On the overview there is nothing to filter: an error, not a mode.
    app.update(code(KeyCode::Esc));
    app.update(key('/'));
    assert!(matches!(app.mode, Mode::Normal));
    assert!(app.status.as_ref().unwrap().error);
}

#[tokio::test]
async fn replies_from_an_old_session_are_dropped() {
    let (_dir, session) = session();
    let (mut app, cmds) = app();
    let replies = run(&session, cmds).await;
    // A context switch happened meanwhile (epoch 1).
    app.update(Msg::ContextReady {
        epoch: 1,
        info: ContextInfo {
            name: "prod".into(),
            ..context()
        },
        theme: None,
    });
    assert_eq!(app.context.name, "prod");
    for m in replies {
        app.update(m);
        assert!(!app.dirty, "a stale reply must not even redraw");
    }
    assert_eq!(app.conn, ConnState::Connecting);
}

#[tokio::test]
async fn connection_loss_shows_and_reconnects_with_backoff() {
    let (mut app, _) = app();
    let t0 = app.now;
    app.update(Msg::Connected(Err("server closed the connection".into())));
    assert!(matches!(app.conn, ConnState::Lost { attempt: 0, .. }));
    let cmds = app.update(Msg::Tick(t0 + std::time::Duration::from_millis(500)));
    assert!(!names(&cmds).contains(&"reconnect".to_string()));
    let cmds = app.update(Msg::Tick(t0 + std::time::Duration::from_secs(2)));
    assert!(names(&cmds).contains(&"reconnect".to_string()), "{cmds:?}");
    app.update(Msg::Connected(Err("still down".into())));
    assert!(matches!(app.conn, ConnState::Lost { attempt: 1, .. }));
    app.update(Msg::Connected(Ok(Default::default())));
    assert!(matches!(app.conn, ConnState::Up(_)));
    assert_eq!(app.status.as_ref().unwrap().text, "reconnected");
}

/// Rows 0..n of a virtual source, for paging tests without a server.
struct Numbers {
    n: u64,
}

#[derive(Debug, Clone, PartialEq)]
struct Num(u64);

impl TableRow for Num {
    fn cells(&self) -> Vec<String> {
        vec![self.0.to_string()]
    }
}

impl PagedSource for Numbers {
    type Row = Num;
    fn fetch(&self, _s: Arc<Session>, req: PageRequest) -> BoxFuture<opsdeck::Result<Page<Num>>> {
        let n = self.n;
        Box::pin(async move {
            let limit = req.limit as u64;
            let (from, to) = match req.anchor {
                Anchor::First => (0, limit.min(n)),
                Anchor::After(c) => {
                    let c: u64 = c.parse().unwrap();
                    (c + 1, (c + 1 + limit).min(n))
                }
                Anchor::Before(c) => {
                    let c: u64 = c.parse().unwrap();
                    (c.saturating_sub(limit), c)
                }
                Anchor::Last => (n.saturating_sub(limit), n),
            };
            Ok(Page {
                rows: (from..to)
                    .map(|i| Keyed {
                        cursor: i.to_string(),
                        row: Num(i),
                    })
                    .collect(),
                total: Some(n),
            })
        })
    }
}

thread_local! {
    /// Table messages the tests' `wrap` caught; per thread because each
    /// `#[tokio::test]` runs on its own thread.
    static SLOT: std::cell::RefCell<Vec<TableMsg<Num>>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn wrap(m: TableMsg<Num>) -> Msg {
    SLOT.with(|s| s.borrow_mut().push(m));
    Msg::Status(Ok("page".into()))
}

fn caught() -> Vec<TableMsg<Num>> {
    SLOT.with(|s| s.borrow_mut().drain(..).collect())
}

async fn pump(
    session: &Arc<Session>,
    table: &mut PagedTable<Numbers>,
    cx: &Cx<'_>,
    mut cmds: Vec<Cmd>,
) {
    while !cmds.is_empty() {
        let _ = run(session, std::mem::take(&mut cmds)).await;
        for m in caught() {
            let (_, more) = table.update(m, cx);
            cmds.extend(more);
        }
    }
}

fn cx<'a>(env: &'a Env, ctx: &'a ContextInfo) -> Cx<'a> {
    Cx {
        env,
        context: ctx,
        now: Instant::now(),
        body_rows: 20,
        focused: true,
    }
}

#[tokio::test]
async fn paged_table_scrolls_a_million_rows_with_bounded_memory() {
    let (_dir, session) = session();
    let (env, ctx) = (Env::test_env(), context());
    let cx = cx(&env, &ctx);
    let mut t = PagedTable::new(
        "numbers",
        Numbers { n: 1_000_000 },
        vec![Column::new("n", Some("n"), Constraint::Min(5))],
        wrap,
    );
    let cmds = t.load();
    pump(&session, &mut t, &cx, cmds).await;
    assert_eq!(t.selected(), Some(&Num(0)));
    // Scroll down 5,000 pages of 18 rows, fetching as the table asks.
    for _ in 0..5_000 {
        let cmds = t.nav(Global::PageDown, &cx).unwrap();
        pump(&session, &mut t, &cx, cmds).await;
        assert!(
            t.loaded_rows() <= PAGE_SIZE * WINDOW_PAGES,
            "window grew to {}",
            t.loaded_rows()
        );
    }
    assert_eq!(t.selected(), Some(&Num(90_000)));
    assert_eq!(t.position(), Some(90_000));
    // Back up across dropped pages: they are fetched again by cursor.
    for _ in 0..100 {
        let cmds = t.nav(Global::PageUp, &cx).unwrap();
        pump(&session, &mut t, &cx, cmds).await;
    }
    assert_eq!(t.selected(), Some(&Num(88_200)));
    assert!(t.loaded_rows() <= PAGE_SIZE * WINDOW_PAGES);
    // G jumps to the end with a keyset "last page" request.
    let cmds = t.nav(Global::Bottom, &cx).unwrap();
    pump(&session, &mut t, &cx, cmds).await;
    assert_eq!(t.selected(), Some(&Num(999_999)));
    assert_eq!(t.position(), Some(999_999));
    let cmds = t.nav(Global::Up, &cx).unwrap();
    pump(&session, &mut t, &cx, cmds).await;
    assert_eq!(t.selected(), Some(&Num(999_998)));
    // g back to the top.
    let cmds = t.nav(Global::Top, &cx).unwrap();
    pump(&session, &mut t, &cx, cmds).await;
    assert_eq!(t.selected(), Some(&Num(0)));
}

#[tokio::test]
async fn paged_table_drops_stale_pages_by_generation() {
    let (_dir, session) = session();
    let (env, ctx) = (Env::test_env(), context());
    let cx = cx(&env, &ctx);
    let mut t = PagedTable::new(
        "numbers",
        Numbers { n: 50 },
        vec![Column::new("n", Some("n"), Constraint::Min(5))],
        wrap,
    );
    let first = t.load();
    let gen_first = t.generation();
    let second = t.set_filter("4");
    assert_ne!(gen_first, t.generation());
    let _ = run(&session, first).await;
    let stale = caught();
    let _ = run(&session, second).await;
    let fresh = caught();
    // The fresh reply lands first, then the stale one arrives late.
    for m in fresh {
        assert!(t.update(m, &cx).0);
    }
    for m in stale {
        assert!(!t.update(m, &cx).0, "a reply for an old filter was applied");
    }
    assert_eq!(t.filter_text(), "4");
    // Sorting also starts a new generation.
    let g = t.generation();
    let cmds = t.nav(Global::Sort, &cx).unwrap();
    assert_eq!(cmds.len(), 1);
    assert_ne!(g, t.generation());
}

#[tokio::test]
async fn runtime_switches_context_live_and_tags_replies() {
    use opsdeck::tui::runtime::Runtime;
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        "[contexts.a]\nread_only = false\n[contexts.b]\nread_only = true\ntheme = \"high-contrast\"\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let s = Session::new(
        config,
        Paths::under(dir.path().to_path_buf()),
        Some("a"),
        &ContextOverrides::default(),
    )
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut rt = Runtime::new(Arc::new(s), ContextOverrides::default(), true, tx);

    rt.exec(Cmd::SwitchContext("b".into()));
    let (info, theme) = match rx.recv().await {
        Some(Msg::ContextReady {
            epoch: 1,
            info,
            theme,
        }) => (info, theme),
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        theme.as_ref().map(|t| t.name.as_str()),
        Some("high-contrast"),
        "the context's own theme comes with the switch"
    );
    assert_eq!(info.name, "b");
    assert!(info.read_only);

    rt.exec(Cmd::SwitchContext("nope".into()));
    assert!(matches!(rx.recv().await, Some(Msg::ContextFailed(e)) if e.contains("nope")));

    rt.exec(Cmd::task("name", None, |cx| async move {
        Msg::Status(Ok(cx.session.ctx.name.clone()))
    }));
    match rx.recv().await {
        Some(Msg::Reply { epoch: 1, msg, .. }) => {
            assert!(matches!(*msg, Msg::Status(Ok(ref n)) if n == "b"))
        }
        other => panic!("unexpected {other:?}"),
    }

    // The app takes the new context: read-only badge source, screens rebuilt.
    let (mut app, _) = app();
    let cmds = app.update(Msg::ContextReady {
        epoch: 1,
        info,
        theme,
    });
    assert!(app.context.read_only);
    assert_eq!(app.env.theme.name, "high-contrast");
    assert_eq!(app.epoch, 1);
    assert_eq!(names(&cmds), vec!["task:probe", "task:overview.collect"]);

    // Latest wins: a task with the key of a running one replaces it.
    rt.exec(Cmd::task("slow", Some("k".into()), |_| async {
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        Msg::Status(Ok("slow".into()))
    }));
    rt.exec(Cmd::task("fast", Some("k".into()), |_| async {
        Msg::Status(Ok("fast".into()))
    }));
    match tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await {
        Ok(Some(Msg::Reply { msg, key, .. })) => {
            assert_eq!(key.as_deref(), Some("k"));
            assert!(matches!(*msg, Msg::Status(Ok(ref s)) if s == "fast"));
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn a_reconnect_restarts_loads_that_died_with_the_old_session() {
    let (mut app, cmds) = app();
    assert_eq!(names(&cmds)[0], "task:overview.collect");
    let ctrl_r = Msg::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
    assert!(
        app.update(ctrl_r).is_empty(),
        "coalesced behind the running collection"
    );
    // The runtime swapped the session (same context) and cancelled that task.
    let cmds = app.update(Msg::ContextReady {
        epoch: 1,
        info: context(),
        theme: None,
    });
    assert_eq!(names(&cmds), vec!["task:probe", "task:overview.collect"]);
}

#[tokio::test]
async fn command_line_servers_stay_with_the_context_started_with() {
    use opsdeck::tui::runtime::{overrides_for, Runtime};
    let dir = tempfile::tempdir().unwrap();
    let config = Config::parse(
        "[contexts.a]\npg = \"postgres://a-host/a\"\nredis = \"redis://a-host:6379/0\"\n\
         [contexts.b]\npg = \"postgres://b-host/b\"\nredis = \"redis://b-host:6379/1\"\n\
         [contexts.c]\n",
        std::path::Path::new("c.toml"),
    )
    .unwrap();
    let flags = ContextOverrides {
        pg: Some("postgres://flag-host/f".into()),
        redis: Some("redis://flag-host:6379/2".into()),
        read_only: true,
    };
    let s = Session::new(
        config.clone(),
        Paths::under(dir.path().to_path_buf()),
        Some("a"),
        &flags,
    )
    .unwrap();
    assert_eq!(s.ctx.pg.as_deref(), Some("postgres://flag-host/f"));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut rt = Runtime::new(Arc::new(s), flags.clone(), true, tx);
    let mut ready = async |rt: &Runtime| {
        assert!(matches!(rx.recv().await, Some(Msg::ContextReady { .. })));
        let ctx = &rt.session().ctx;
        (
            ctx.name.clone(),
            ctx.pg.clone(),
            ctx.redis.clone(),
            ctx.read_only,
        )
    };

    rt.exec(Cmd::SwitchContext("b".into()));
    let (name, pg, redis, read_only) = ready(&rt).await;
    assert_eq!(name, "b");
    assert_eq!(
        pg.as_deref(),
        Some("postgres://b-host/b"),
        "b's own Postgres"
    );
    assert_eq!(
        redis.as_deref(),
        Some("redis://b-host:6379/1"),
        "b's own Redis"
    );
    assert!(read_only, "--read-only holds for every context");

    rt.exec(Cmd::Reconnect);
    let (name, pg, ..) = ready(&rt).await;
    assert_eq!(name, "b");
    assert_eq!(
        pg.as_deref(),
        Some("postgres://b-host/b"),
        "a reconnect keeps b's"
    );

    rt.exec(Cmd::SwitchContext("a".into()));
    let (name, pg, redis, _) = ready(&rt).await;
    assert_eq!(name, "a");
    assert_eq!(
        pg.as_deref(),
        Some("postgres://flag-host/f"),
        "back to the flags"
    );
    assert_eq!(redis.as_deref(), Some("redis://flag-host:6379/2"));

    // A context without servers of its own takes none from the flags.
    let c = overrides_for(&config, "a", &flags, "c");
    assert_eq!((c.pg, c.redis, c.read_only), (None, None, true));
}
