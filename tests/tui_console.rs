//! The console as an operator uses it, in a pseudo-terminal (the real
//! binary, keys in, screen text out): readline keys in the filter and the
//! command bar, Esc clearing a filter before leaving, a screen coming back
//! with its sort, filter and row, a cache prefix of 1,000 keys paged to its
//! end, a key opened by typing its name, and the overview with Redis
//! stopped still showing Postgres up.

mod common;

use common::pty::Tui;
use common::{home, write_config, TestDb};
use opsdeck::sandbox::RedisSandbox;

const CTRL_A: &str = "\x01";
const CTRL_E: &str = "\x05";
const CTRL_U: &str = "\x15";
const CTRL_W: &str = "\x17";
const ESC: &str = "\x1b";

/// Thirty tenants in the reference schema: alpha-01..15 and beta-01..15.
const TENANTS: &str = "
CREATE TABLE tenants (id bigint PRIMARY KEY, slug text UNIQUE NOT NULL, name text,
    plan text, status text NOT NULL DEFAULT 'active', created_at timestamptz NOT NULL,
    deleted_at timestamptz);
INSERT INTO tenants (id, slug, name, plan, created_at)
SELECT g, CASE WHEN g <= 15 THEN 'alpha-' ELSE 'beta-' END || lpad((((g - 1) % 15) + 1)::text, 2, '0'),
       'Tenant ' || g, 'pro', timestamptz '2024-01-01 00:00:00+00' + g * interval '1 day'
FROM generate_series(1, 30) g;
ANALYZE;
";

fn config(pg: Option<&str>, redis: Option<&str>) -> String {
    let mut c = String::from("default_context = \"t\"\n[tui]\nrefresh_secs = 1\n[contexts.t]\n");
    if let Some(pg) = pg {
        c += &format!("pg = \"{pg}\"\n");
    }
    if let Some(r) = redis {
        c += &format!("redis = \"{r}\"\n");
    }
    c
}

/// The status line (second to last row of the 80x24 screen).
fn status_line(screen: &str) -> String {
    screen.lines().nth(22).unwrap_or_default().to_string()
}

fn quit(mut tui: Tui) {
    tui.send("q");
    let (out, code, _) = tui.finish();
    assert_eq!(code, 0, "{}", &out[out.len().saturating_sub(300)..]);
}

#[tokio::test]
async fn readline_keys_and_esc_and_coming_back_to_a_screen() {
    let db = TestDb::new().await;
    db.client().await.batch_execute(TENANTS).await.unwrap();
    let h = home();
    write_config(h.path(), &config(Some(&db.url), None));
    let mut tui = Tui::spawn(h.path(), &[]);
    tui.wait_for("the overview", |s| {
        s.contains("Postgres") && s.contains("● up")
    });

    // The command bar: Ctrl-W drops a word, Ctrl-U the line, Ctrl-A goes to
    // the start; had any of them typed its letter, the command would be unknown.
    tui.send(":zzz qqq");
    tui.send(CTRL_W);
    tui.wait_for("ctrl-w in the bar", |s| {
        status_line(s).starts_with(":zzz ▏")
    });
    tui.send(CTRL_U);
    tui.wait_for("ctrl-u in the bar", |s| status_line(s).starts_with(":▏"));
    tui.send("ants");
    tui.send(CTRL_A);
    tui.send("ten");
    tui.wait_for("ctrl-a in the bar", |s| {
        status_line(s).starts_with(":ten▏ants")
    });
    tui.send("\r");
    tui.wait_for("the tenants list", |s| {
        s.contains("alpha-01") && s.contains("beta-01") && !s.contains("unknown command")
    });

    // The filter line edits the same way, and filters as it goes.
    tui.send("/beta");
    tui.wait_for("beta only", |s| {
        s.contains("beta-01") && !s.contains("alpha-01")
    });
    tui.send(CTRL_W);
    tui.wait_for("ctrl-w cleared the word", |s| {
        s.contains("alpha-01") && status_line(s).starts_with("/▏")
    });
    tui.send("lpha-0");
    tui.send(CTRL_A);
    tui.send("a");
    tui.wait_for("ctrl-a: typed at the start", |s| {
        status_line(s).starts_with("/a▏lpha-0") && s.contains("alpha-09") && !s.contains("beta-")
    });
    tui.send(CTRL_E);
    tui.send(CTRL_U);
    tui.wait_for("ctrl-u cleared the line", |s| {
        status_line(s).starts_with("/▏") && s.contains("beta-01")
    });
    tui.send("beta\r");

    // Reverse the sort and pick the third row, then leave for the audit
    // screen and come back: filter, sort and row are as they were.
    tui.send("O");
    tui.wait_for("reversed", |s| {
        let first = s.lines().position(|l| l.contains("beta-15"));
        let last = s.lines().position(|l| l.contains("beta-01"));
        matches!((first, last), (Some(a), Some(b)) if a < b)
    });
    tui.send("jj");
    tui.send(":audit\r");
    tui.wait_for("the audit screen", |s| {
        s.contains(" audit ") && !s.contains("beta-")
    });
    tui.send(":tenants\r");
    let s = tui.wait_for("tenants as they were", |s| {
        s.contains("/beta") && s.contains("beta-15")
    });
    assert!(!s.contains("alpha-"), "the filter is kept: {s}");
    tui.send("\r");
    tui.wait_for("the detail of the row that was selected", |s| {
        s.contains("tenant 28")
    });
    tui.send(ESC);
    tui.wait_for("back on the list", |s| {
        s.contains("beta-15") && s.contains("/beta")
    });

    // Esc clears the filter first (still on tenants), then goes back.
    tui.send(ESC);
    // Sorted by slug descending: the alpha tenants follow the betas.
    let s = tui.wait_for("the filter cleared", |s| {
        s.contains("alpha-15") && !s.contains("/beta")
    });
    assert!(s.contains("tenants"), "{s}");
    tui.send(ESC);
    tui.wait_for("the overview again", |s| {
        s.contains("Postgres t") && !s.contains("alpha-01")
    });
    quit(tui);
}

#[tokio::test]
async fn a_prefix_of_a_thousand_keys_pages_to_its_end_and_a_key_opens_by_name() {
    let sb = RedisSandbox::start().await.unwrap();
    let client = redis::Client::open(sb.url()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let mut pipe = redis::pipe();
    for n in 1..=1000 {
        pipe.cmd("SET")
            .arg(format!("big:{n:04}:v"))
            .arg(format!("value {n}"))
            .ignore();
    }
    pipe.cmd("SET").arg("solo").arg("no separator").ignore();
    pipe.query_async::<()>(&mut c).await.unwrap();
    let h = home();
    write_config(h.path(), &config(None, Some(&sb.url())));
    let mut tui = Tui::spawn(h.path(), &[]);
    tui.wait_for("the overview", |s| s.contains("Redis c"));
    tui.send("c");
    tui.wait_for("the prefix tree", |s| {
        s.contains("big") && s.contains("(none)")
    });
    tui.send("\r");
    let s = tui.wait_for("the first page", |s| {
        s.contains("big:*:v:*") || s.contains("big:*")
    });
    assert!(
        !s.contains("1000 keys"),
        "a page, not the whole prefix: {s}"
    );
    // G to the last loaded key asks for the next page, until the scan ends.
    let mut seen = String::new();
    for _ in 0..30 {
        tui.send("G");
        tui.pump();
        seen = tui.screen();
        if seen.contains("1000 keys") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    assert!(seen.contains("1000 keys"), "paged to the end: {seen}");

    // The (none) node lists the keys without a separator.
    tui.send(ESC);
    tui.send("G");
    tui.send("\r");
    tui.wait_for("keys without a separator", |s| {
        s.contains("keys without a separator · 1 keys") && s.contains("solo")
    });

    // A key by its name.
    tui.send("n");
    tui.wait_for("the prompt", |s| status_line(s).starts_with("open key: ▏"));
    tui.send("big:0777:v\r");
    tui.wait_for("its value", |s| {
        s.contains("value 777") && s.contains("big:0777:v")
    });
    quit(tui);
}

#[tokio::test]
async fn redis_stopped_leaves_postgres_up() {
    let db = TestDb::new().await;
    let sb = RedisSandbox::start().await.unwrap();
    let h = home();
    write_config(h.path(), &config(Some(&db.url), Some(&sb.url())));
    let mut tui = Tui::spawn(h.path(), &[]);
    tui.wait_for("both stores up", |s| {
        s.contains("pg ● up") && s.contains("redis ● up") && s.contains("Redis memory")
    });
    drop(sb);
    let s = tui.wait_for("redis down, postgres up", |s| {
        s.contains("redis ✖ down") && s.contains("pg ● up")
    });
    assert!(s.contains("Connections"), "Postgres figures stay: {s}");
    assert!(!s.contains("✖ lost"), "not a lost connection: {s}");
    tui.wait_for("the Redis pane says so", |s| {
        s.contains("down:") && s.contains("TPS")
    });
    quit(tui);
}
