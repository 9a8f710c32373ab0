//! `:drills` driven like the runtime drives it, on a real database: `n`
//! plans a drill with the context's settings, `y` confirms it, the drill
//! runs (a fresh dump restored into a throwaway cluster) behind the
//! progress view, and the history and the drill's results by check are
//! drawn at 80x24 and 40x12 (snapshots).

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
    s.add_filter(r"\b\d+(\.\d+)? ?(ms|s|min|h|d)\b", "[dur]");
    s.add_filter(r"opsdeck_t_\d+_\d+", "[db]");
    s.add_filter(r"drill-dump-\d+-\d+", "[dump]");
    s
}

#[tokio::test]
async fn run_a_drill_then_see_the_history_and_its_results() {
    let db = TestDb::with(FIXTURE).await;
    let config = format!(
        "[contexts.local]\npg = \"{}\"\n[[contexts.local.drills.checks]]\nname = \"five tenants\"\nsql = \"SELECT count(*) FROM tenants\"\nexpect = \"5\"\n",
        db.url
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
        prompt.contains("fresh pg_dump"),
        "the confirm popup names the source: {prompt}"
    );
    h.key(KeyCode::Char('y')).await;
    let history = h.screen();
    assert!(history.contains("passed"), "{history}");
    assert!(history.contains("fresh dump"), "{history}");
    let s = settings();
    s.bind(|| insta::assert_snapshot!("drills_history_80x24", history));
    h.key(KeyCode::Enter).await;
    let results = h.screen();
    for check in ["archive", "restore", "tables", "rows public.orders"] {
        assert!(results.contains(check), "{check}: {results}");
    }
    assert!(
        results.contains("not that existing"),
        "the fresh note: {results}"
    );
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
