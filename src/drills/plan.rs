//! A drill as a planned change: the backup it will restore, the target it
//! will write to, and the intent the operator approves. Mutating (it writes
//! only to a scratch system), audited from start to end.

use super::source::pgbackrest::Repo;
use super::source::{dump, Backup};
use super::target::TargetSpec;
use crate::config::drills::DrillSettings;
use crate::error::{Error, Result};
use crate::safety::{Intent, Mutation, Risk};
use serde_json::json;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// The newest pg_dump archive in a directory, or one named archive.
    Dump,
    /// A pg_dump of the context's database made now.
    Fresh,
    /// The newest backup of a pgBackRest stanza.
    Pgbackrest,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Dump => "dump",
            SourceKind::Fresh => "fresh",
            SourceKind::Pgbackrest => "pgbackrest",
        }
    }
}

/// What the operator asked for; unset fields come from the config.
#[derive(Debug, Clone, Default)]
pub struct DrillRequest {
    pub source: Option<SourceKind>,
    pub path: Option<PathBuf>,
    pub stanza: Option<String>,
    pub target: Option<String>,
    pub jobs: Option<u32>,
    pub keep: bool,
    pub replace: bool,
}

pub struct DrillPlan {
    intent: Intent,
    pub source: SourceKind,
    /// The archive found for a dump source.
    pub backup: Option<Backup>,
    /// The stanza of a pgBackRest source.
    pub repo: Option<Repo>,
    pub target: TargetSpec,
    pub jobs: u32,
    pub keep: bool,
    pub replace: bool,
}

impl std::fmt::Debug for DrillPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DrillPlan")
            .field("intent", &self.intent)
            .field("source", &self.source)
            .field("archive", &self.backup.as_ref().map(|b| &b.archive))
            .field("target", &self.target)
            .field("jobs", &self.jobs)
            .finish()
    }
}

impl Mutation for DrillPlan {
    fn intent(&self) -> &Intent {
        &self.intent
    }
}

impl DrillPlan {
    /// `dump:/path/to/archive` or `fresh:<source>`, as reports name it.
    pub fn source_label(&self, source_target: &str) -> String {
        match (&self.backup, &self.repo) {
            (Some(b), _) => format!("dump:{}", b.archive.display()),
            (None, Some(r)) => format!("pgbackrest:{}", r.stanza),
            (None, None) => format!("fresh:{source_target}"),
        }
    }
}

/// Resolves the request against the config: which archive, which target.
/// `source_target` names the context's database in the intent.
pub fn plan(settings: &DrillSettings, req: DrillRequest, source_target: &str) -> Result<DrillPlan> {
    let source = req
        .source
        .unwrap_or(if req.path.is_some() || settings.dump_dir.is_some() {
            SourceKind::Dump
        } else if req.stanza.is_some() || settings.pgbackrest_stanza.is_some() {
            SourceKind::Pgbackrest
        } else {
            SourceKind::Fresh
        });
    if source != SourceKind::Pgbackrest && req.stanza.is_some() {
        return Err(Error::Usage("--stanza is for --source pgbackrest".into()));
    }
    let jobs = req.jobs.unwrap_or(settings.jobs);
    if jobs == 0 || jobs > 64 {
        return Err(Error::Usage("--jobs must be 1 to 64".into()));
    }
    let backup = match source {
        SourceKind::Dump => {
            let path = req
                .path
                .clone()
                .or_else(|| settings.dump_dir.clone())
                .ok_or_else(|| {
                    Error::Usage(
                        "--source dump needs --path DIR|FILE or drills.dump_dir in the context"
                            .into(),
                    )
                })?;
            Some(dump::find(&path)?)
        }
        SourceKind::Fresh | SourceKind::Pgbackrest => {
            if req.path.is_some() {
                return Err(Error::Usage(
                    "--path is for --source dump; fresh and pgbackrest sources do not read archives from a path"
                        .into(),
                ));
            }
            None
        }
    };
    let repo = match source {
        SourceKind::Pgbackrest => {
            let stanza = req
                .stanza
                .clone()
                .or_else(|| settings.pgbackrest_stanza.clone())
                .ok_or_else(|| {
                    Error::Usage(
                        "--source pgbackrest needs --stanza S or drills.pgbackrest_stanza in the context"
                            .into(),
                    )
                })?;
            Some(Repo::find(settings.pgbackrest_config.clone(), stanza)?)
        }
        _ => None,
    };
    let target = match req.target.clone().or_else(|| settings.target.clone()) {
        Some(_) if repo.is_some() => {
            return Err(Error::Usage(
                "a pgBackRest restore brings up its own throwaway cluster; drop --target (and drills.target) for --source pgbackrest".into(),
            ))
        }
        Some(spec) => TargetSpec::Scratch(spec),
        None => TargetSpec::Throwaway,
    };
    let what = match (&backup, &repo) {
        (Some(b), _) => format!("the archive {}", b.archive.display()),
        (None, Some(r)) => format!("the newest pgBackRest backup of stanza {}", r.stanza),
        (None, None) => format!("a fresh pg_dump of {source_target}"),
    };
    let intent = Intent::new(
        "drill.run",
        target.describe(),
        Risk::Mutating,
        format!(
            "Restore {what} into {} and verify it against {source_target}.",
            target.describe()
        ),
    )
    .with_params(json!({
        "source": source.as_str(),
        "archive": backup.as_ref().map(|b| b.archive.display().to_string()),
        "stanza": repo.as_ref().map(|r| r.stanza.clone()),
        "jobs": jobs,
        "keep": req.keep,
        "replace": req.replace,
    }));
    Ok(DrillPlan {
        intent,
        source,
        backup,
        repo,
        target,
        jobs,
        keep: req.keep,
        replace: req.replace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_follows_the_request_then_the_config() {
        let s = DrillSettings::default();
        let p = plan(&s, DrillRequest::default(), "app").unwrap();
        assert_eq!(p.source, SourceKind::Fresh);
        assert_eq!(p.target, TargetSpec::Throwaway);
        assert!(p.intent().summary.contains("fresh pg_dump of app"));
        let err = plan(
            &s,
            DrillRequest {
                source: Some(SourceKind::Dump),
                ..DrillRequest::default()
            },
            "app",
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains("--path"), "{err}");
        let err = plan(
            &s,
            DrillRequest {
                jobs: Some(0),
                ..DrillRequest::default()
            },
            "app",
        )
        .err()
        .unwrap();
        assert_eq!(err.exit_code(), crate::ExitCode::Usage);
    }
}
