//! TUI benchmark (run with `cargo bench --bench tui`; prints figures, asserts nothing):
//! - time to first frame of the real binary in a pty,
//! - keystroke-to-frame latency p50/p99 while scrolling a 1,000,000-row Postgres
//!   table through the shared `PagedTable` + a `PagedSource` with keyset paging,
//! - resident memory with that list open,
//! - CPU used by the real binary over 30 s idle on the overview.
//!
//! Targets: first frame < 150 ms, p99 < 16 ms, RSS < 60 MB, idle CPU < 0.5 % of a core.

#[path = "../tests/common/mod.rs"]
mod common;

use opsdeck::config::{Config, ContextOverrides, Paths};
use opsdeck::session::Session;
use opsdeck::tui::cmd::{BoxFuture, Cmd, TaskCx};
use opsdeck::tui::env::Env;
use opsdeck::tui::keymap::Global;
use opsdeck::tui::msg::{ContextInfo, Msg};
use opsdeck::tui::screens::Cx;
use opsdeck::tui::widgets::table::{
    Anchor, Column, Keyed, Msg as TableMsg, Page, PageRequest, PagedSource, PagedTable, TableRow,
};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Block, Borders};
use ratatui::{Terminal, TerminalOptions, Viewport};
use std::io::ErrorKind;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const ROWS: i64 = 1_000_000;

#[derive(Debug)]
struct Item {
    id: i64,
    name: String,
    created: String,
}

impl TableRow for Item {
    fn cells(&self) -> Vec<String> {
        vec![self.id.to_string(), self.name.clone(), self.created.clone()]
    }
}

/// Keyset paging by primary key over `items`.
struct Items;

impl PagedSource for Items {
    type Row = Item;
    const TOTAL_IS_ESTIMATE: bool = true;
    fn fetch(
        &self,
        session: Arc<Session>,
        req: PageRequest,
    ) -> BoxFuture<opsdeck::Result<Page<Item>>> {
        Box::pin(async move {
            let pg = session.pg().await?;
            let limit = req.limit.to_string();
            let cols = "SELECT id, name, to_char(created_at, 'YYYY-MM-DD HH24:MI:SS') FROM items";
            let (rows, reverse) = match &req.anchor {
                Anchor::First => (
                    pg.rows(&format!("{cols} ORDER BY id LIMIT $1::int8"), &[&limit])
                        .await?,
                    false,
                ),
                Anchor::Last => (
                    pg.rows(
                        &format!("{cols} ORDER BY id DESC LIMIT $1::int8"),
                        &[&limit],
                    )
                    .await?,
                    true,
                ),
                Anchor::After(c) => (
                    pg.rows(
                        &format!("{cols} WHERE id > $1::int8 ORDER BY id LIMIT $2::int8"),
                        &[c, &limit],
                    )
                    .await?,
                    false,
                ),
                Anchor::Before(c) => (
                    pg.rows(
                        &format!("{cols} WHERE id < $1::int8 ORDER BY id DESC LIMIT $2::int8"),
                        &[c, &limit],
                    )
                    .await?,
                    true,
                ),
            };
            let mut out: Vec<Keyed<Item>> = rows
                .iter()
                .map(|r| {
                    let id: i64 = r.get(0);
                    Keyed {
                        cursor: id.to_string(),
                        row: Item {
                            id,
                            name: r.get(1),
                            created: r.get(2),
                        },
                    }
                })
                .collect();
            if reverse {
                out.reverse();
            }
            let total: f32 = pg
                .row(
                    "SELECT reltuples FROM pg_class WHERE oid = 'items'::regclass",
                    &[],
                )
                .await?
                .get(0);
            Ok(Page {
                rows: out,
                total: Some(total.max(0.0) as u64),
            })
        })
    }
}

static INBOX: Mutex<Vec<TableMsg<Item>>> = Mutex::new(Vec::new());

fn wrap(m: TableMsg<Item>) -> Msg {
    INBOX.lock().unwrap().push(m);
    Msg::Status(Ok(String::new()))
}

fn rss_kib(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn spawn_tasks(
    rt: &tokio::runtime::Runtime,
    session: &Arc<Session>,
    cmds: Vec<Cmd>,
    done: &tokio::sync::mpsc::UnboundedSender<()>,
) {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    for c in cmds {
        if let Cmd::Task { key, run, .. } = c {
            let cx = TaskCx::new(session.clone(), key, tx.clone(), opsdeck::stop::Stop::new());
            let done = done.clone();
            rt.spawn(async move {
                let _ = run(cx).await;
                let _ = done.send(());
            });
        }
    }
}

fn scrolling(rt: &tokio::runtime::Runtime, url: &str) {
    let dir = tempfile::tempdir().unwrap();
    let session = Arc::new(
        Session::new(
            Config::default(),
            Paths::under(dir.path().to_path_buf()),
            None,
            &ContextOverrides {
                pg: Some(url.to_string()),
                ..Default::default()
            },
        )
        .unwrap(),
    );
    let env = Env::test_env();
    let ctx = ContextInfo::of(&session);
    let mut term = Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 80, 24)),
        },
    )
    .unwrap();
    let mut table = PagedTable::new(
        "items",
        Items,
        vec![
            Column::new("id", Some("id"), Constraint::Length(8)),
            Column::new("name", None, Constraint::Min(20)),
            Column::new("created", None, Constraint::Length(19)),
        ],
        wrap,
    );
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let rss_before = rss_kib("self");
    let mut cx = Cx {
        env: &env,
        context: &ctx,
        now: Instant::now(),
        body_rows: 20,
        focused: true,
    };
    let cmds = table.load();
    spawn_tasks(rt, &session, cmds, &done_tx);
    rt.block_on(done_rx.recv());
    let apply = |table: &mut PagedTable<Items>, cx: &Cx| -> Vec<Cmd> {
        let msgs: Vec<_> = INBOX.lock().unwrap().drain(..).collect();
        msgs.into_iter()
            .flat_map(|m| table.update(m, cx).1)
            .collect()
    };
    let more = apply(&mut table, &cx);
    spawn_tasks(rt, &session, more, &done_tx);

    // A user holding keys at a fast key-repeat rate (500 Hz): j, then PgDn
    // through ~90,000 rows, then G and back up with k and PgUp.
    let mut plan: Vec<Global> = Vec::new();
    plan.extend(std::iter::repeat_n(Global::Down, 3_000));
    plan.extend(std::iter::repeat_n(Global::PageDown, 5_000));
    plan.push(Global::Bottom);
    plan.extend(std::iter::repeat_n(Global::Up, 1_000));
    plan.extend(std::iter::repeat_n(Global::PageUp, 1_000));
    let mut lat = Vec::with_capacity(plan.len());
    let mut stalls = 0;
    let mut max_loaded = 0;
    let mut peak_rss = 0;
    for (i, key) in plan.iter().enumerate() {
        let pace = Instant::now();
        // Replies that arrived since the last key are applied first, as the
        // app loop does between events.
        let more = apply(&mut table, &cx);
        spawn_tasks(rt, &session, more, &done_tx);
        cx.now = Instant::now();
        let before = table.position();
        let t0 = Instant::now();
        let cmds = table.nav(*key, &cx).unwrap_or_default();
        spawn_tasks(rt, &session, cmds, &done_tx);
        term.draw(|f| {
            let block = Block::default().borders(Borders::ALL).title(" items ");
            let inner = block.inner(f.area());
            f.render_widget(block, f.area());
            table.render(f, inner, &cx);
        })
        .unwrap();
        lat.push(t0.elapsed());
        if before == table.position() && matches!(key, Global::Down | Global::PageDown) {
            stalls += 1;
        }
        max_loaded = max_loaded.max(table.loaded_rows());
        if i % 500 == 0 {
            peak_rss = peak_rss.max(rss_kib("self"));
        }
        if *key == Global::Bottom {
            // G is a new query; wait for it like a user would see it land.
            rt.block_on(done_rx.recv());
        }
        let spent = pace.elapsed();
        if spent < Duration::from_millis(2) {
            std::thread::sleep(Duration::from_millis(2) - spent);
        }
    }
    let rss_after = rss_kib("self");
    lat.sort();
    println!(
        "scrolling {ROWS} rows ({} keystrokes at <=500 Hz: j, PgDn, G, k, PgUp)",
        plan.len()
    );
    println!(
        "  keystroke-to-frame: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms (target p99 < 16 ms)",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        lat.last().unwrap().as_secs_f64() * 1e3
    );
    println!("  rows held at most: {max_loaded}; keystrokes that waited for a page: {stalls}");
    println!(
        "  position after the run: {:?}; RSS before list {} MiB, peak {} MiB, after {} MiB (target < 60 MB)",
        table.position(),
        rss_before / 1024,
        peak_rss.max(rss_after) / 1024,
        rss_after / 1024
    );
}

/// The whole app path for a key: `App::update` (keymap, mode, screen) and
/// `view` of the full chrome over the overview, drawn with crossterm into a sink.
fn whole_app() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use opsdeck::tui::app::App;
    use opsdeck::tui::view::view;
    let ctx = ContextInfo {
        name: "bench".into(),
        read_only: false,
        has_pg: true,
        has_redis: true,
        thresholds: Default::default(),
    };
    let (mut app, _) = App::new(Env::test_env(), ctx, Instant::now(), (80, 24));
    let mut term = Terminal::with_options(
        CrosstermBackend::new(std::io::sink()),
        TerminalOptions {
            viewport: Viewport::Fixed(Rect::new(0, 0, 80, 24)),
        },
    )
    .unwrap();
    let keys = [
        KeyCode::Char(':'),
        KeyCode::Char('a'),
        KeyCode::Char('u'),
        KeyCode::Tab,
        KeyCode::Esc,
        KeyCode::Char('?'),
        KeyCode::Char('x'),
        KeyCode::Char('p'),
    ];
    let mut lat = Vec::new();
    for i in 0..8_000 {
        let t0 = Instant::now();
        let _ = app.update(Msg::Key(KeyEvent::new(
            keys[i % keys.len()],
            KeyModifiers::NONE,
        )));
        term.draw(|f| view(&app, f)).unwrap();
        lat.push(t0.elapsed());
    }
    lat.sort();
    println!(
        "whole app (update + full chrome frame, 8,000 keys: command bar, completion, help, pause): p50 {:.3} ms, p99 {:.3} ms",
        pct(&lat, 0.5).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3
    );
}

struct Pty {
    pty: expectrl::Session,
    out: Vec<u8>,
}

impl Pty {
    fn spawn(home: &std::path::Path, url: &str) -> Pty {
        let bin = assert_cmd::cargo::cargo_bin("opsdeck");
        let mut cmd = std::process::Command::new(bin);
        cmd.args(["--pg", url, "--redis", &common::redis_url()]);
        for (k, _) in std::env::vars() {
            if k.starts_with("OPSDECK_") || k.starts_with("PG") || k == "REDIS_URL" {
                cmd.env_remove(k);
            }
        }
        cmd.env("OPSDECK_HOME", home).env("TERM", "xterm-256color");
        Pty {
            pty: expectrl::Session::spawn(cmd).unwrap(),
            out: Vec::new(),
        }
    }

    fn pump(&mut self) {
        let mut buf = [0u8; 8192];
        loop {
            match self.pty.try_read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.out.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(_) => break,
            }
        }
    }

    fn pid(&self) -> i32 {
        self.pty.get_process().pid().as_raw()
    }

    fn quit(mut self) {
        let _ = self.pty.send("q");
        let _ = self.pty.get_process_mut().wait();
    }
}

fn first_frame(home: &std::path::Path, url: &str) -> Duration {
    let start = Instant::now();
    let mut p = Pty::spawn(home, url);
    loop {
        p.pump();
        if String::from_utf8_lossy(&p.out).contains("overview") {
            let t = start.elapsed();
            p.quit();
            return t;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "no frame");
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn cpu_ticks(pid: i32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the parenthesised command name: utime is 14th, stime 15th overall.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = rt.block_on(common::TestDb::new());
    let t = Instant::now();
    rt.block_on(async {
        let c = db.client().await;
        c.batch_execute(&format!(
            "CREATE TABLE items AS SELECT g::bigint AS id, md5(g::text) AS name,
                    timestamptz '2026-01-01' - g * interval '1 second' AS created_at
             FROM generate_series(1, {ROWS}) g;
             ALTER TABLE items ADD PRIMARY KEY (id);
             ANALYZE items;"
        ))
        .await
        .unwrap();
    });
    println!(
        "setup: {ROWS}-row table in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    let home = tempfile::tempdir().unwrap();
    let mut ff: Vec<Duration> = (0..7).map(|_| first_frame(home.path(), &db.url)).collect();
    ff.sort();
    println!(
        "time to first frame (real binary in a pty, 7 runs): median {:.1} ms, max {:.1} ms (target < 150 ms)",
        pct(&ff, 0.5).as_secs_f64() * 1e3,
        ff.last().unwrap().as_secs_f64() * 1e3
    );

    scrolling(&rt, &db.url);
    whole_app();

    let mut p = Pty::spawn(home.path(), &db.url);
    let settle = Instant::now();
    while settle.elapsed() < Duration::from_secs(3) {
        p.pump();
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = p.pid();
    let (c0, t0) = (cpu_ticks(pid), Instant::now());
    while t0.elapsed() < Duration::from_secs(30) {
        p.pump();
        std::thread::sleep(Duration::from_millis(200));
    }
    let (c1, secs) = (cpu_ticks(pid), t0.elapsed().as_secs_f64());
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let cpu = (c1 - c0) as f64 / hz / secs * 100.0;
    let rss = rss_kib(&pid.to_string());
    println!(
        "idle on the overview (refresh every 5 s) for {secs:.0} s: CPU {cpu:.2} % of a core ({} ticks), RSS {} MiB (target < 0.5 %)",
        c1 - c0,
        rss / 1024
    );
    p.quit();
}
