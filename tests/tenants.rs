//! Tenants against real Postgres (and Redis for cache counts), on a fixture
//! schema named unlike the demo: schema "crm", table "accounts", uuid ids,
//! a column with a space in its name, and a tenant called
//! `O'Brien "Ltd" 🚀 Ünïcødé`.

mod common;

use common::{home, opsdeck, TestDb};
use opsdeck::config::{Context, ContextOverrides, ResolvedContext, SchemaMap};
use opsdeck::tenants::{self, ListQuery, SortField};
use std::collections::HashSet;
use std::path::Path;

const ODD_NAME: &str = "O'Brien \"Ltd\" 🚀 Ünïcødé";

const FIXTURE: &str = r#"
CREATE SCHEMA crm;
CREATE TABLE crm.accounts (
    acct_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    handle text NOT NULL UNIQUE,
    "display name" text,
    tier text,
    state text NOT NULL DEFAULT 'live',
    opened timestamptz NOT NULL DEFAULT now()
);
INSERT INTO crm.accounts (handle, "display name", tier, opened)
SELECT 'acct-' || lpad(g::text, 4, '0'), 'Account ' || g, CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'free' END,
       timestamptz '2024-01-01 00:00:00+00' + (g % 17) * interval '1 day'
FROM generate_series(1, 400) g;
INSERT INTO crm.accounts (handle, "display name", tier, state) VALUES
    ('obrien', 'O''Brien "Ltd" 🚀 Ünïcødé', 'enterprise', 'live'),
    ('fifty', '50% off_sale', 'free', 'frozen'),
    ('nameless-1', NULL, NULL, 'live'),
    ('nameless-2', NULL, NULL, 'live');

-- A well-behaved tenant table.
CREATE TABLE crm.contacts (
    id bigserial PRIMARY KEY,
    acct uuid NOT NULL REFERENCES crm.accounts,
    email text,
    UNIQUE (acct, id)
);
CREATE INDEX ON crm.contacts (acct);
ALTER TABLE crm.contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY iso ON crm.contacts USING (acct = current_setting('app.tenant_id')::uuid);
INSERT INTO crm.contacts (acct, email) SELECT acct_id, 'c@x' FROM crm.accounts, generate_series(1, 2);

-- One of every tenancy mistake.
CREATE TABLE crm.deals (id bigserial PRIMARY KEY, acct uuid, contact_id bigint REFERENCES crm.contacts);
CREATE TABLE crm."Notes ""x""" (id bigserial PRIMARY KEY, acct uuid NOT NULL);
CREATE INDEX ON crm."Notes ""x""" (acct);
ALTER TABLE crm."Notes ""x""" ENABLE ROW LEVEL SECURITY;
INSERT INTO crm.deals (acct) SELECT acct_id FROM crm.accounts WHERE handle = 'obrien';

CREATE SCHEMA ops;
CREATE TABLE ops.keys (id bigserial PRIMARY KEY, acct uuid NOT NULL, name text, prefix text,
    key_hash text NOT NULL, created_at timestamptz DEFAULT now(), expires_at timestamptz, revoked_at timestamptz);
INSERT INTO ops.keys (acct, name, prefix, key_hash)
SELECT acct_id, 'ci key', 'sk_test', 'deadbeefsecrethash' FROM crm.accounts WHERE handle = 'obrien';

CREATE TABLE crm.changes (id bigserial PRIMARY KEY, table_name text, record_id text, action text,
    old_data jsonb, new_data jsonb, changed_by text, changed_at timestamptz DEFAULT now());
INSERT INTO crm.changes (table_name, record_id, action, new_data, changed_by)
SELECT 'contacts', '1', 'INSERT', jsonb_build_object('acct', acct_id), 'app' FROM crm.accounts WHERE handle = 'obrien';

CREATE TABLE ops.hook_log (acct uuid, at timestamptz DEFAULT now());
ANALYZE;
"#;

fn schema_toml(extra: &str) -> String {
    format!(
        r#"
[contexts.crm.schema]
app_schema = "crm"
tenants_table = "accounts"
tenant_id = "acct_id"
tenant_slug = "handle"
tenant_name = "display name"
tenant_plan = "tier"
tenant_status = "state"
tenant_created_at = "opened"
status_active = "live"
status_suspended = "frozen"
tenant_column = "acct"
api_keys_table = "ops.keys"
app_audit_table = "changes"
{extra}
"#
    )
}

fn map() -> SchemaMap {
    SchemaMap {
        app_schema: "crm".into(),
        tenants_table: "accounts".into(),
        tenant_id: "acct_id".into(),
        tenant_slug: "handle".into(),
        tenant_name: "display name".into(),
        tenant_plan: Some("tier".into()),
        tenant_status: "state".into(),
        tenant_created_at: Some("opened".into()),
        status_active: "live".into(),
        status_suspended: "frozen".into(),
        tenant_column: "acct".into(),
        api_keys_table: "ops.keys".into(),
        app_audit_table: "changes".into(),
        ..SchemaMap::default()
    }
}

async fn fixture() -> TestDb {
    let db = TestDb::new().await;
    db.client().await.batch_execute(FIXTURE).await.unwrap();
    db
}

/// Writes the config with context "crm" into the isolated home.
fn config(home: &Path, db: &TestDb, extra: &str) {
    let dir = home.join("config");
    std::fs::create_dir_all(&dir).unwrap();
    let text = format!(
        "default_context = \"crm\"\n[contexts.crm]\npg = \"{}\"\n{}",
        db.url,
        schema_toml(extra)
    );
    std::fs::write(dir.join("config.toml"), text).unwrap();
}

async fn pg(db: &TestDb) -> opsdeck::conn::Pg {
    let ctx = Context {
        pg: Some(db.url.clone()),
        schema: map(),
        ..Context::default()
    };
    let resolved = ResolvedContext::resolve("crm".into(), ctx, &ContextOverrides::default());
    opsdeck::conn::connect_pg(&resolved).await.unwrap()
}

fn json(out: &std::process::Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stdout));
    })
}

async fn all_pages(p: &opsdeck::conn::Pg, mut q: ListQuery) -> Vec<tenants::TenantRow> {
    let mut rows = Vec::new();
    loop {
        let page = tenants::page(p, &map(), &q).await.unwrap();
        assert!(page.rows.len() <= q.limit);
        rows.extend(page.rows);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return rows,
        }
    }
}

#[tokio::test]
async fn paging_is_stable_under_concurrent_inserts() {
    let db = fixture().await;
    let p = pg(&db).await;
    let before: HashSet<String> = db
        .client()
        .await
        .query("SELECT acct_id::text FROM crm.accounts", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let writer = db.client().await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let inserter = tokio::spawn(async move {
        let mut n = 0;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            writer
                .execute(
                    "INSERT INTO crm.accounts (handle, \"display name\") VALUES ('new-' || $1::text, 'Account new ' || $1::text)",
                    &[&n.to_string()],
                )
                .await
                .unwrap();
            n += 1;
            tokio::task::yield_now().await;
        }
        n
    });
    for (sort, desc) in [
        (SortField::Id, false),
        (SortField::Name, true),
        (SortField::CreatedAt, false),
        (SortField::Slug, true),
    ] {
        let rows = all_pages(
            &p,
            ListQuery {
                sort,
                desc,
                limit: 7,
                sizes: sort == SortField::Id,
                ..Default::default()
            },
        )
        .await;
        let ids: Vec<&String> = rows.iter().map(|r| &r.id).collect();
        let unique: HashSet<&String> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len(), "{sort:?}: duplicates across pages");
        let missing: Vec<_> = before.iter().filter(|id| !unique.contains(id)).collect();
        assert!(missing.is_empty(), "{sort:?}: gaps: {missing:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let inserted = inserter.await.unwrap();
    assert!(inserted > 0, "the inserter never ran");
}

#[tokio::test]
async fn sort_orders_match_postgres_and_sizes_are_bounded() {
    let db = fixture().await;
    let p = pg(&db).await;
    let rows = all_pages(
        &p,
        ListQuery {
            sort: SortField::CreatedAt,
            desc: true,
            limit: 50,
            sizes: true,
            ..Default::default()
        },
    )
    .await;
    let expected: Vec<String> = db
        .client()
        .await
        .query(
            "SELECT acct_id::text FROM crm.accounts ORDER BY opened DESC, acct_id DESC",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let got: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    assert_eq!(got, expected);
    assert!(
        rows.iter().all(|r| r.est_rows == Some(2)),
        "two contacts each: {:?}",
        rows[0]
    );
    assert!(rows.iter().all(|r| r.est_rows_capped == Some(false)));
    let page = tenants::page(
        &p,
        &map(),
        &ListQuery {
            limit: 5,
            sizes: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        page.est_tables,
        vec!["crm.contacts".to_string(), "crm.Notes \"x\"".to_string()],
        "largest first, only tables indexed on the tenant column"
    );
}

#[tokio::test]
async fn pages_backwards_match_pages_forwards() {
    let db = fixture().await;
    let p = pg(&db).await;
    for (sort, desc) in [
        (SortField::Name, false),
        (SortField::Name, true),
        (SortField::Id, true),
    ] {
        let q = ListQuery {
            sort,
            desc,
            limit: 9,
            ..Default::default()
        };
        let forward: Vec<String> = all_pages(&p, q.clone())
            .await
            .into_iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(forward.len(), 404);
        let mut backward: Vec<String> = Vec::new();
        let mut page = tenants::page(
            &p,
            &map(),
            &ListQuery {
                from_end: true,
                ..q.clone()
            },
        )
        .await
        .unwrap();
        loop {
            let mut ids: Vec<String> = page.rows.iter().map(|r| r.id.clone()).collect();
            ids.extend(backward);
            backward = ids;
            let Some(first) = page.cursors.first().cloned() else {
                break;
            };
            page = tenants::page(
                &p,
                &map(),
                &ListQuery {
                    before: Some(first),
                    ..q.clone()
                },
            )
            .await
            .unwrap();
            if page.rows.is_empty() {
                break;
            }
        }
        assert_eq!(backward, forward, "{sort:?} desc={desc}");
    }
}

#[tokio::test]
async fn search_by_id_slug_and_name_with_literal_wildcards() {
    let db = fixture().await;
    let p = pg(&db).await;
    let search = |s: &str| ListQuery {
        search: Some(s.to_string()),
        limit: 1000,
        ..Default::default()
    };
    let page = tenants::page(&p, &map(), &search("brien")).await.unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].name.as_deref(), Some(ODD_NAME));
    let id = page.rows[0].id.clone();
    let by_id = tenants::page(&p, &map(), &search(&id)).await.unwrap();
    assert_eq!(by_id.rows.len(), 1);
    assert_eq!(by_id.rows[0].slug.as_deref(), Some("obrien"));
    // `%` and `_` are matched literally: only "50% off_sale" has them.
    for s in ["50%", "f_s", "ÜNÏ"] {
        let got = tenants::page(&p, &map(), &search(s)).await.unwrap();
        assert_eq!(got.rows.len(), 1, "{s}: {:?}", got.rows);
    }
    let acct = tenants::page(&p, &map(), &search("ACCT-00")).await.unwrap();
    assert_eq!(acct.rows.len(), 99);
    let status = tenants::page(
        &p,
        &map(),
        &ListQuery {
            status: Some("frozen".into()),
            limit: 10,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(status.rows.len(), 1);
    assert_eq!(status.rows[0].slug.as_deref(), Some("fifty"));
}

#[tokio::test]
async fn odd_names_round_trip_through_json_csv_and_streams() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, "");
    let out = opsdeck(h.path())
        .args([
            "tenants", "list", "--search", "Brien", "--limit", "5", "--output", "json",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v[0]["name"], ODD_NAME);
    assert_eq!(
        v[0]["est_rows"],
        serde_json::Value::Null,
        "a limited JSON list is a stream, and streams never count sizes"
    );
    // Whole-table CSV stream (COPY) parses back to the same names.
    let out = opsdeck(h.path())
        .args(["tenants", "list", "--output", "csv"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut r = csv::Reader::from_reader(out.stdout.as_slice());
    let headers: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
    assert_eq!(
        headers,
        [
            "id",
            "slug",
            "name",
            "plan",
            "status",
            "created_at",
            "est_rows",
            "est_rows_capped"
        ]
    );
    let recs: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(recs.len(), 404);
    assert!(recs.iter().any(|x| &x[2] == ODD_NAME));
    assert!(recs.windows(2).all(|w| w[0][0] < w[1][0]), "ordered by id");
    assert!(
        recs[0][5].ends_with('Z') && recs[0][5].contains('T'),
        "{:?}",
        &recs[0]
    );
    // Filters are inlined into COPY as escaped literals: quotes and `%` stay literal.
    for (search, want) in [("O'Brien \"Ltd", 1), ("50%", 1), ("%", 1)] {
        let out = opsdeck(h.path())
            .args(["tenants", "list", "--output", "csv", "--search", search])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut r = csv::Reader::from_reader(out.stdout.as_slice());
        assert_eq!(r.records().count(), want, "{search}");
    }
    let out = opsdeck(h.path())
        .args(["tenants", "list", "--output", "csv", "--status", "frozen"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("fifty"), "{text}");
    // Whole-table JSON stream.
    let out = opsdeck(h.path())
        .args(["tenants", "list", "--output", "json", "--sort", "name"])
        .output()
        .unwrap();
    let v = json(&out);
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 404);
    assert!(arr
        .iter()
        .any(|t| t["name"] == ODD_NAME && t["slug"] == "obrien"));
    // Paged CSV has the same header.
    let out = opsdeck(h.path())
        .args(["tenants", "list", "--limit", "3", "--output", "csv"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("id,slug,name,plan,status,created_at,est_rows,est_rows_capped\n"));
    assert_eq!(text.lines().count(), 4);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--after "));
}

#[tokio::test]
async fn cli_paging_and_usage_errors() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, "");
    let first = opsdeck(h.path())
        .args([
            "tenants", "list", "--limit", "2", "--sort", "slug", "--output", "json",
        ])
        .output()
        .unwrap();
    let v = json(&first);
    assert_eq!(v[0]["slug"], "acct-0001");
    let err = String::from_utf8_lossy(&first.stderr).to_string();
    let cursor = err
        .split("--after ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let second = opsdeck(h.path())
        .args([
            "tenants", "list", "--limit", "2", "--sort", "slug", "--output", "json", "--after",
            &cursor,
        ])
        .output()
        .unwrap();
    assert_eq!(json(&second)[0]["slug"], "acct-0003");
    let wrong_sort = opsdeck(h.path())
        .args([
            "tenants", "list", "--limit", "2", "--sort", "name", "--after", &cursor,
        ])
        .output()
        .unwrap();
    assert_eq!(wrong_sort.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong_sort.stderr).contains("--sort"));
    let garbage = opsdeck(h.path())
        .args(["tenants", "list", "--after", "%%%"])
        .output()
        .unwrap();
    assert_eq!(garbage.status.code(), Some(2));
    let bad_sort = opsdeck(h.path())
        .args(["tenants", "list", "--sort", "plan"])
        .output()
        .unwrap();
    assert_eq!(bad_sort.status.code(), Some(2));
    let unknown = opsdeck(h.path())
        .args(["tenants", "show", "nobody-here"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("nobody-here"));
    let down = opsdeck(h.path())
        .args(["--pg", "postgres://nobody@127.0.0.1:1/x", "tenants", "list"])
        .output()
        .unwrap();
    assert_eq!(down.status.code(), Some(4));
}

#[tokio::test]
async fn show_counts_keys_audit_and_cache() {
    let db = fixture().await;
    let h = home();
    let prefix = common::unique("tn");
    config(
        h.path(),
        &db,
        // {tenant} is the id, {slug} the slug: the keys below are by slug.
        &format!(
            "[contexts.crm.cache]\ntenant_pattern = [\"{prefix}:{{tenant}}:*\", \"{prefix}:{{slug}}:*\"]\n"
        ),
    );
    let client = redis::Client::open(common::redis_url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    for i in 0..5 {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}:obrien:k{i}"))
            .arg("v")
            .arg("EX")
            .arg(120)
            .query_async(&mut con)
            .await
            .unwrap();
    }
    let out = opsdeck(h.path())
        .args([
            "--redis",
            &common::redis_url(),
            "tenants",
            "show",
            "obrien",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["name"], ODD_NAME);
    assert_eq!(v["status"], "live");
    let tables = v["tables"].as_array().unwrap();
    let find = |name: &str| tables.iter().find(|t| t["table"] == name).unwrap().clone();
    assert_eq!(find("crm.contacts")["rows"], 2);
    assert_eq!(find("crm.contacts")["method"], "exact");
    assert_eq!(find("crm.deals")["method"], "estimate");
    assert_eq!(find("crm.Notes \"x\"")["rows"], 0);
    assert_eq!(v["api_keys"][0]["prefix"], "sk_test");
    assert!(
        !out.stdout.windows(6).any(|w| w == b"secret"),
        "key_hash leaked"
    );
    assert_eq!(v["app_audit"][0]["action"], "INSERT");
    assert_eq!(v["cache"]["keys"], 5);
    assert_eq!(v["cache"]["capped"], false);
    assert!(v.get("failed_jobs").is_none());
    let table = opsdeck(h.path())
        .args(["tenants", "show", "obrien"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains(ODD_NAME) && text.contains("crm.contacts"),
        "{text}"
    );
}

async fn state(db: &TestDb, handle: &str) -> String {
    db.client()
        .await
        .query_one(
            "SELECT state FROM crm.accounts WHERE handle = $1",
            &[&handle],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn suspend_resume_are_audited_and_run_hooks() {
    let db = fixture().await;
    let h = home();
    config(
        h.path(),
        &db,
        "suspend_hooks = [\"INSERT INTO ops.hook_log (acct) VALUES ($1::uuid)\"]",
    );
    let init = opsdeck(h.path()).args(["init", "--yes"]).output().unwrap();
    assert_eq!(init.status.code(), Some(0));
    let out = opsdeck(h.path())
        .args(["tenants", "suspend", "obrien", "--yes", "--output", "json"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (Some("live"), Some("frozen"))
    );
    assert_eq!(v["changed"], true);
    assert_eq!(v["hooks_run"], 1);
    assert_eq!(state(&db, "obrien").await, "frozen");
    let c = db.client().await;
    let hooked: i64 = c
        .query_one(
            "SELECT count(*) FROM ops.hook_log h JOIN crm.accounts a ON a.acct_id = h.acct WHERE a.handle = 'obrien'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(hooked, 1);
    // Already suspended: a note, exit 0, nothing new audited.
    let again = opsdeck(h.path())
        .args(["tenants", "suspend", "obrien"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already frozen"));
    let out = opsdeck(h.path())
        .args(["tenants", "resume", "obrien", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(state(&db, "obrien").await, "live");
    let rows = c
        .query(
            "SELECT action, phase, coalesce(outcome, '') FROM opsdeck.audit WHERE action LIKE 'tenants.%' ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let got: Vec<(String, String, String)> = rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    let want = |a: &str, p: &str, o: &str| (a.to_string(), p.to_string(), o.to_string());
    assert_eq!(
        got,
        vec![
            want("tenants.suspend", "start", ""),
            want("tenants.suspend", "end", "ok"),
            want("tenants.resume", "start", ""),
            want("tenants.resume", "end", "ok"),
        ]
    );
    let local = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    assert!(local.lines().any(|l| l.contains("\"tenants.suspend\"")
        && l.contains("\"ok\"")
        && l.contains("\"frozen\"")));
}

#[tokio::test]
async fn failing_hook_rolls_back_the_status() {
    let db = fixture().await;
    let h = home();
    config(
        h.path(),
        &db,
        "suspend_hooks = [\"SELECT no_such_function($1)\"]",
    );
    let out = opsdeck(h.path())
        .args(["tenants", "suspend", "obrien", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("hook #1"));
    assert_eq!(state(&db, "obrien").await, "live");
    let local = std::fs::read_to_string(h.path().join("data/audit.jsonl")).unwrap();
    assert!(local.contains("\"error\""), "{local}");
}

#[tokio::test]
async fn read_only_refuses_and_changes_nothing() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, "");
    for action in ["suspend", "resume"] {
        let target = if action == "suspend" {
            "obrien"
        } else {
            "fifty"
        };
        let out = opsdeck(h.path())
            .args(["--read-only", "tenants", action, target, "--yes"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(3),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("read-only"));
    }
    assert_eq!(state(&db, "obrien").await, "live");
    assert_eq!(state(&db, "fifty").await, "frozen");
    // A change that would be a no-op, or names no tenant, is still refused.
    for args in [["resume", "obrien"], ["suspend", "no-such-tenant"]] {
        let out = opsdeck(h.path())
            .args(["--read-only", "tenants", args[0], args[1], "--yes"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
    }
    // Without --yes and without a terminal nothing is confirmed either.
    let out = opsdeck(h.path())
        .args(["tenants", "suspend", "obrien"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(state(&db, "obrien").await, "live");
}

#[tokio::test]
async fn lint_finds_every_kind_and_nothing_on_a_clean_schema() {
    let db = fixture().await;
    let h = home();
    config(h.path(), &db, "");
    let out = opsdeck(h.path())
        .args(["tenants", "lint", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: HashSet<(String, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["table"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expect = [
        ("rls_disabled", "crm.deals"),
        ("missing_tenant_index", "crm.deals"),
        ("nullable_tenant_column", "crm.deals"),
        ("fk_without_tenant", "crm.deals"),
        ("no_policies", "crm.Notes \"x\""),
    ];
    for (k, t) in expect {
        assert!(
            found.contains(&(k.to_string(), t.to_string())),
            "{k} on {t}: {found:?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:?}");
    assert!(!found
        .iter()
        .any(|(_, t)| t == "crm.contacts" || t == "crm.accounts"));
    // Apply every fix_sql (outside a transaction: CONCURRENTLY) and lint again.
    let c = db.client().await;
    for f in v.as_array().unwrap() {
        for stmt in f["fix_sql"].as_str().unwrap().split(";\n") {
            c.batch_execute(stmt)
                .await
                .unwrap_or_else(|e| panic!("{stmt}: {e}"));
        }
    }
    let out = opsdeck(h.path())
        .args(["tenants", "lint", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out), serde_json::json!([]));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tenancy findings"));
    // A tenant column that no table has is not a clean bill: it says so.
    let out = opsdeck(h.path())
        .args(["tenants", "lint", "--output", "json"])
        .env("OPSDECK_CONFIG", {
            let p = h.path().join("wrong.toml");
            let text = std::fs::read_to_string(h.path().join("config/config.toml")).unwrap();
            std::fs::write(
                &p,
                text.replace("tenant_column = \"acct\"", "tenant_column = \"tenant_id\""),
            )
            .unwrap();
            p
        })
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing was linted"), "{err}");
    assert!(err.contains("tenant_id"), "{err}");
}

#[tokio::test]
async fn table_output_escapes_control_characters_and_cuts_long_names() {
    let db = fixture().await;
    let evil = "Evil \u{1b}]0;pwned\u{7}\u{1b}[2J corp";
    let long = format!("Long {}", "x".repeat(3000));
    db.client()
        .await
        .execute(
            "UPDATE crm.accounts SET \"display name\" = CASE handle WHEN 'acct-0001' THEN $1 ELSE $2 END
             WHERE handle IN ('acct-0001', 'acct-0002')",
            &[&evil, &long],
        )
        .await
        .unwrap();
    let h = home();
    config(h.path(), &db, "");
    for args in [
        vec!["tenants", "list", "--search", "acct-000", "--no-sizes"],
        vec!["tenants", "show", "acct-0001"],
    ] {
        // Wide enough that no cell wraps: the escaped name is checked whole.
        let out = opsdeck(h.path())
            .env("COLUMNS", "200")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            !text.contains('\u{1b}') && !text.contains('\u{7}'),
            "{text:?}"
        );
        assert!(text.contains("Evil \\u{1b}]0;pwned"), "{text}");
        assert!(text.lines().all(|l| l.chars().count() < 400), "{args:?}");
    }
    let out = opsdeck(h.path())
        .args(["tenants", "show", "acct-0001", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(json(&out)["name"], evil, "JSON keeps the text as stored");
}

#[tokio::test]
async fn tables_without_plan_or_created_at_and_an_enum_status_work() {
    let db = TestDb::new().await;
    db.client()
        .await
        .batch_execute(
            "CREATE TYPE st AS ENUM ('on', 'off');
             CREATE TABLE customers (cid int PRIMARY KEY, code text, label text, st st NOT NULL DEFAULT 'on');
             INSERT INTO customers VALUES (1, 'a', 'A', 'on'), (2, 'b', 'B', 'off');",
        )
        .await
        .unwrap();
    let h = home();
    let config = h.path().join("enum.toml");
    std::fs::write(
        &config,
        format!(
            r#"[contexts.e]
pg = "{}"
[contexts.e.schema]
tenants_table = "customers"
tenant_id = "cid"
tenant_slug = "code"
tenant_name = "label"
tenant_plan = ""
tenant_created_at = ""
tenant_status = "st"
status_active = "on"
status_suspended = "off"
tenant_column = "cid"
"#,
            db.url
        ),
    )
    .unwrap();
    let cfg = config.to_str().unwrap();
    let out = opsdeck(h.path())
        .args(["--config", cfg, "tenants", "list", "--output", "json"])
        .output()
        .unwrap();
    let rows = json(&out);
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert_eq!(rows[0]["plan"], serde_json::Value::Null);
    assert_eq!(rows[0]["created_at"], serde_json::Value::Null);
    // An enum's labels are the valid statuses, whatever the data holds.
    let out = opsdeck(h.path())
        .args(["--config", cfg, "tenants", "list", "--status", "live"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use one of on, off"), "{err}");
    let out = opsdeck(h.path())
        .args([
            "--config", cfg, "tenants", "list", "--status", "off", "--output", "json",
        ])
        .output()
        .unwrap();
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    let out = opsdeck(h.path())
        .args([
            "--config", cfg, "--yes", "tenants", "suspend", "a", "--output", "json",
        ])
        .output()
        .unwrap();
    assert_eq!(json(&out)["to"], "off");
}

#[tokio::test]
async fn unknown_status_is_a_usage_error_naming_the_valid_values() {
    let db = fixture().await;
    db.client()
        .await
        .batch_execute("UPDATE crm.accounts SET state = 'closed' WHERE handle = 'acct-0007'")
        .await
        .unwrap();
    let h = home();
    config(h.path(), &db, "");
    for output in ["table", "csv", "json"] {
        let out = opsdeck(h.path())
            .args(["tenants", "list", "--status", "bogus", "--output", output])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--output {output}");
        assert!(out.stdout.is_empty(), "no partial output for {output}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("'bogus'") && err.contains("use one of live, frozen, closed"),
            "mapped values, then the others present: {err}"
        );
    }
    // A value the mapping does not name but the data holds is a valid filter.
    let out = opsdeck(h.path())
        .args(["tenants", "list", "--status", "closed", "--output", "json"])
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["slug"], "acct-0007");
    // A mapped value nobody has yet lists nothing, successfully.
    db.client()
        .await
        .batch_execute("UPDATE crm.accounts SET state = 'live' WHERE state = 'frozen'")
        .await
        .unwrap();
    let out = opsdeck(h.path())
        .args(["tenants", "list", "--status", "frozen", "--output", "json"])
        .output()
        .unwrap();
    assert_eq!(json(&out), serde_json::json!([]));
}

#[tokio::test]
async fn show_tells_active_expired_and_revoked_keys_apart() {
    let db = fixture().await;
    db.client()
        .await
        .batch_execute(
            "INSERT INTO ops.keys (acct, name, prefix, key_hash, expires_at, revoked_at)
             SELECT acct_id, v.name, 'sk_live', 'h', v.expires_at, v.revoked_at
             FROM crm.accounts, (VALUES
                 ('expired', now() - interval '1 minute', NULL::timestamptz),
                 ('revoked', now() + interval '30 days', now() - interval '1 day'),
                 ('active', now() + interval '30 days', NULL),
                 ('expiring', now() + interval '2 days', NULL)) v(name, expires_at, revoked_at)
             WHERE handle = 'acct-0002'",
        )
        .await
        .unwrap();
    let h = home();
    config(h.path(), &db, "");
    let out = opsdeck(h.path())
        .args(["tenants", "show", "acct-0002", "--output", "json"])
        .output()
        .unwrap();
    let v = json(&out);
    let keys = v["api_keys"].as_array().unwrap();
    let state = |name: &str| {
        keys.iter()
            .find(|k| k["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {keys:?}"))["state"]
            .clone()
    };
    assert_eq!(state("expired"), "expired");
    assert_eq!(state("revoked"), "revoked");
    assert_eq!(state("active"), "active");
    assert_eq!(state("expiring"), "expiring");
    let p = pg(&db).await;
    let d = tenants::show(
        &p,
        None,
        &map(),
        &Default::default(),
        &Default::default(),
        "acct-0002",
    )
    .await
    .unwrap();
    assert_eq!(
        (d.api_keys_total, d.api_keys_active),
        (Some(4), Some(2)),
        "active counts keys neither revoked nor expired"
    );
    let usable = d
        .api_keys
        .unwrap()
        .iter()
        .filter(|k| k.state.usable())
        .count();
    assert_eq!(usable, 2, "active and expiring keys still authenticate");
}
