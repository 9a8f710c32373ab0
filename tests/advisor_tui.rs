//! `:indexes` on a cluster of its own (pg_stat_statements and HypoPG): a
//! prepared-statement workload that needs one index and a duplicate index
//! for lint, plus a statement whose candidate HypoPG rejects. Rendered at 80x24 and 40x12; `y` copies the suggestion's
//! create_sql by OSC 52; `c` and the confirm popup build it for real, after
//! which the suggestion is gone and the table is reloaded. Without HypoPG
//! a note on installing it heads the list.

mod common;

use common::pg::client;
use common::screens::Harness;
use common::unique;
use crossterm::event::KeyCode;
use opsdeck::sandbox::{PgOptions, PgSandbox};
use opsdeck::tui::screens::indexes::IndexesScreen;

async fn fixture(sb: &PgSandbox) -> String {
    let db = unique("advtui");
    sb.create_database(&db).await.unwrap();
    let c = client(&sb.url_for(&db)).await;
    c.batch_execute(
        "CREATE TABLE items (id bigint PRIMARY KEY, sku text NOT NULL, qty int NOT NULL);
         INSERT INTO items SELECT g, 'sku-' || g, g % 100 FROM generate_series(1, 200000) g;
         CREATE INDEX items_qty_a ON items (qty);
         CREATE INDEX items_qty_b ON items (qty);
         ANALYZE items;",
    )
    .await
    .unwrap();
    let st = c
        .prepare("SELECT id, qty FROM items WHERE sku = $1")
        .await
        .unwrap();
    // A candidate HypoPG rejects (lower() of an integer, as the parser
    // reads the cast away) is skipped without spoiling the others.
    let odd = c
        .prepare("SELECT id FROM items WHERE lower(qty::text) = $1")
        .await
        .unwrap();
    for i in 0..6 {
        c.query(&st, &[&format!("sku-{}", i * 7)]).await.unwrap();
        c.query(&odd, &[&i.to_string()]).await.unwrap();
    }
    db
}

async fn loaded(url: &str, size: (u16, u16)) -> Harness {
    let config = format!("[contexts.local]\npg = \"{url}\"\n");
    Harness::new(&config, size, Box::new(IndexesScreen::new())).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexes_screen_renders_copies_and_creates() {
    let sb = PgSandbox::start(
        PgOptions::default().setting("shared_preload_libraries", "pg_stat_statements"),
    )
    .await
    .expect("sandbox");
    let db = fixture(&sb).await;
    let url = sb.url_for(&db);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"-?\d{8,}", "[queryid]");
    settings.add_filter(r"\d+(\.\d+)?", "[n]");
    for (w, h) in [(80u16, 24u16), (40, 12)] {
        let text = loaded(&url, (w, h)).await.screen();
        if w == 80 {
            assert!(text.contains("items_sku_idx"), "{text}");
            assert!(text.contains("statement"), "per-statement costs: {text}");
            assert!(text.contains("duplicate"), "{text}");
        }
        settings.bind(|| insta::assert_snapshot!(format!("indexes_{w}x{h}"), text));
    }

    let mut h = loaded(&url, (100, 30)).await;
    h.key(KeyCode::Char('y')).await;
    assert_eq!(h.clipboard.len(), 1);
    assert!(
        h.clipboard[0].starts_with("CREATE INDEX CONCURRENTLY \"items_sku_idx\""),
        "{:?}",
        h.clipboard
    );
    h.key(KeyCode::Char('c')).await;
    assert!(
        h.screen().contains("items_sku_idx"),
        "confirm popup: {}",
        h.screen()
    );
    h.key(KeyCode::Char('y')).await;
    let c = client(&url).await;
    let valid: Option<bool> = c
        .query_opt(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass('public.items_sku_idx')",
            &[],
        )
        .await
        .unwrap()
        .map(|r| r.get(0));
    assert_eq!(valid, Some(true), "{}", h.screen());
    let text = h.screen();
    assert!(text.contains("built in"), "status line: {text}");
    assert!(
        !text.contains("suggest "),
        "the suggestion is gone after the reload: {text}"
    );

    // Without HypoPG: the heuristic suggestion, under a note on installing it.
    let db = fixture(&sb).await;
    client(&sb.url_for(&db))
        .await
        .batch_execute("DROP EXTENSION hypopg")
        .await
        .unwrap();
    let text = loaded(&sb.url_for(&db), (80, 24)).await.screen();
    let note = text
        .find("HypoPG not installed")
        .unwrap_or_else(|| panic!("{text}"));
    let sug = text
        .find("items_sku_idx")
        .unwrap_or_else(|| panic!("{text}"));
    assert!(note < sug, "the note comes first: {text}");
    assert!(text.contains("→ ?"), "no cost after without HypoPG: {text}");
}
