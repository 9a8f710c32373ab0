//! Where a drill restores: a throwaway cluster from the sandbox (the
//! default), or a database on a configured scratch server. A target that is
//! the source (same system identifier and database name) is refused, and so
//! is one that already holds data, unless it is a previous drill's database
//! (marked by its comment) and the operator asked to replace it.

use crate::conn::sql::quote_ident;
use crate::conn::{conninfo, Pg};
use crate::error::{Error, Result};
use crate::sandbox::{PgOptions, PgSandbox};

/// The comment opsdeck puts on every database it restores into.
pub const MARK: &str = "restore drill database made by opsdeck";
/// The database created in a throwaway cluster.
const SANDBOX_DB: &str = "drill";

/// Who the source is, to refuse restoring over it.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    pub system_identifier: String,
    pub database: String,
}

pub async fn identity(pg: &Pg) -> Result<Identity> {
    let row = pg
        .row(
            "SELECT (SELECT system_identifier::text FROM pg_control_system()), current_database()",
            &[],
        )
        .await?;
    Ok(Identity {
        system_identifier: row.get(0),
        database: row.get(1),
    })
}

pub enum Target {
    Throwaway {
        sandbox: PgSandbox,
    },
    /// A cluster restored from a physical backup: the source's databases
    /// are all there; `database` is the one to verify.
    Restored {
        sandbox: PgSandbox,
        database: String,
    },
    Scratch {
        admin: Box<Pg>,
        spec: String,
        database: String,
        created: bool,
    },
}

/// What the operator asked for, from the command line or the config.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetSpec {
    Throwaway,
    Scratch(String),
}

impl TargetSpec {
    /// How the target is named in the audit and the report: never with a password.
    pub fn describe(&self) -> String {
        match self {
            TargetSpec::Throwaway => "throwaway cluster".into(),
            TargetSpec::Scratch(spec) => redacted(spec),
        }
    }
}

/// `host:port/db` of a spec, for messages.
fn redacted(spec: &str) -> String {
    match conninfo::parse(spec) {
        Ok(s) => format!(
            "{}@{}:{}/{}",
            s.get("user").unwrap_or("-"),
            s.get("host").unwrap_or("localhost"),
            s.get("port").unwrap_or("5432"),
            s.get("dbname").unwrap_or("?")
        ),
        Err(_) => "scratch server".into(),
    }
}

/// A conninfo string for the same server with another database.
fn with_dbname(spec: &str, db: &str) -> Result<String> {
    let mut s = conninfo::parse(spec)?;
    s.set("dbname", db)?;
    Ok(s.to_conninfo())
}

/// A session for drill work: no statement timeout (a restore check may
/// scan a big table), same connection rules as every other session.
pub async fn connect(spec: &str) -> Result<Pg> {
    let ctx = crate::config::Context {
        pg: Some(spec.to_string()),
        statement_timeout_ms: Some(0),
        lock_timeout_ms: Some(0),
        ..crate::config::Context::default()
    };
    let resolved = crate::config::ResolvedContext::resolve(
        "drill-target".into(),
        ctx,
        &crate::config::ContextOverrides::default(),
    );
    crate::conn::connect_pg(&resolved).await
}

impl Target {
    /// Starts a throwaway cluster with an empty, marked database and the
    /// source's roles (NOLOGIN), so owners, grants and policies restore.
    pub async fn throwaway(roles: &[String]) -> Result<Target> {
        let sandbox = PgSandbox::start(PgOptions::default()).await?;
        let admin = connect(&sandbox.url()).await?;
        admin
            .batch(&format!(
                "CREATE DATABASE {} TEMPLATE template0",
                quote_ident(SANDBOX_DB)
            ))
            .await?;
        mark(&admin, SANDBOX_DB).await?;
        let existing: Vec<String> = admin
            .rows("SELECT rolname FROM pg_roles", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for role in roles.iter().filter(|r| !existing.contains(r)) {
            admin
                .batch(&format!("CREATE ROLE {} NOLOGIN", quote_ident(role)))
                .await?;
        }
        Ok(Target::Throwaway { sandbox })
    }

    /// Checks the scratch database `spec` names and makes it ready.
    pub async fn scratch(spec: &str, source: &Identity, replace: bool) -> Result<Target> {
        let database = conninfo::parse(spec)?
            .get("dbname")
            .map(str::to_string)
            .ok_or_else(|| {
                Error::Usage(
                    "the drill target must name its database (postgres://host/scratch_db)".into(),
                )
            })?;
        let admin = Box::new(connect(&with_dbname(spec, "postgres")?).await?);
        let here = identity(&admin).await?;
        if here.system_identifier == source.system_identifier && database == source.database {
            return Err(Error::refused(format!(
                "the drill target {} is the source database (same system identifier {} and database '{}'); restore into a scratch database or a throwaway cluster (omit --target)",
                redacted(spec),
                here.system_identifier,
                database
            )));
        }
        let comment = admin
            .row_opt(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = $1::text",
                &[&database],
            )
            .await?
            .map(|r| r.get::<_, String>(0));
        let created = match comment {
            None => {
                admin
                    .batch(&format!(
                        "CREATE DATABASE {} TEMPLATE template0",
                        quote_ident(&database)
                    ))
                    .await?;
                true
            }
            Some(c) if c.starts_with(MARK) => {
                if !replace {
                    return Err(Error::refused(format!(
                        "database '{database}' holds an earlier drill's restore; pass --replace to drop and restore it again"
                    )));
                }
                admin
                    .batch(&format!(
                        "DROP DATABASE {} WITH (FORCE)",
                        quote_ident(&database)
                    ))
                    .await?;
                admin
                    .batch(&format!(
                        "CREATE DATABASE {} TEMPLATE template0",
                        quote_ident(&database)
                    ))
                    .await?;
                true
            }
            Some(_) => {
                let objects = user_objects(&connect(spec).await?).await?;
                if objects > 0 {
                    return Err(Error::refused(format!(
                        "database '{database}' on the drill target holds data ({objects} tables, views or sequences) and is not an opsdeck drill database; name an empty or new database"
                    )));
                }
                false
            }
        };
        mark(&admin, &database).await?;
        Ok(Target::Scratch {
            admin,
            spec: spec.to_string(),
            database,
            created,
        })
    }

    /// The restored database's connection string (for pg_restore and checks).
    pub fn spec(&self) -> Result<String> {
        match self {
            Target::Throwaway { sandbox } => Ok(sandbox.url_for(SANDBOX_DB)),
            Target::Restored { sandbox, database } => Ok(sandbox.url_for(database)),
            Target::Scratch { spec, database, .. } => with_dbname(spec, database),
        }
    }

    /// Leaves the target running for inspection and says how to reach it
    /// and, for a throwaway cluster, how to stop it.
    pub fn keep(self) -> Result<super::Kept> {
        let url = self.spec()?;
        Ok(match self {
            Target::Throwaway { sandbox } | Target::Restored { sandbox, .. } => {
                let dir = sandbox.dir().to_path_buf();
                crate::sandbox::dirs::keep(&dir);
                // Dropping the sandbox would stop the server the operator asked to keep.
                std::mem::forget(sandbox);
                super::Kept {
                    psql: format!("psql '{url}'"),
                    url,
                    dir: Some(format!(
                        "{} (stop it with: {}pg_ctl stop -D {})",
                        dir.display(),
                        if crate::sandbox::dirs::is_root() {
                            "runuser -u postgres -- "
                        } else {
                            ""
                        },
                        dir.join("data").display()
                    )),
                }
            }
            Target::Scratch { .. } => super::Kept {
                psql: format!("psql \"{url}\""),
                url,
                dir: None,
            },
        })
    }

    /// Removes what the drill made: the throwaway cluster (on drop), or the
    /// scratch database when the drill created it.
    pub async fn remove(self) -> Result<()> {
        match self {
            Target::Throwaway { sandbox } | Target::Restored { sandbox, .. } => {
                drop(sandbox);
                Ok(())
            }
            Target::Scratch {
                admin,
                database,
                created,
                ..
            } => {
                if created {
                    admin
                        .batch(&format!(
                            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                            quote_ident(&database)
                        ))
                        .await?;
                }
                Ok(())
            }
        }
    }
}

async fn mark(admin: &Pg, db: &str) -> Result<()> {
    let note = format!(
        "{MARK} {}",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    admin
        .batch(&format!(
            "COMMENT ON DATABASE {} IS {}",
            quote_ident(db),
            crate::conn::sql::literal(&note)?
        ))
        .await
}

/// Tables, views and sequences outside the system schemas.
async fn user_objects(pg: &Pg) -> Result<i64> {
    let row = pg
        .row(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r','p','v','m','S','f')
               AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'",
            &[],
        )
        .await?;
    Ok(row.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_switch_database_and_hide_passwords() {
        let s = with_dbname("postgres://u:se'cret@db.example:6543/app", "postgres").unwrap();
        assert!(s.contains("dbname='postgres'"), "{s}");
        assert!(s.contains("password='se\\'cret'"), "{s}");
        let t = TargetSpec::Scratch("postgres://u:secret@db.example:6543/scratch".into());
        assert_eq!(t.describe(), "u@db.example:6543/scratch");
        assert_eq!(TargetSpec::Throwaway.describe(), "throwaway cluster");
    }
}
