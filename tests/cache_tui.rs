//! The `:cache` screen: state transitions driven through `update`/`nav`/
//! `action`, and render snapshots (ratatui TestBackend + insta) of the stats
//! panel with the prefix tree, the expanded tree with a key list, and a key's
//! detail. Fixtures are fixed data; no server is needed.

use opsdeck::cache::page::KeysPage;
use opsdeck::cache::stats::{summarize, Sampled, Totals};
use opsdeck::cache::window::Window;
use opsdeck::cache::{
    CacheStats, DbKeys, KeyEntry, KeySizes, KeyValue, NodeStats, Plan, PrefixNode,
};
use opsdeck::config::{CacheLayout, Thresholds};
use opsdeck::tui::cmd::Cmd;
use opsdeck::tui::env::Env;
use opsdeck::tui::keymap::Global;
use opsdeck::tui::msg::ContextInfo;
use opsdeck::tui::screens::cache::{Action, CacheScreen, Focus, Msg};
use opsdeck::tui::screens::{Cx, LoadState, Screen, ScreenAction, ScreenMsg};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use std::time::Instant;

fn context() -> ContextInfo {
    ContextInfo {
        name: "local".into(),
        read_only: false,
        has_pg: false,
        has_redis: true,
        thresholds: Thresholds::default(),
    }
}

fn sampled() -> Vec<Sampled> {
    let mut out = Vec::new();
    for t in 1..=12u64 {
        for n in 0..(40 / t) {
            out.push(Sampled {
                key: format!("t:{t}:user:{n}"),
                ttl_ms: Some(300_000),
                memory_bytes: Some(120),
            });
        }
        out.push(Sampled {
            key: format!("t:{t}:invoice:1"),
            ttl_ms: Some(7_200_000),
            memory_bytes: Some(2_048),
        });
    }
    for n in 0..5 {
        out.push(Sampled {
            key: format!("tag:plan-{n}"),
            ttl_ms: None,
            memory_bytes: Some(600),
        });
    }
    out.push(Sampled {
        key: "feature-flags".into(),
        ttl_ms: None,
        memory_bytes: Some(300),
    });
    out
}

fn stats() -> CacheStats {
    stats_of(sampled())
}

fn stats_of(sampled: Vec<Sampled>) -> CacheStats {
    let layout = CacheLayout::default();
    let node = NodeStats {
        addr: "cache.example:6379".into(),
        redis_version: Some("7.2.4".into()),
        role: Some("master".into()),
        uptime_ms: Some(86_400_000),
        used_memory_bytes: Some(42 << 20),
        used_memory_peak_bytes: Some(50 << 20),
        maxmemory_bytes: Some(256 << 20),
        maxmemory_policy: Some("allkeys-lru".into()),
        mem_fragmentation_ratio: Some(1.12),
        keyspace_hits: Some(930),
        keyspace_misses: Some(70),
        hit_ratio: Some(0.93),
        evicted_keys: Some(0),
        expired_keys: Some(1200),
        instantaneous_ops_per_sec: Some(1500),
        connected_clients: Some(12),
        dbs: vec![DbKeys {
            db: 0,
            keys: 52_000,
            expires: 40_000,
            avg_ttl_ms: 300_000,
        }],
    };
    CacheStats {
        target: "cache.example:6379/0".into(),
        cluster: false,
        totals: Totals {
            used_memory_bytes: 42 << 20,
            keys: 52_000,
            keys_with_ttl: 40_000,
            keyspace_hits: 930,
            keyspace_misses: 70,
            hit_ratio: Some(0.97),
            hit_ratio_lifetime: Some(0.97),
            evicted_keys: 0,
            expired_keys: 1200,
            instantaneous_ops_per_sec: 9_999,
            connected_clients: 12,
        },
        window: Some(Window {
            window_ms: 10_000,
            keyspace_hits: 930,
            keyspace_misses: 70,
            hit_ratio: Some(0.93),
            commands: 15_000,
            ops_per_sec: 1500.0,
        }),
        nodes: vec![node],
        slowlog: Vec::new(),
        sample: summarize(&sampled, &layout, true),
        notes: Vec::new(),
        tree: PrefixNode::build(
            sampled
                .iter()
                .map(|s| (s.key.as_str(), s.memory_bytes.unwrap_or(0))),
            ":",
        ),
        info_sample: None,
    }
}

fn entry(key: &str, kind: &str, ttl: Option<i64>, mem: u64) -> KeyEntry {
    KeyEntry {
        key: key.into(),
        sizes: Some(KeySizes {
            kind: kind.into(),
            ttl_ms: ttl,
            memory_bytes: Some(mem),
        }),
        raw: key.as_bytes().to_vec(),
    }
}

struct Rig {
    env: Env,
    ctx: ContextInfo,
    now: Instant,
    screen: CacheScreen,
}

impl Rig {
    /// A screen that has entered and received the fixture stats.
    fn loaded() -> Rig {
        let mut r = Rig {
            env: Env::test_env_with_theme("mono"),
            ctx: context(),
            now: Instant::now(),
            screen: CacheScreen::new(),
        };
        let cmds = r.with(|s, cx| s.enter(cx));
        assert_eq!(names(&cmds), vec!["task:cache.stats"]);
        let gen = r.screen.stats_gen();
        r.msg(Msg::Stats {
            gen,
            result: Box::new(Ok((stats(), ":".into()))),
        });
        r
    }

    fn with<T>(&mut self, f: impl FnOnce(&mut CacheScreen, &Cx) -> T) -> T {
        let cx = Cx {
            env: &self.env,
            context: &self.ctx,
            now: self.now,
            body_rows: 20,
            focused: true,
        };
        f(&mut self.screen, &cx)
    }

    fn msg(&mut self, m: Msg) -> Vec<Cmd> {
        self.with(|s, cx| s.update(ScreenMsg::Cache(m), cx))
    }

    fn nav(&mut self, n: Global) -> Vec<Cmd> {
        self.with(|s, cx| s.nav(n, cx)).unwrap_or_default()
    }

    fn action(&mut self, a: Action) -> Vec<Cmd> {
        self.with(|s, cx| s.action(ScreenAction::Cache(a), cx))
    }

    fn draw(&self, w: u16, h: u16) -> Terminal<TestBackend> {
        let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
        let cx = Cx {
            env: &self.env,
            context: &self.ctx,
            now: self.now,
            body_rows: h,
            focused: true,
        };
        t.draw(|f| self.screen.render(f, f.area(), &cx)).unwrap();
        t
    }

    /// Expands `t` and `t:*`, then opens the keys under `t:*:user`.
    fn with_keys() -> Rig {
        let mut r = Rig::loaded();
        r.nav(Global::Right);
        r.nav(Global::Down);
        r.nav(Global::Right);
        // Largest memory first: t:*:invoice, then t:*:user.
        r.nav(Global::Down);
        r.nav(Global::Down);
        let cmds = r.nav(Global::Enter);
        assert_eq!(names(&cmds), vec!["task:cache.keys"]);
        let gen = r.screen.keys_gen().unwrap();
        r.msg(Msg::Keys {
            gen,
            append: false,
            result: Ok(complete(vec![
                entry("t:1:user:0", "string", Some(299_000), 120),
                entry("t:1:user:1", "hash", None, 480),
                entry("t:2:user:0", "string", Some(12_000), 120),
            ])),
        });
        r
    }
}

/// A listing's only page: every key it has.
fn complete(entries: Vec<KeyEntry>) -> KeysPage {
    KeysPage {
        entries,
        ..KeysPage::default()
    }
}

fn names(cmds: &[Cmd]) -> Vec<String> {
    cmds.iter().map(Cmd::name).collect()
}

fn text(t: &Terminal<TestBackend>) -> String {
    let buf = t.backend().buffer();
    (0..buf.area.height)
        .map(|y| {
            (0..buf.area.width)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn stats_and_prefix_tree_snapshot() {
    let r = Rig::loaded();
    insta::assert_snapshot!("cache_stats_80x24", r.draw(80, 24).backend());
    insta::assert_snapshot!("cache_stats_40x12", r.draw(40, 12).backend());
}

#[test]
fn expanded_tree_with_keys_snapshot() {
    let r = Rig::with_keys();
    let t = r.draw(100, 24);
    let s = text(&t);
    assert!(s.contains("▾ t"), "{s}");
    assert!(s.contains("t:*:user:* · 3 keys"), "{s}");
    // Sampled counts are estimates for the keyspace: share × DBSIZE.
    assert!(s.contains("prefixes (≈ from sample 139/52000)"), "{s}");
    assert!(
        s.contains("≈1871"),
        "7 of 139 sampled tag keys of 52000: {s}"
    );
    insta::assert_snapshot!("cache_tree_keys_100x24", t.backend());
}

#[test]
fn long_keys_stay_distinguishable_in_narrow_panes() {
    let mut r = Rig::with_keys();
    let gen = r.screen.keys_gen().unwrap();
    r.msg(Msg::Keys {
        gen,
        append: false,
        result: Ok(complete(vec![
            entry("t:1:user:profile:settings:100439", "string", None, 88),
            entry("t:1:user:profile:settings:100961", "string", None, 88),
        ])),
    });
    for (w, h) in [(80, 24), (40, 12)] {
        let s = text(&r.draw(w, h));
        for end in ["100439", "100961"] {
            assert!(s.contains(end), "{w}x{h}: the key's end is shown\n{s}");
        }
    }
    let wide = text(&r.draw(200, 24));
    assert!(
        wide.contains("88 B  t:1:user:profile:settings:100439"),
        "{wide}"
    );
}

#[test]
fn key_detail_snapshot() {
    let mut r = Rig::with_keys();
    let cmds = r.nav(Global::Enter);
    assert_eq!(names(&cmds), vec!["task:cache.get"]);
    assert_eq!(r.screen.focus(), Focus::Value);
    let gen = r.screen.value_gen().unwrap();
    r.msg(Msg::Value {
        gen,
        result: Box::new(Ok(KeyValue {
            key: "t:1:user:0".into(),
            kind: "string".into(),
            encoding: Some("embstr".into()),
            ttl_ms: Some(299_000),
            memory_bytes: Some(120),
            length: 38,
            shown: 38,
            truncated: false,
            format: "json",
            value: serde_json::json!({"id": 0, "name": "Ada", "plan": "pro"}),
            notes: Vec::new(),
        })),
    });
    let t = r.draw(100, 24);
    let s = text(&t);
    assert!(s.contains("\"name\": \"Ada\""), "{s}");
    insta::assert_snapshot!("cache_key_detail_100x24", t.backend());
    // Narrow: only the value pane.
    insta::assert_snapshot!("cache_key_detail_60x20", r.draw(60, 20).backend());
    r.nav(Global::Back);
    assert_eq!(r.screen.focus(), Focus::Keys);
    r.nav(Global::Back);
    assert_eq!(r.screen.focus(), Focus::Tree);
}

#[test]
fn stale_replies_are_dropped_and_errors_shown() {
    let mut r = Rig::loaded();
    let old = r.screen.stats_gen();
    r.with(|s, cx| s.refresh(cx));
    r.msg(Msg::Stats {
        gen: old,
        result: Box::new(Err(opsdeck::Error::server("stale"))),
    });
    assert!(matches!(r.screen.load_state(), LoadState::Loaded(_)));
    let gen = r.screen.stats_gen();
    r.msg(Msg::Stats {
        gen,
        result: Box::new(Err(opsdeck::Error::server("boom"))),
    });
    assert!(matches!(r.screen.load_state(), LoadState::Error(e) if e.contains("boom")));
    assert!(text(&r.draw(80, 24)).contains("refresh failed"));

    let mut fresh = Rig::loaded();
    fresh.screen = CacheScreen::new();
    fresh.with(|s, cx| s.enter(cx));
    let gen = fresh.screen.stats_gen();
    fresh.msg(Msg::Stats {
        gen,
        result: Box::new(Err(opsdeck::Error::server("no route"))),
    });
    assert!(text(&fresh.draw(80, 10)).contains("no route"));
}

#[test]
fn tree_expands_and_collapses() {
    let mut r = Rig::loaded();
    let top: Vec<String> = r
        .screen
        .rows()
        .iter()
        .map(|(_, n)| n.path.clone())
        .collect();
    assert_eq!(top, vec!["t", "tag", "(none)"]);
    r.nav(Global::Right);
    assert_eq!(r.screen.rows().len(), 4);
    r.nav(Global::Down);
    r.nav(Global::Right);
    let paths: Vec<String> = r
        .screen
        .rows()
        .iter()
        .map(|(_, n)| n.path.clone())
        .collect();
    assert_eq!(
        paths,
        vec!["t", "t:*", "t:*:invoice", "t:*:user", "tag", "(none)"]
    );
    // Left on a collapsed child collapses its parent and selects it.
    r.nav(Global::Down);
    r.nav(Global::Left);
    let paths: Vec<String> = r
        .screen
        .rows()
        .iter()
        .map(|(_, n)| n.path.clone())
        .collect();
    assert_eq!(paths, vec!["t", "t:*", "tag", "(none)"]);
    assert_eq!(r.screen.pattern_for("t:*:user"), "t:*:user:*");
    assert_eq!(r.screen.pattern_for("a[b]"), "a\\[b\\]:*");
}

#[test]
fn keys_without_a_separator_are_listed_but_not_invalidated() {
    let mut r = Rig::loaded();
    r.nav(Global::Bottom);
    let rows = r.screen.rows();
    let (_, node) = rows.last().unwrap();
    assert_eq!((node.path.as_str(), node.keys), ("(none)", 1));
    drop(rows);
    // No SCAN pattern selects "keys without a separator": Enter lists them,
    // picked from the scan on the client side, and nothing is invalidated.
    assert!(r.action(Action::Invalidate).is_empty());
    let cmds = r.nav(Global::Enter);
    assert_eq!(names(&cmds), vec!["task:cache.keys"], "{:?}", names(&cmds));
    assert_eq!(r.screen.focus(), Focus::Keys);
}

#[test]
fn invalidate_confirms_with_the_dry_run_count() {
    let mut r = Rig::loaded();
    let cmds = r.action(Action::Invalidate);
    assert_eq!(names(&cmds), vec!["task:cache.dry_run"]);
    // The dry run's reply: the count goes into the confirmation.
    let gen = r.screen.plan_gen();
    let cmds = r.msg(Msg::Planned {
        gen,
        result: Box::new(Ok((Plan::pattern("t:*").unwrap(), 1204))),
    });
    assert_eq!(names(&cmds), vec!["confirm:cache.invalidate"]);
    let Cmd::Confirm(op) = &cmds[0] else {
        unreachable!()
    };
    assert!(
        op.intent.summary.contains("1204 keys"),
        "{}",
        op.intent.summary
    );
    assert_eq!(op.intent.target, "t:*");

    // Nothing to delete: a status line, no confirmation.
    r.action(Action::Invalidate);
    let stale = gen;
    let gen = r.screen.plan_gen();
    assert!(r
        .msg(Msg::Planned {
            gen: stale,
            result: Box::new(Ok((Plan::pattern("t:*").unwrap(), 5))),
        })
        .is_empty());
    let cmds = r.msg(Msg::Planned {
        gen,
        result: Box::new(Ok((Plan::pattern("t:*").unwrap(), 0))),
    });
    assert_eq!(names(&cmds), vec!["status"]);

    // Delete is for keys: disabled on the tree.
    assert!(r.action(Action::Delete).is_empty());
    let mut k = Rig::with_keys();
    assert_eq!(names(&k.action(Action::Delete)), vec!["confirm:cache.del"]);
}

mod live {
    //! The screen's tasks and its invalidation op against a throwaway Redis,
    //! run the way the runtime runs them.
    use super::*;
    use opsdeck::config::{Config, ContextOverrides, Paths};
    use opsdeck::safety::Approval;
    use opsdeck::sandbox::RedisSandbox;
    use opsdeck::session::Session;
    use opsdeck::stop::Stop;
    use opsdeck::tui::cmd::TaskCx;
    use opsdeck::tui::msg::Msg as AppMsg;
    use std::sync::Arc;

    async fn run_task(cmd: Cmd, session: &Arc<Session>) -> Msg {
        let Cmd::Task { run, .. } = cmd else {
            panic!("not a task: {cmd:?}")
        };
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        unwrap(run(TaskCx::new(session.clone(), None, tx, Stop::new())).await)
    }

    fn unwrap(m: AppMsg) -> Msg {
        match m {
            AppMsg::Screen(ScreenMsg::Cache(m)) => m,
            other => panic!("unexpected reply {other:?}"),
        }
    }

    /// A throwaway redis-server and a client standing for the application.
    async fn server() -> (RedisSandbox, redis::aio::MultiplexedConnection) {
        let sb = RedisSandbox::start().await.unwrap();
        let c = redis::Client::open(sb.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        (sb, c)
    }

    /// The cache screen entered on `sb`, with the session its tasks run on
    /// (and the home that session's audit log lives in).
    async fn opened(sb: &RedisSandbox) -> (tempfile::TempDir, Arc<Session>, Rig) {
        let dir = tempfile::tempdir().unwrap();
        let session = Arc::new(
            Session::new(
                Config::default(),
                Paths::under(dir.path().to_path_buf()),
                None,
                &ContextOverrides {
                    redis: Some(sb.url()),
                    ..Default::default()
                },
            )
            .unwrap(),
        );
        let mut r = Rig {
            env: Env::test_env_with_theme("mono"),
            ctx: context(),
            now: Instant::now(),
            screen: CacheScreen::new(),
        };
        for cmd in r.with(|s, cx| s.enter(cx)) {
            let m = run_task(cmd, &session).await;
            r.msg(m);
        }
        (dir, session, r)
    }

    async fn fill(c: &mut redis::aio::MultiplexedConnection, n: usize) {
        let mut pipe = redis::pipe();
        for i in 0..n {
            pipe.cmd("SET")
                .arg(format!("t:{i}:user:1"))
                .arg("v")
                .ignore();
        }
        for i in 0..500 {
            pipe.cmd("SET").arg(format!("cfg:{i}")).arg("v").ignore();
        }
        pipe.query_async::<()>(c).await.unwrap();
    }

    /// The hit ratio shown is the application's between two refreshes: the
    /// screen's own sampling, key listing and value reads are left out.
    #[tokio::test]
    async fn hit_ratio_is_the_traffic_between_refreshes_not_the_screens_own() {
        let (sb, mut c) = server().await;
        fill(&mut c, 300).await;
        let (_dir, session, mut r) = opened(&sb).await;
        let hit_of = |r: &Rig| {
            text(&r.draw(100, 24))
                .lines()
                .find_map(|l| {
                    let (_, rest) = l.split_once("hit ")?;
                    rest.split_whitespace().next().map(str::to_string)
                })
                .unwrap()
        };
        assert_eq!(hit_of(&r), "—", "no window before a second refresh");

        for (i, cmd) in r.nav(Global::Enter).into_iter().enumerate() {
            let m = run_task(cmd, &session).await;
            assert_eq!(i, 0);
            r.msg(m);
        }
        let open: Vec<Cmd> = r.nav(Global::Enter);
        assert_eq!(names(&open), vec!["task:cache.get"]);
        for cmd in open {
            let m = run_task(cmd, &session).await;
            r.msg(m);
        }
        for i in 0..3 {
            let _: Option<String> = redis::cmd("GET")
                .arg(format!("t:{i}:user:1"))
                .query_async(&mut c)
                .await
                .unwrap();
        }
        let _: Option<String> = redis::cmd("GET")
            .arg("nope")
            .query_async(&mut c)
            .await
            .unwrap();
        for cmd in r.with(|s, cx| s.refresh(cx)) {
            let m = run_task(cmd, &session).await;
            r.msg(m);
        }
        assert_eq!(hit_of(&r), "75.0%");
        for cmd in r.with(|s, cx| s.refresh(cx)) {
            let m = run_task(cmd, &session).await;
            r.msg(m);
        }
        assert_eq!(hit_of(&r), "—", "an idle window has no lookups");
    }

    #[tokio::test]
    async fn prefixes_with_control_bytes_and_backslashes_open_and_plan() {
        let (sb, mut c) = server().await;
        let big = "v".repeat(4096);
        let mut pipe = redis::pipe();
        for i in 0..3 {
            pipe.cmd("SET")
                .arg(format!("ctl\x01x:a:{i}").into_bytes())
                .arg(&big)
                .ignore();
        }
        for i in 0..2 {
            pipe.cmd("SET")
                .arg(format!("back\\slash:{i}"))
                .arg(&big[..2048])
                .ignore();
        }
        // Lookalikes the old patterns would have matched instead.
        pipe.cmd("SET").arg("ctlx01x:a:9").arg("v").ignore();
        pipe.cmd("SET").arg("back\\\\slash:9").arg("v").ignore();
        pipe.query_async::<()>(&mut c).await.unwrap();
        let (_dir, session, mut r) = opened(&sb).await;
        let top: Vec<String> = r
            .screen
            .rows()
            .iter()
            .map(|(_, n)| n.path.clone())
            .collect();
        assert_eq!(top[..2], ["ctl\\x01x", "back\\\\slash"], "{top:?}");
        for (row, want) in [(0, 3), (1, 2)] {
            if row == 1 {
                r.nav(Global::Back);
                r.nav(Global::Down);
            }
            let mut cmds = r.nav(Global::Enter);
            assert_eq!(names(&cmds), vec!["task:cache.keys"]);
            let Msg::Keys { result, .. } = run_task(cmds.remove(0), &session).await else {
                panic!("expected keys")
            };
            let keys: Vec<String> = result.unwrap().entries.into_iter().map(|e| e.key).collect();
            assert_eq!(keys.len(), want, "{top:?} row {row}: {keys:?}");
            assert!(keys.iter().all(|k| k.starts_with(&top[row])), "{keys:?}");
            r.nav(Global::Back);
            let mut cmds = r.action(Action::Invalidate);
            let m = run_task(cmds.remove(0), &session).await;
            let Cmd::Confirm(op) = r.msg(m).remove(0) else {
                panic!("expected a confirmation")
            };
            assert!(
                op.intent.summary.contains(&format!("{want} keys")),
                "{}",
                op.intent.summary
            );
        }
    }

    #[tokio::test]
    async fn invalidate_from_the_tree_runs_audited_and_cancellable() {
        let (sb, mut c) = server().await;
        fill(&mut c, 3000).await;
        let (_dir, session, mut r) = opened(&sb).await;
        let top: Vec<(String, u64)> = r
            .screen
            .rows()
            .iter()
            .map(|(_, n)| (n.path.clone(), n.keys))
            .collect();
        assert_eq!(top, vec![("t".to_string(), 3000), ("cfg".to_string(), 500)]);

        // x on `t`: dry run, then a confirmation that carries the count.
        let mut cmds = r.action(Action::Invalidate);
        let m = run_task(cmds.remove(0), &session).await;
        let mut cmds = r.msg(m);
        let Cmd::Confirm(op) = cmds.remove(0) else {
            panic!("expected a confirmation")
        };
        assert!(
            op.intent.summary.contains("3000 keys"),
            "{}",
            op.intent.summary
        );
        assert_eq!(op.intent.target, "t:*");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let cx = TaskCx::new(session.clone(), Some("op".into()), tx, Stop::new());
        let reply = unwrap((op.run)(cx, Approval::Typed("t:*".into())).await);
        let Msg::Invalidated(done) = &reply else {
            panic!("{reply:?}")
        };
        let done = done.as_ref().as_ref().unwrap();
        assert_eq!((done.deleted, done.cancelled), (3000, false));
        let mut progress = 0;
        while let Ok(AppMsg::Progress { done, total, .. }) = rx.try_recv() {
            assert_eq!(total, Some(3000));
            progress = done;
        }
        assert_eq!(progress, 3000, "progress reaches the total");
        let left: u64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
        assert_eq!(left, 500);
        let cmds = r.msg(reply);
        assert_eq!(names(&cmds)[0], "status");
        assert!(names(&cmds).contains(&"task:cache.stats".to_string()));

        // Esc in the progress view: stops between batches, result and audit say so.
        fill(&mut c, 3000).await;
        let cmds = r.with(|s, cx| s.refresh(cx));
        for cmd in cmds {
            let m = run_task(cmd, &session).await;
            r.msg(m);
        }
        let mut cmds = r.action(Action::Invalidate);
        let m = run_task(cmds.remove(0), &session).await;
        let Cmd::Confirm(op) = r.msg(m).remove(0) else {
            panic!("expected a confirmation")
        };
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        // Esc already pressed: the stop is set before the first batch.
        let cancel = Stop::new();
        cancel.trigger();
        let reply = unwrap(
            (op.run)(
                TaskCx::new(session.clone(), None, tx, cancel),
                Approval::AssumeYes,
            )
            .await,
        );
        let Msg::Invalidated(done) = reply else {
            panic!("{reply:?}")
        };
        let done = done.unwrap();
        assert!(done.cancelled);
        assert!(done.deleted < 3000);
        let left: u64 = redis::cmd("DBSIZE").query_async(&mut c).await.unwrap();
        assert_eq!(left, 3500 - done.deleted);
        let log = std::fs::read_to_string(session.audit_path()).unwrap();
        assert!(log.contains("\"deleted\":3000"), "{log}");
        assert!(log.contains("\"cancelled\":true"), "{log}");
    }
}

/// Memory figures of every width keep their unit whole (the column is sized
/// to its content), and keys and values holding control characters are drawn
/// escaped, at 80x24 and 40x12.
#[test]
fn wide_memory_figures_and_hostile_keys() {
    let mut r = Rig::loaded();
    let sampled = vec![
        Sampled {
            key: "big:1".into(),
            ttl_ms: None,
            memory_bytes: Some(1_048_000),
        },
        Sampled {
            key: "evil\x1b]0;pwned\x07\x1b[2J:1".into(),
            ttl_ms: None,
            memory_bytes: Some(102_400),
        },
        Sampled {
            key: "tab\tnew\nline:1".into(),
            ttl_ms: None,
            memory_bytes: Some(5),
        },
    ];
    let gen = r.screen.stats_gen();
    r.msg(Msg::Stats {
        gen,
        result: Box::new(Ok((stats_of(sampled), ":".into()))),
    });
    let inert = |t: &Terminal<TestBackend>| {
        for c in &t.backend().buffer().content {
            assert!(
                !c.symbol().chars().any(opsdeck::tui::text::is_unsafe),
                "{:?} in\n{}",
                c.symbol(),
                t.backend()
            );
        }
    };
    for (w, h) in [(80, 24), (40, 12)] {
        let t = r.draw(w, h);
        inert(&t);
        let s = text(&t);
        assert!(s.contains("1023.4 KiB") && s.contains("100.0 KiB"), "{s}");
        assert!(s.contains("evil␛]0;pwned"), "{s}");
        assert!(
            s.contains("memory 42.0 MiB") && s.contains("hit 93.0%"),
            "{s}"
        );
    }
    // A key whose value carries escapes: the value pane shows them escaped.
    r.nav(Global::Down);
    r.nav(Global::Enter);
    let gen = r.screen.keys_gen().unwrap();
    r.msg(Msg::Keys {
        gen,
        append: false,
        result: Ok(complete(vec![entry(
            "evil\x1b]0;pwned\x07\x1b[2J:1",
            "string",
            None,
            102_400,
        )])),
    });
    r.nav(Global::Enter);
    let gen = r.screen.value_gen().unwrap();
    r.msg(Msg::Value {
        gen,
        result: Box::new(Ok(KeyValue {
            key: "evil\x1b]0;pwned\x07\x1b[2J:1".into(),
            kind: "string".into(),
            encoding: Some("raw".into()),
            ttl_ms: None,
            memory_bytes: Some(102_400),
            length: 20,
            shown: 20,
            truncated: false,
            format: "text",
            value: serde_json::json!("a\tb\x1b[2Jc\r\x07"),
            notes: Vec::new(),
        })),
    });
    for (w, h) in [(80, 24), (40, 12)] {
        let t = r.draw(w, h);
        inert(&t);
        let s = text(&t);
        assert!(s.contains("a\\tb␛[2Jc\\r\\x07"), "{s}");
    }
}
