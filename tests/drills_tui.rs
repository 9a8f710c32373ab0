//! `:drills` driven like the runtime drives it, on a real database: `n`
//! plans a drill with the context's settings, `y` confirms it, the drill
//! runs (the newest archive in drills.dump_dir restored into a throwaway cluster) behind the
//! progress view, and the history and the drill's results by check are
//! drawn at 80x24 and 40x12 (snapshots). In a pseudo-terminal, Esc in the
//! progress view stops a drill mid-restore: the throwaway cluster is gone
//! and the audit says cancelled.

mod common;

use common::screens::Harness;
use common::TestDb;
use crossterm::event::KeyCode;
use opsdeck::tui::screens::drills::DrillsScreen;

const FIXTURE: &str = "
CREATE TABLE tenants (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO tenants SELECT g, 'tenant ' || g FROM generate_series(1, 5) g;
CREATE TABLE orders (id bigserial PRIMARY KEY, tenant_id int NOT NULL REFERENCES tenants, total numeric);
INSERT INTO orders (tenant_id, total) SELECT 1 + g % 5, g FROM generate_series(1, 500) g;
";

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(
        r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d)?(Z|\+00:00)?",
        "[time]",
    );
    // A duration's width varies ("950 ms", "1.2 s"): the spaces after it and
    // before the closing border go with it.
    s.add_filter(r"\b\d+(\.\d+)? ?(ms|s|min|h|d)\b *", "[dur] ");
    s.add_filter(r#"(?m) +│"$"#, " │\"");
    // A line without a border ends in padding of the same varying width.
    s.add_filter(r#"(?m)([^ │]) +"$"#, "$1\"");
    s.add_filter(r"opsdeck_t_\d+_\d+", "[db]");
    s.add_filter(r"\.tmp[0-9A-Za-z]{6}", "[tmp]");
    s
}

#[tokio::test]
async fn run_a_drill_then_see_the_history_and_its_results() {
    let db = TestDb::with(FIXTURE).await;
    // A temp dir's name has a fixed length, so wrapped paths draw the same every run.
    let dumps = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(dumps.path().join("nightly.dump"))
        .args(["--dbname", &db.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = format!(
        "[contexts.local]\npg = \"{}\"\n[contexts.local.drills]\ndump_dir = \"{}\"\n[[contexts.local.drills.checks]]\nname = \"five tenants\"\nsql = \"SELECT count(*) FROM tenants\"\nexpect = \"5\"\n",
        db.url,
        dumps.path().display()
    );
    let mut h = Harness::new(&config, (80, 24), Box::new(DrillsScreen::new())).await;
    assert!(
        h.screen().contains("no drills recorded yet"),
        "{}",
        h.screen()
    );
    h.key(KeyCode::Char('n')).await;
    let prompt = h.screen();
    assert!(
        prompt.contains("nightly.dump"),
        "the confirm popup names the source: {prompt}"
    );
    h.key(KeyCode::Char('y')).await;
    let history = h.screen();
    assert!(history.contains("passed"), "{history}");
    assert!(history.contains("nightly.dump"), "{history}");
    let s = settings();
    s.bind(|| insta::assert_snapshot!("drills_history_80x24", history));
    h.key(KeyCode::Enter).await;
    let results = h.screen();
    for check in ["archive", "restore", "tables", "rows public.orders"] {
        assert!(results.contains(check), "{check}: {results}");
    }
    s.bind(|| insta::assert_snapshot!("drills_results_80x24", results));
    h.key(KeyCode::End).await;
    let bottom = h.screen();
    for check in ["schema", "sequences", "amcheck", "check five tenants"] {
        assert!(bottom.contains(check), "scrolled to {check}: {bottom}");
    }
    assert!(bottom.contains("got 5, expected 5"), "{bottom}");

    h.key(KeyCode::Esc).await;
    h.app.update(opsdeck::tui::msg::Msg::Resize(40, 12));
    let narrow = h.screen();
    assert!(narrow.contains("passed"), "{narrow}");
    h.key(KeyCode::Enter).await;
    s.bind(|| insta::assert_snapshot!("drills_40x12", format!("{narrow}\n{}", h.screen())));
}

#[tokio::test]
async fn esc_in_the_console_stops_a_drill_mid_restore() {
    let src = TestDb::with(
        "CREATE TABLE events (id bigint PRIMARY KEY, tenant_id int NOT NULL, body text NOT NULL);
         INSERT INTO events SELECT g, g % 50, md5(g::text) || md5((g * 7)::text)
         FROM generate_series(1, 1200000) g;
         CREATE INDEX events_tenant ON events (tenant_id, id);",
    )
    .await;
    let dumps = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--file"])
        .arg(dumps.path().join("nightly.dump"))
        .args(["--dbname", &src.url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let h = common::home();
    common::write_config(
        h.path(),
        &format!(
            "default_context = \"d\"\n[contexts.d]\npg = \"{}\"\n[contexts.d.drills]\ndump_dir = \"{}\"\n",
            src.url,
            dumps.path().display()
        ),
    );
    let mut tui = common::pty::Tui::spawn(h.path(), &["--no-color"]);
    tui.wait_for("the overview", |s| s.contains("overview"));
    tui.send(":drills\r");
    tui.wait_for("the empty history", |s| s.contains("no drills recorded"));
    tui.send("n");
    tui.wait_for("the confirm popup", |s| s.contains("nightly.dump"));
    tui.send("y");
    tui.wait_for("the restore phase", |s| s.contains("restore: pg_restore"));
    let pid = tui.opsdeck_pid();
    let mine = format!("pg-{pid}-");
    let sandboxes = || -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir().join("opsdeck-sandbox"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().to_string())
            .filter(|n| n.starts_with(&mine))
            .collect()
    };
    assert_eq!(sandboxes().len(), 1, "the throwaway cluster runs");
    tui.send("\x1b");
    tui.wait_for("the cancellation", |s| s.contains("cancelled"));
    assert!(sandboxes().is_empty(), "{:?}", sandboxes());
    tui.send("q");
    let (out, code, _) = tui.finish();
    assert_eq!(code, 0, "{out:?}");
    let audit = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    let end = audit
        .lines()
        .rfind(|l| l.contains("drill.run"))
        .unwrap_or_else(|| panic!("{audit}"));
    assert!(end.contains("\"outcome\":\"cancelled\""), "{end}");
}
