//! The cache screen's changes: invalidating a prefix (dry run first, so the
//! confirmation states the count) and deleting a key, both through the
//! confirm popup and the safety layer.

use super::{wrap, CacheScreen, Msg};
use crate::cache::{self, invalidate, Deletion, Invalidation, Plan, Throttle};
use crate::error::Result;
use crate::safety::Authorized;
use crate::tui::cmd::{Cmd, PendingOp, TaskCx};
use crate::tui::msg::Msg as AppMsg;

impl CacheScreen {
    /// `x`: a dry run first, so the confirmation can say how many keys go.
    pub(super) fn plan_invalidation(&mut self) -> Vec<Cmd> {
        let Some(path) = self.selected_path() else {
            return Vec::new();
        };
        let pattern = self.pattern_for(&path);
        let gen = crate::tui::next_gen();
        self.planning = gen;
        vec![Cmd::task(
            "cache.dry_run",
            Some("cache:plan".into()),
            move |cx| async move {
                let result = async {
                    let redis = cx.session.redis().await?;
                    let plan = Plan::pattern(&pattern)?;
                    let dry = cache::dry_run(&redis, &plan).await?;
                    Ok((plan, dry.matched))
                }
                .await;
                wrap(Msg::Planned {
                    gen,
                    result: Box::new(result),
                })
            },
        )]
    }

    pub(super) fn planned(&mut self, gen: u64, result: Result<(Plan, u64)>) -> Vec<Cmd> {
        if gen != self.planning {
            return Vec::new();
        }
        let (plan, matched) = match result {
            Err(e) => return vec![Cmd::Status(Err(e.to_string()))],
            Ok(p) => p,
        };
        if matched == 0 {
            return vec![Cmd::Status(Ok(format!("no keys match {}", plan.target)))];
        }
        let target = self
            .stats
            .as_ref()
            .map(|s| s.target.clone())
            .unwrap_or_default();
        let label = format!("invalidating {}", plan.target);
        vec![Cmd::Confirm(PendingOp::new(
            plan.invalidation(&target, Some(matched)),
            label,
            move |cx, approved| run_invalidation(cx, approved, matched),
        ))]
    }

    pub(super) fn delete_key(&mut self) -> Vec<Cmd> {
        let Some(entry) = self.selected_key() else {
            return Vec::new();
        };
        let target = self
            .stats
            .as_ref()
            .map(|s| s.target.clone())
            .unwrap_or_default();
        let label = format!("deleting {}", entry.key);
        vec![Cmd::Confirm(PendingOp::new(
            Deletion::new(vec![entry.raw.clone()], &target),
            label,
            move |cx, approved| async move {
                let result = async {
                    let redis = cx.session.redis().await?;
                    Ok(cache::del(&redis, approved).await?.deleted)
                }
                .await;
                wrap(Msg::Deleted(result))
            },
        ))]
    }

    /// After a change: say what happened, reload the stats and the open list.
    pub(super) fn changed(&mut self, status: std::result::Result<String, String>) -> Vec<Cmd> {
        let mut cmds = vec![Cmd::Status(status)];
        cmds.extend(self.load());
        cmds.extend(self.relist(None));
        cmds
    }
}

/// Runs the invalidation with progress in the app's progress view; Esc there
/// stops it between batches and the result (and audit) says how far it got.
async fn run_invalidation(cx: TaskCx, approved: Authorized<Invalidation>, total: u64) -> AppMsg {
    let result = async {
        let redis = cx.session.redis().await?;
        let (ptx, mut prx) = tokio::sync::mpsc::unbounded_channel::<cache::Progress>();
        let work = invalidate::run(&redis, approved, Throttle::default(), cx.stop(), move |p| {
            let _ = ptx.send(p.clone());
        });
        tokio::pin!(work);
        let result = loop {
            tokio::select! {
                r = &mut work => break r,
                Some(p) = prx.recv() => {
                    cx.progress(p.deleted, Some(total), format!("{} keys deleted", p.deleted));
                }
            }
        };
        // The last batches may finish together with the run: show where it ended.
        if let Some(p) = std::iter::from_fn(|| prx.try_recv().ok()).last() {
            cx.progress(
                p.deleted,
                Some(total),
                format!("{} keys deleted", p.deleted),
            );
        }
        result
    }
    .await;
    wrap(Msg::Invalidated(Box::new(result)))
}
