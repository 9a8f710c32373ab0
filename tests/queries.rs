//! The queries core against a throwaway cluster with pg_stat_statements
//! preloaded (one cluster for the binary; each scenario owns its database
//! and roles): the slow statement ranked first, the lock tree with the right
//! blocker, cancel and terminate through the safety layer with audit
//! records, generic plans of `$1` statements, and a pg_monitor role that is
//! not a superuser seeing the views.

mod common;

use common::pg::{backend_pid, client};

use common::unique;
use opsdeck::config::{Config, ContextOverrides, Paths};
use opsdeck::queries::{
    self, activity::ActiveQuery, reset, signal, stat_statements, ExplainTarget, Signal, SlowQuery,
    SortKey,
};
use opsdeck::safety::Approval;
use opsdeck::sandbox::{PgOptions, PgSandbox};
use opsdeck::session::Session;
use opsdeck::Error;
use std::path::Path;
use std::time::Duration;

/// A session of opsdeck for `url`, auditing into `dir`.
fn session(url: &str, dir: &Path) -> Session {
    session_with(url, dir, "")
}

/// With `extra` lines in the context (`pooler = "transaction"`).
fn session_with(url: &str, dir: &Path, extra: &str) -> Session {
    let config = Config::parse(
        &format!("default_context = \"t\"\n[contexts.t]\npg = \"{url}\"\n{extra}\n"),
        Path::new("c.toml"),
    )
    .unwrap();
    Session::new(
        config,
        Paths::under(dir.to_path_buf()),
        None,
        &ContextOverrides::default(),
    )
    .unwrap()
}

/// A database of its own and a login role `app` (not a superuser) owning it.
struct Scenario {
    db: String,
    app: String,
    dir: tempfile::TempDir,
}

impl Scenario {
    async fn new(sb: &PgSandbox) -> Scenario {
        let db = unique("q");
        let app = unique("app");
        sb.create_database(&db).await.unwrap();
        let admin = sb.connect(&db).await.unwrap();
        admin
            .batch_execute(&format!(
                "CREATE ROLE {app} LOGIN; GRANT ALL ON SCHEMA public TO {app};
                 CREATE TABLE public.t (id int PRIMARY KEY, kind text);
                 INSERT INTO public.t SELECT g, 'k' || (g % 10) FROM generate_series(1, 5000) g;
                 GRANT ALL ON public.t TO {app}; ANALYZE public.t;"
            ))
            .await
            .unwrap();
        Scenario {
            db,
            app,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn url(&self, sb: &PgSandbox, user: &str, app_name: &str) -> String {
        format!(
            "postgres://{user}@127.0.0.1:{}/{}?application_name={app_name}",
            sb.port(),
            self.db
        )
    }

    fn opsdeck(&self, sb: &PgSandbox) -> Session {
        let url = format!("postgres://postgres@127.0.0.1:{}/{}", sb.port(), self.db);
        session(&url, self.dir.path())
    }

    fn audit(&self, s: &Session) -> String {
        std::fs::read_to_string(s.audit_path()).unwrap_or_default()
    }
}

fn sessions(include_idle: bool) -> ActiveQuery {
    ActiveQuery {
        include_idle,
        include_own: false,
        limit: 100,
    }
}

fn top(sort: SortKey, limit: u32) -> SlowQuery {
    SlowQuery { sort, limit }
}

/// One cluster start is slow, so every scenario runs on the same one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_core_on_a_sandbox() {
    let sb = PgSandbox::start(PgOptions::default())
        .await
        .expect("sandbox");
    slow_statement_ranks_first(&sb).await;
    blocked_session_in_the_tree_then_cancel_and_terminate(&sb).await;
    explain_generic_plans(&sb).await;
    pg_monitor_role_sees_the_views(&sb).await;
    extension_in_another_schema_or_missing(&sb).await;
}

async fn slow_statement_ranks_first(sb: &PgSandbox) {
    let sc = Scenario::new(sb).await;
    let app = client(&sc.url(sb, &sc.app, "api")).await;
    for i in 0..50 {
        app.query("SELECT kind FROM public.t WHERE id = $1", &[&i])
            .await
            .unwrap();
    }
    app.batch_execute("SELECT pg_sleep(0.4)").await.unwrap();
    let s = sc.opsdeck(sb);
    let pg = s.pg().await.unwrap();
    let pss = stat_statements::locate(&pg).await.unwrap();
    assert_eq!(pss.schema, "public");
    let q = top(SortKey::Total, 10);
    // Twice: the first call's own statements must not show in the second.
    stat_statements::slow(&pg, &pss, q).await.unwrap();
    let rows = stat_statements::slow(&pg, &pss, q).await.unwrap();
    assert!(rows[0].query.contains("pg_sleep"), "{rows:#?}");
    assert!(rows[0].total_time_ms >= 400.0, "{:?}", rows[0]);
    assert!(rows[0].share_pct > 50.0, "{:?}", rows[0]);
    assert!(
        !rows.iter().any(|r| r.query.contains("opsdeck")),
        "opsdeck's own statements are left out: {rows:#?}"
    );
    let by_calls = stat_statements::slow(&pg, &pss, top(SortKey::Calls, 10))
        .await
        .unwrap();
    assert!(
        by_calls[0].query.contains("WHERE id = $1") && by_calls[0].calls == 50,
        "{by_calls:#?}"
    );
    // One statement a refresh of each view (the budget is five), each one
    // marked as opsdeck's and so left out of what it reports.
    let admin = sb.connect(&sc.db).await.unwrap();
    let own_calls = || async {
        admin
            .query_one(
                "SELECT coalesce(sum(calls), 0)::int8 FROM pg_stat_statements
                 WHERE query LIKE '%/* opsdeck */%' AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
    };
    let before = own_calls().await;
    stat_statements::slow(&pg, &pss, q).await.unwrap();
    assert_eq!(own_calls().await - before, 1, "slow");
    let before = own_calls().await;
    let aq = sessions(true);
    queries::active(&pg, aq).await.unwrap();
    assert_eq!(own_calls().await - before, 1, "active");
    let before = own_calls().await;
    queries::lock_tree(&pg).await.unwrap();
    assert_eq!(own_calls().await - before, 1, "locks");
    let before = own_calls().await;
    opsdeck::health::hot::top_sessions(&pg).await.unwrap();
    assert_eq!(own_calls().await - before, 1, "cockpit");

    // Reset through the safety layer: the counts start again, audited.
    let safety = s.safety().await;
    let approved = safety
        .authorize(reset::plan(pss.clone()), Approval::Typed(sc.db.clone()))
        .await
        .unwrap();
    let done = reset::apply(&pg, approved).await.unwrap();
    assert!(done.this_database_only);
    let after = stat_statements::slow(&pg, &pss, q).await.unwrap();
    assert!(
        !after.iter().any(|r| r.query.contains("pg_sleep")),
        "{after:#?}"
    );
    assert!(sc.audit(&s).contains("queries.reset_stats"));
}

async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} did not happen within 10 s");
}

async fn blocked_session_in_the_tree_then_cancel_and_terminate(sb: &PgSandbox) {
    let sc = Scenario::new(sb).await;
    let blocker = client(&sc.url(sb, &sc.app, "blocker")).await;
    let blocker_pid = backend_pid(&blocker).await;
    blocker
        .batch_execute("BEGIN; LOCK TABLE public.t IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let waiter = client(&sc.url(sb, &sc.app, "waiter")).await;
    let waiter_pid = backend_pid(&waiter).await;
    let waiting =
        tokio::spawn(async move { waiter.batch_execute("SELECT count(*) FROM public.t").await });
    let s = sc.opsdeck(sb);
    let pg = s.pg().await.unwrap();
    let tree = wait_for("the waiter in the lock tree", || async {
        let t = queries::lock_tree(&pg).await.unwrap();
        t.iter().any(|n| n.session.pid == waiter_pid).then_some(t)
    })
    .await;
    let mine: Vec<_> = tree
        .iter()
        .filter(|n| [blocker_pid, waiter_pid].contains(&n.session.pid))
        .collect();
    assert_eq!(mine.len(), 2, "{tree:#?}");
    assert_eq!(mine[0].session.pid, blocker_pid, "the blocker is the root");
    assert_eq!(mine[0].depth, 0);
    assert_eq!(mine[0].held_modes.as_deref(), Some("AccessExclusiveLock"));
    assert_eq!(mine[1].depth, 1);
    assert_eq!(mine[1].blocked_by, [blocker_pid]);
    assert_eq!(mine[1].waiting_mode.as_deref(), Some("AccessShareLock"));
    assert_eq!(mine[1].waiting_on.as_deref(), Some("t"));
    assert_eq!(mine[1].session.application_name, "waiter");
    // The overview's "costing most now" pane names the blocker first.
    let top = opsdeck::health::hot::top_sessions(&pg).await.unwrap();
    assert_eq!(top.first().map(|t| t.pid), Some(blocker_pid), "{top:?}");
    assert!(top[0].blocking >= 1, "{top:?}");
    let active = queries::active(&pg, sessions(false)).await.unwrap();
    let b = active.iter().find(|r| r.pid == blocker_pid).unwrap();
    assert!(b.idle_in_transaction, "{b:?}");
    assert!(
        !active.iter().any(|r| r.own),
        "own sessions left out: {active:#?}"
    );

    // opsdeck's own session and a superuser's are refused unless forced.
    let own: i32 = pg.row("SELECT pg_backend_pid()", &[]).await.unwrap().get(0);
    let e = signal::plan(&pg, Signal::Cancel, own, false)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Refused { .. }) && e.to_string().contains("own"),
        "{e}"
    );
    let admin = sb.connect(&sc.db).await.unwrap();
    let su = backend_pid(&admin).await;
    let e = signal::plan(&pg, Signal::Terminate, su, false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("superuser"), "{e}");
    assert!(signal::plan(&pg, Signal::Cancel, su, true).await.is_ok());
    let e = signal::plan(&pg, Signal::Cancel, 999_999, false)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e}");

    // Cancel the waiter: its statement fails with query_canceled, audited.
    let safety = s.safety().await;
    let plan = signal::plan(&pg, Signal::Cancel, waiter_pid, false)
        .await
        .unwrap();
    let approved = safety.authorize(plan, Approval::Confirmed).await.unwrap();
    let done = signal::apply(&pg, approved).await.unwrap();
    assert!(done.signalled);
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("57014"), "{err}");

    // Terminate needs the pid typed; a yes is not enough.
    let plan = signal::plan(&pg, Signal::Terminate, blocker_pid, false)
        .await
        .unwrap();
    assert!(safety.authorize(plan, Approval::Confirmed).await.is_err());
    let plan = signal::plan(&pg, Signal::Terminate, blocker_pid, false)
        .await
        .unwrap();
    let approved = safety
        .authorize(plan, Approval::Typed(blocker_pid.to_string()))
        .await
        .unwrap();
    assert!(signal::apply(&pg, approved).await.unwrap().signalled);
    wait_for("the blocker's connection to close", || async {
        blocker.is_closed().then_some(())
    })
    .await;
    let audit = sc.audit(&s);
    for action in ["queries.cancel", "queries.terminate"] {
        let ended_ok = audit
            .lines()
            .any(|l| l.contains(action) && l.contains("\"end\"") && l.contains("\"ok\""));
        assert!(ended_ok, "{action}: {audit}");
    }
    assert!(
        audit.contains("\"refused\""),
        "the typed-name refusal: {audit}"
    );
}

async fn explain_generic_plans(sb: &PgSandbox) {
    let sc = Scenario::new(sb).await;
    let app = client(&sc.url(sb, &sc.app, "api")).await;
    app.query(
        "SELECT id FROM public.t WHERE kind = $1 AND id > $2",
        &[&"k1", &10],
    )
    .await
    .unwrap();
    let s = sc.opsdeck(sb);
    let pg = s.pg_dedicated().await.unwrap();
    let pss = stat_statements::locate(&pg).await.unwrap();
    let q = top(SortKey::Calls, 50);
    let rows = stat_statements::slow(&pg, &pss, q).await.unwrap();
    let st = rows
        .iter()
        .find(|r| r.query.contains("kind = $1"))
        .unwrap_or_else(|| panic!("{rows:#?}"));
    let e = queries::explain(&pg, &ExplainTarget::parse(&st.queryid), false)
        .await
        .unwrap();
    assert_eq!(e.params, 2);
    assert!(!e.analyzed);
    assert!(
        e.nodes.iter().any(|n| n.label.ends_with(" on t")),
        "{:#?}",
        e.nodes
    );
    assert_eq!(e.nodes.iter().filter(|n| n.hottest).count(), 1);
    // Nothing outlives the transaction: no prepared statement, no transaction.
    let left: i64 = pg
        .row("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    // A failing plan leaves nothing behind either.
    let bad = queries::explain(
        &pg,
        &ExplainTarget::parse("SELECT * FROM nope WHERE a = $1"),
        false,
    )
    .await
    .unwrap_err();
    assert!(bad.to_string().contains("nope"), "{bad}");
    let r = pg
        .row("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap();
    assert_eq!(r.get::<_, i64>(0), 0);
    // SAVEPOINT only works inside a transaction block: none is left open.
    let e = pg
        .rows("SAVEPOINT probe", &[])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("transaction block"), "{e}");

    // Behind a transaction pooler every statement carries its own limits;
    // the explain is still one transaction that leaves nothing behind.
    let url = format!("postgres://postgres@127.0.0.1:{}/{}", sb.port(), sc.db);
    let pooled = session_with(&url, sc.dir.path(), "pooler = \"transaction\"");
    let ppg = pooled.pg_dedicated().await.unwrap();
    let e = queries::explain(&ppg, &ExplainTarget::parse(&st.queryid), false)
        .await
        .unwrap();
    assert_eq!(e.params, 2);
    let left: i64 = ppg
        .row("SELECT count(*) FROM pg_prepared_statements", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
    let sql = ExplainTarget::parse("SELECT count(*) FROM public.t WHERE id < $1");
    let a = queries::explain(&pg, &sql, true).await.unwrap();
    assert!(
        a.analyzed && a.nodes[0].actual_ms.is_some(),
        "{:#?}",
        a.nodes
    );
    for (text, why) in [
        ("SELECT pg_sleep(1)", "pg_sleep"),
        ("UPDATE public.t SET kind = 'x'", "not a SELECT"),
        ("SELECT nextval('s')", "nextval"),
    ] {
        let e = queries::explain(&pg, &ExplainTarget::parse(text), true)
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Refused { .. }) && e.to_string().contains(why),
            "{text}: {e}"
        );
    }
    let n: i64 = sb
        .connect(&sc.db)
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM public.t WHERE kind = 'x'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 0);
}

async fn pg_monitor_role_sees_the_views(sb: &PgSandbox) {
    let sc = Scenario::new(sb).await;
    let mon = unique("mon");
    sb.connect(&sc.db)
        .await
        .unwrap()
        .batch_execute(&format!("CREATE ROLE {mon} LOGIN IN ROLE pg_monitor"))
        .await
        .unwrap();
    let app = client(&sc.url(sb, &sc.app, "api")).await;
    app.batch_execute("SELECT count(*) FROM public.t WHERE kind = 'k7'")
        .await
        .unwrap();
    let waiter = client(&sc.url(sb, &sc.app, "sleeper")).await;
    let sleeping = tokio::spawn(async move { waiter.batch_execute("SELECT pg_sleep(30)").await });
    let s = session(&sc.url(sb, &mon, "opsdeck/t"), sc.dir.path());
    let pg = s.pg().await.unwrap();
    let pss = stat_statements::locate(&pg).await.unwrap();
    let rows = stat_statements::slow(&pg, &pss, top(SortKey::Total, 50))
        .await
        .unwrap();
    let seen = rows.iter().find(|r| r.query.contains("kind = $1"));
    assert!(
        seen.is_some_and(|r| r.username.as_deref() == Some(sc.app.as_str())),
        "another role's statement, text and all: {rows:#?}"
    );
    let active = wait_for("the sleeper", || async {
        let a = queries::active(&pg, sessions(false)).await.unwrap();
        a.iter()
            .any(|r| r.application_name == "sleeper")
            .then_some(a)
    })
    .await;
    let sleeper = active
        .iter()
        .find(|r| r.application_name == "sleeper")
        .unwrap();
    assert_eq!(sleeper.query.as_deref(), Some("SELECT pg_sleep(30)"));
    queries::lock_tree(&pg).await.unwrap();
    opsdeck::health::hot::top_sessions(&pg).await.unwrap();
    // pg_monitor cannot signal another role's session: the server says so.
    let plan = signal::plan(&pg, Signal::Cancel, sleeper.pid, false)
        .await
        .unwrap();
    let approved = s
        .safety()
        .await
        .authorize(plan, Approval::AssumeYes)
        .await
        .unwrap();
    let e = signal::apply(&pg, approved).await.unwrap_err();
    assert!(matches!(e, Error::Server { .. }), "{e}");
    sleeping.abort();
    sb.connect(&sc.db)
        .await
        .unwrap()
        .execute("SELECT pg_terminate_backend($1)", &[&sleeper.pid])
        .await
        .unwrap();
}

async fn extension_in_another_schema_or_missing(sb: &PgSandbox) {
    let db = unique("q_bare");
    let admin = sb.connect("postgres").await.unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {db} TEMPLATE template0"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("postgres://postgres@127.0.0.1:{}/{db}", sb.port());
    let s = session(&url, dir.path());
    let pg = s.pg().await.unwrap();
    let e = stat_statements::locate(&pg).await.unwrap_err().to_string();
    assert!(
        e.contains("not installed")
            && e.contains("CREATE EXTENSION pg_stat_statements")
            && e.contains("shared_preload_libraries"),
        "{e}"
    );
    let c = sb.connect(&db).await.unwrap();
    c.batch_execute("CREATE SCHEMA watch; CREATE EXTENSION pg_stat_statements SCHEMA watch; SELECT pg_sleep(0.2)")
        .await
        .unwrap();
    let pss = stat_statements::locate(&pg).await.unwrap();
    assert_eq!(pss.schema, "watch");
    let rows = stat_statements::slow(&pg, &pss, top(SortKey::Mean, 5))
        .await
        .unwrap();
    assert!(rows[0].query.contains("pg_sleep"), "{rows:#?}");
}
