//! Everything an operation needs for one context: the resolved settings and
//! lazily opened connections. Shared by the CLI and the TUI.

use crate::audit::{Actor, Audit};
use crate::config::{Config, ContextOverrides, Paths, ResolvedContext};
use crate::conn::{connect_pg, connect_redis, Pg, Redis};
use crate::error::Result;
use crate::safety::Safety;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub struct Session {
    pub config: Config,
    pub paths: Paths,
    pub ctx: ResolvedContext,
    pg: OnceCell<Arc<Pg>>,
    redis: OnceCell<Redis>,
}

impl Session {
    pub fn new(
        config: Config,
        paths: Paths,
        context: Option<&str>,
        flags: &ContextOverrides,
    ) -> Result<Session> {
        let (name, ctx) = config.context(context)?;
        if let Some(secs) = config.password_command_timeout_secs {
            crate::conn::credentials::set_command_timeout(std::time::Duration::from_secs(secs));
        }
        let ctx = ResolvedContext::resolve(name, ctx, flags);
        Ok(Session {
            config,
            paths,
            ctx,
            pg: OnceCell::new(),
            redis: OnceCell::new(),
        })
    }

    pub async fn pg(&self) -> Result<Arc<Pg>> {
        self.pg
            .get_or_try_init(|| async { connect_pg(&self.ctx).await.map(Arc::new) })
            .await
            .cloned()
    }

    /// A Postgres session of its own with the same settings, not the shared
    /// one: a cancel request stops whatever query its session runs at that
    /// moment, so work that may be cancelled on the server runs on this.
    pub async fn pg_dedicated(&self) -> Result<Pg> {
        connect_pg(&self.ctx).await
    }

    pub async fn redis(&self) -> Result<Redis> {
        self.redis
            .get_or_try_init(|| connect_redis(&self.ctx))
            .await
            .cloned()
    }

    pub fn audit_path(&self) -> std::path::PathBuf {
        self.config
            .audit
            .local_path
            .clone()
            .unwrap_or_else(|| self.paths.audit_file())
    }

    /// The safety layer for this context. The audit also goes to the database
    /// when Postgres is configured and reachable; a Redis-only operation still
    /// audits locally when it is not.
    pub async fn safety(&self) -> Safety {
        let db = if self.config.audit.database != Some(false) && self.has_pg() {
            match self.pg().await {
                Ok(pg) => Some(pg),
                Err(e) => {
                    tracing::warn!("audit: database copy unavailable: {e}");
                    None
                }
            }
        } else {
            None
        };
        let role = db.as_ref().map(|p| p.role.clone());
        let audit = Audit::new(
            self.audit_path(),
            db,
            Actor::current(role),
            self.ctx.name.clone(),
        );
        Safety::new(self.ctx.read_only, audit)
    }

    /// Whether any Postgres source is configured: flag, env, context, or any
    /// libpq variable that names a server, database or service. The same rule
    /// as connecting, which refuses without one (see [`crate::conn::pg::configured`]).
    pub fn has_pg(&self) -> bool {
        crate::conn::pg::configured(&self.ctx, &crate::conn::params::process_env)
    }
}
