//! `opsdeck doctor`: one line per check with ok/warn/fail and the fix.

use crate::conn::sql::{quote_ident, QualName};
use crate::conn::{Limits, Pg};
use crate::error::{Error, NO_POSTGRES_HINT, NO_REDIS_HINT};
use crate::session::Session;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: String,
    pub status: Status,
    pub detail: String,
    /// What to do about a warn or fail; empty when ok.
    pub fix: String,
}

fn check(name: &str, status: Status, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check: name.to_string(),
        status,
        detail: detail.into(),
        fix: fix.into(),
    }
}

pub async fn run(session: &Session) -> Vec<Check> {
    let mut out = vec![
        config_check(session),
        audit_file_check(session),
        keyring_check(session),
    ];
    if session.has_pg() {
        match session.pg().await {
            Ok(pg) => {
                out.push(check(
                    "postgres",
                    Status::Ok,
                    format!("connected to {} as {} (PostgreSQL {})", pg.target, pg.role, pg.server_version),
                    "",
                ));
                out.extend(postgres_checks(session, &pg).await);
            }
            Err(e) => out.push(check(
                "postgres",
                Status::Fail,
                e.to_string(),
                "check --pg / OPSDECK_PG_URL / the context's pg setting and that the server is reachable",
            )),
        }
    } else {
        out.push(check(
            "postgres",
            Status::Warn,
            "no Postgres configured",
            NO_POSTGRES_HINT,
        ));
    }
    if session.ctx.redis.is_some() {
        match session.redis().await {
            Ok(r) => out.push(redis_check(&r).await),
            Err(e) => out.push(check(
                "redis",
                Status::Fail,
                e.to_string(),
                "check --redis / OPSDECK_REDIS_URL / the context's redis setting",
            )),
        }
    } else {
        out.push(check(
            "redis",
            Status::Warn,
            "no Redis configured",
            NO_REDIS_HINT,
        ));
    }
    out
}

fn config_check(session: &Session) -> Check {
    let Some(path) = &session.config.source else {
        return check(
            "config",
            Status::Ok,
            format!(
                "no config file; defaults in use ({} would be read)",
                session.paths.config_file().display()
            ),
            "",
        );
    };
    if let Some(warning) = session.config.exposure_warning() {
        return check(
            "config",
            Status::Warn,
            warning,
            format!("chmod 600 {}", path.display()),
        );
    }
    check(
        "config",
        Status::Ok,
        format!("{} parsed; context '{}'", path.display(), session.ctx.name),
        "",
    )
}

fn keyring_check(session: &Session) -> Check {
    use crate::conn::credentials::{keyring_get, keyring_usable, KeyLookup};
    if !keyring_usable() {
        return check(
            "keyring",
            Status::Warn,
            "no OS keyring in this session (no session keyring): `opsdeck login` cannot store passwords",
            "use password_command in the context (pass, vault, 1Password CLI), PGPASSWORD or ~/.pgpass",
        );
    }
    match keyring_get(&session.ctx.name) {
        KeyLookup::Found(_) => check(
            "keyring",
            Status::Ok,
            format!("a password for context '{}' is stored in the OS keyring", session.ctx.name),
            "",
        ),
        KeyLookup::Missing => check("keyring", Status::Ok, "OS keyring reachable; no password stored for this context", ""),
        KeyLookup::Unavailable(why) => check(
            "keyring",
            Status::Warn,
            format!("no OS keyring in this session ({why})"),
            "use password_command in the context (pass, vault, 1Password CLI), PGPASSWORD or ~/.pgpass",
        ),
    }
}

fn audit_file_check(session: &Session) -> Check {
    let path = session.audit_path();
    match crate::config::private::open_append(&path) {
        Ok(_) => check(
            "audit_log",
            Status::Ok,
            format!("local audit log {}", path.display()),
            "",
        ),
        Err(e) => check(
            "audit_log",
            Status::Fail,
            format!("cannot write {}: {e}", path.display()),
            "make the data dir writable or set [audit] local_path",
        ),
    }
}

async fn postgres_checks(session: &Session, pg: &Pg) -> Vec<Check> {
    let mut out = Vec::new();
    let q = "SELECT
        current_setting('server_version_num')::int,
        (SELECT setting FROM pg_settings WHERE name = 'shared_preload_libraries'),
        EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'),
        EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg'),
        EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg'),
        EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'amcheck'),
        EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'amcheck'),
        (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
        pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER'),
        pg_has_role(current_user, 'pg_signal_backend', 'MEMBER'),
        to_regclass('opsdeck.audit') IS NOT NULL,
        current_setting('transaction_read_only'),
        (SELECT setting FROM pg_settings WHERE name = 'statement_timeout'),
        (SELECT setting FROM pg_settings WHERE name = 'lock_timeout')";
    let row = match pg.row(q, &[]).await {
        Ok(r) => r,
        Err(e) => {
            out.push(check(
                "postgres_catalog",
                Status::Fail,
                format!("cannot read the catalog: {e}"),
                "connect as a role that can read pg_catalog",
            ));
            return out;
        }
    };
    out.push(if pg.caps.supported() {
        check(
            "server_version",
            Status::Ok,
            format!("PostgreSQL {}", pg.server_version),
            "",
        )
    } else {
        check(
            "server_version",
            Status::Warn,
            format!("PostgreSQL {} is older than 13", pg.server_version),
            "some views (pg_stat_statements columns, replication lag) need PostgreSQL 13+",
        )
    });
    // pg_settings hides shared_preload_libraries from roles without
    // superuser or pg_read_all_settings (current_setting would raise).
    let preload: Option<String> = row.get(1);
    let pss_installed: bool = row.get(2);
    let preloaded = preload
        .as_deref()
        .map(|p| p.split(',').any(|l| l.trim() == "pg_stat_statements"));
    out.push(match (preloaded, pss_installed) {
        (Some(true), true) => check("pg_stat_statements", Status::Ok, "loaded and installed", ""),
        (None, true) => check(
            "pg_stat_statements",
            Status::Ok,
            "installed (this role cannot read shared_preload_libraries)",
            "",
        ),
        (None, false) => check(
            "pg_stat_statements",
            Status::Warn,
            "not created in this database (this role cannot read shared_preload_libraries)",
            "CREATE EXTENSION pg_stat_statements; (it must also be in shared_preload_libraries)",
        ),
        (Some(true), false) => check(
            "pg_stat_statements",
            Status::Warn,
            "preloaded but the extension is not created in this database",
            "CREATE EXTENSION pg_stat_statements;",
        ),
        (Some(false), _) => check(
            "pg_stat_statements",
            Status::Warn,
            "not in shared_preload_libraries: slow-query views and index advice have no workload",
            "add pg_stat_statements to shared_preload_libraries, restart, then CREATE EXTENSION pg_stat_statements;",
        ),
    });
    out.push(stat_statements_check(pg).await);
    let (hypo_avail, hypo_inst): (bool, bool) = (row.get(3), row.get(4));
    out.push(match (hypo_avail, hypo_inst) {
        (_, true) => check(
            "hypopg",
            Status::Ok,
            "installed: index advice is verified by the planner",
            "",
        ),
        (true, false) => check(
            "hypopg",
            Status::Warn,
            "available but not created: index advice falls back to heuristics",
            "CREATE EXTENSION hypopg;",
        ),
        (false, false) => check(
            "hypopg",
            Status::Warn,
            "not installed on the server: index advice falls back to heuristics",
            format!(
                "install the hypopg package (Debian: {}), then CREATE EXTENSION hypopg;",
                pg.caps.debian_package("hypopg")
            ),
        ),
    });
    let (am_avail, am_inst): (bool, bool) = (row.get(5), row.get(6));
    out.push(match (am_avail, am_inst) {
        (_, true) => check(
            "amcheck",
            Status::Ok,
            "installed: drills verify index integrity",
            "",
        ),
        (true, false) => check(
            "amcheck",
            Status::Warn,
            "available but not created",
            "CREATE EXTENSION amcheck;",
        ),
        (false, false) => check(
            "amcheck",
            Status::Warn,
            "not available: drills skip index verification",
            "install the PostgreSQL contrib package",
        ),
    });
    let (superuser, read_stats, signal): (bool, bool, bool) = (
        row.get::<_, Option<bool>>(7).unwrap_or(false),
        row.get(8),
        row.get(9),
    );
    out.push(if superuser || read_stats {
        check(
            "privileges",
            Status::Ok,
            format!("{} can read all statistics", pg.role),
            "",
        )
    } else {
        check(
            "privileges",
            Status::Warn,
            format!("{} cannot see other roles' queries and statistics", pg.role),
            format!("GRANT pg_read_all_stats TO {};", quote_ident(&pg.role)),
        )
    });
    if !superuser && !signal {
        out.push(check(
            "cancel_privilege",
            Status::Warn,
            format!(
                "{} cannot cancel or terminate other roles' queries",
                pg.role
            ),
            format!("GRANT pg_signal_backend TO {};", quote_ident(&pg.role)),
        ));
    }
    let has_schema: bool = row.get(10);
    out.push(if has_schema {
        check(
            "opsdeck_schema",
            Status::Ok,
            "opsdeck.audit exists: audit goes to the database too",
            "",
        )
    } else {
        check(
            "opsdeck_schema",
            Status::Warn,
            "no opsdeck schema: the audit log is local only",
            "opsdeck init",
        )
    });
    let ro: String = row.get(11);
    if session.ctx.read_only {
        out.push(if ro == "on" {
            check("read_only", Status::Ok, "transactions are read-only", "")
        } else {
            check(
                "read_only",
                Status::Fail,
                "the context is read-only but the session is not",
                format!("set pooler = \"transaction\" in [contexts.{}] if the server sits behind a pooler that drops startup options", session.ctx.name),
            )
        });
    }
    out.push(limits_check(session, pg, [row.get(12), row.get(13)]));
    out.push(tenancy_check(session, pg).await);
    out
}

/// Reads pg_stat_statements the way `opsdeck queries slow` does, so an
/// extension that is created but not loaded, or not readable by this role,
/// fails here with the fix instead of in the middle of an incident.
async fn stat_statements_check(pg: &Pg) -> Check {
    use crate::queries::stat_statements::{self as pss, SlowQuery, SortKey, PSS_FIX};
    let probe = async {
        let p = pss::locate(pg).await?;
        let q = SlowQuery {
            sort: SortKey::Total,
            limit: 1,
        };
        pss::slow(pg, &p, q).await.map(|_| p)
    };
    match probe.await {
        Ok(p) => check(
            "queries_view",
            Status::Ok,
            format!(
                "pg_stat_statements {} readable in schema {}",
                p.version, p.schema
            ),
            "",
        ),
        Err(Error::Server { detail, .. }) => check("queries_view", Status::Warn, detail, PSS_FIX),
        Err(e) => check("queries_view", Status::Warn, e.to_string(), PSS_FIX),
    }
}

/// Whether the session limits really apply, and how they reach the server:
/// behind a pooler a limit sent at startup may be dropped without a word.
fn limits_check(session: &Session, pg: &Pg, got: [String; 2]) -> Check {
    use crate::conn::pg::PerTransaction;
    let want = pg.settings().expected();
    let shown: Vec<String> = want
        .iter()
        .zip(&got)
        .map(|((name, _), v)| format!("{name} = {v} ms"))
        .collect();
    let detail = format!("{}; {}", shown.join(", "), pg.limits.describe());
    let fix = format!(
        "set pooler = \"transaction\" in [contexts.{}]",
        session.ctx.name
    );
    if want.iter().zip(&got).any(|((_, w), g)| *g != w.to_string()) {
        let wanted: Vec<String> = want.iter().map(|(n, w)| format!("{n} = {w} ms")).collect();
        return check(
            "session_limits",
            Status::Fail,
            format!("{detail}; expected {}", wanted.join(", ")),
            fix,
        );
    }
    match pg.limits {
        Limits::PerTransaction(PerTransaction::OptionsRefused | PerTransaction::OptionsIgnored) => {
            check("session_limits", Status::Warn, detail, fix)
        }
        _ => check("session_limits", Status::Ok, detail, ""),
    }
}

async fn tenancy_check(session: &Session, pg: &Pg) -> Check {
    let map = &session.ctx.schema;
    let q = "SELECT
        to_regclass($1) IS NOT NULL,
        (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $3 AND NOT a.attisdropped
          WHERE n.nspname = $2 AND c.relkind IN ('r', 'p')),
        (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = $3 AND NOT a.attisdropped
          WHERE n.nspname = $2 AND c.relkind IN ('r', 'p') AND NOT c.relrowsecurity)";
    let name = match QualName::parse(&map.tenants_table, &map.app_schema) {
        Ok(n) => n,
        Err(e) => {
            return check(
                "tenancy",
                Status::Warn,
                e.to_string(),
                "fix tenants_table under [contexts.NAME.schema] in the config",
            )
        }
    };
    let tenants = name.display();
    match pg
        .row(q, &[&name.sql(), &map.app_schema, &map.tenant_column])
        .await
    {
        Ok(r) => {
            let (exists, scoped, no_rls): (bool, i64, i64) = (r.get(0), r.get(1), r.get(2));
            if !exists {
                check(
                    "tenancy",
                    Status::Warn,
                    format!("no tenants table {tenants}"),
                    "set tenants_table (and the other names) under [contexts.NAME.schema] in the config",
                )
            } else if no_rls > 0 {
                check(
                    "tenancy",
                    Status::Warn,
                    format!(
                        "{no_rls} of {scoped} tables with {} have row-level security off",
                        map.tenant_column
                    ),
                    "opsdeck tenants lint",
                )
            } else {
                check(
                    "tenancy",
                    Status::Ok,
                    format!("{tenants} found; {scoped} tenant-scoped tables, all with RLS"),
                    "",
                )
            }
        }
        Err(e) => check(
            "tenancy",
            Status::Warn,
            format!("cannot inspect tenancy: {e}"),
            "",
        ),
    }
}

async fn redis_check(r: &crate::conn::Redis) -> Check {
    match super::overview::redis(r).await {
        Ok(h) => check(
            "redis",
            Status::Ok,
            format!(
                "connected to {} (Redis {}{}), {} keys",
                h.target,
                h.version,
                if h.cluster {
                    format!(", cluster of {} masters", h.masters)
                } else {
                    String::new()
                },
                h.keys
            ),
            "",
        ),
        Err(e) => check(
            "redis",
            Status::Fail,
            e.to_string(),
            "check the Redis URL, ACL user and password",
        ),
    }
}
