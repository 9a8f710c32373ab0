//! The safety layer. Every mutating core operation takes a [`Guard`], and only
//! [`Safety::authorize`] can build one: it refuses in read-only contexts,
//! demands the right kind of confirmation, and opens the audit record.
//! An unaudited mutation therefore does not compile.

use crate::audit::{Audit, Outcome};
use crate::error::{Error, Result};
use serde_json::Value;
use std::future::Future;
use std::time::Instant;

/// How much confirmation an operation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Reversible change (suspend, resume, retry): a yes/no question, default no.
    Mutating,
    /// Loses data or access (delete keys, revoke, terminate): type the target's name.
    Destructive,
}

/// What an operator is about to do, described before it is done.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Intent {
    /// Dotted action name, e.g. `tenants.suspend`.
    pub action: String,
    /// What it acts on, in the words the operator used (slug, key, pattern).
    pub target: String,
    pub risk: Risk,
    /// One sentence for the confirmation prompt.
    pub summary: String,
    /// Parameters for the audit record; secrets are redacted on write.
    pub params: Value,
}

impl Intent {
    pub fn new(
        action: &str,
        target: impl Into<String>,
        risk: Risk,
        summary: impl Into<String>,
    ) -> Intent {
        Intent {
            action: action.to_string(),
            target: target.into(),
            risk,
            summary: summary.into(),
            params: Value::Null,
        }
    }

    pub fn with_params(mut self, params: Value) -> Intent {
        self.params = params;
        self
    }

    /// The question a front end asks before [`Safety::authorize`].
    pub fn prompt(&self) -> String {
        match self.risk {
            Risk::Mutating => format!("{} Proceed? [y/N]", self.summary),
            Risk::Destructive => format!("{} Type '{}' to confirm:", self.summary, self.target),
        }
    }
}

/// The operator's answer, as collected by a front end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Approval {
    /// No answer could be had (no terminal, no --yes), or the operator said no.
    Declined,
    /// Answered yes to a yes/no question.
    Confirmed,
    /// Typed this text at a typed-name prompt.
    Typed(String),
    /// `--yes` on the command line.
    AssumeYes,
}

/// Why an operation was refused; pure so it can be table-tested.
pub fn check(intent: &Intent, read_only: bool, approval: &Approval) -> Result<(), String> {
    if read_only {
        return Err(format!(
            "{} on '{}' is a change and this context is read-only; use a context without read_only (and drop --read-only) to make changes",
            intent.action, intent.target
        ));
    }
    match (intent.risk, approval) {
        (_, Approval::AssumeYes) => Ok(()),
        (Risk::Mutating, Approval::Confirmed) => Ok(()),
        (_, Approval::Typed(t)) if t.trim() == intent.target => Ok(()),
        (Risk::Mutating, Approval::Typed(t)) if matches!(t.trim(), "y" | "Y" | "yes") => Ok(()),
        (_, Approval::Typed(_)) => Err(format!(
            "confirmation did not match '{}'; nothing was changed",
            intent.target
        )),
        (Risk::Destructive, Approval::Confirmed) => Err(format!(
            "{} needs the target's name typed to confirm; nothing was changed",
            intent.action
        )),
        (_, Approval::Declined) => Err(format!(
            "{} on '{}' was not confirmed; nothing was changed (pass --yes in scripts)",
            intent.action, intent.target
        )),
    }
}

/// Per-context safety policy plus the audit sink.
#[derive(Clone)]
pub struct Safety {
    read_only: bool,
    audit: Audit,
}

impl Safety {
    pub fn new(read_only: bool, audit: Audit) -> Safety {
        Safety { read_only, audit }
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn audit(&self) -> &Audit {
        &self.audit
    }

    /// Checks policy and approval; on success writes the "start" audit record
    /// and returns the guard the operation needs. Refusals are audited too.
    pub async fn authorize(&self, intent: Intent, approval: Approval) -> Result<Guard> {
        if let Err(reason) = check(&intent, self.read_only, &approval) {
            self.audit.refused(&intent, &reason, !self.read_only).await;
            return Err(Error::refused(reason));
        }
        let op_id = self.audit.start(&intent).await?;
        Ok(Guard {
            intent,
            op_id,
            audit: self.audit.clone(),
            started: Instant::now(),
        })
    }
}

/// Proof that an operation was allowed and its start audited. Fields are
/// private to this module: nothing else can make one.
pub struct Guard {
    intent: Intent,
    op_id: String,
    audit: Audit,
    started: Instant,
}

impl Guard {
    pub fn intent(&self) -> &Intent {
        &self.intent
    }

    /// Runs the mutation and writes the closing audit record with its outcome
    /// and duration; `detail` summarises a success (counts, new ids; never secrets).
    pub async fn run<T, F, D>(self, fut: F, detail: D) -> Result<T>
    where
        F: Future<Output = Result<T>>,
        D: FnOnce(&T) -> Value,
    {
        self.run_stoppable(fut, |v| (true, detail(v))).await
    }

    /// Like [`Guard::run`] for work that can be stopped midway and still
    /// report what it did (an invalidation cancelled after N keys): `detail`
    /// also says whether the work completed, and an incomplete run is
    /// audited as cancelled, with its partial counts.
    pub async fn run_stoppable<T, F, D>(self, fut: F, detail: D) -> Result<T>
    where
        F: Future<Output = Result<T>>,
        D: FnOnce(&T) -> (bool, Value),
    {
        let result = fut.await;
        let (outcome, info) = match &result {
            Ok(v) => match detail(v) {
                (true, info) => (Outcome::Ok, info),
                (false, info) => (Outcome::Cancelled, info),
            },
            Err(Error::Cancelled) => (Outcome::Cancelled, Value::Null),
            Err(e) => (Outcome::Error, Value::String(e.to_string())),
        };
        self.audit
            .finish(
                &self.op_id,
                &self.intent,
                outcome,
                info,
                self.started.elapsed(),
            )
            .await;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(risk: Risk) -> Intent {
        Intent::new("tenants.suspend", "acme", risk, "Suspend tenant acme.")
    }

    #[test]
    fn policy_table() {
        use Approval::*;
        let cases: Vec<(Risk, bool, Approval, bool)> = vec![
            (Risk::Mutating, false, AssumeYes, true),
            (Risk::Mutating, false, Confirmed, true),
            (Risk::Mutating, false, Declined, false),
            (Risk::Mutating, false, Typed("y".into()), true),
            (Risk::Mutating, false, Typed("acme".into()), true),
            (Risk::Mutating, false, Typed("n".into()), false),
            (Risk::Mutating, true, AssumeYes, false),
            (Risk::Mutating, true, Confirmed, false),
            (Risk::Destructive, false, AssumeYes, true),
            (Risk::Destructive, false, Confirmed, false),
            (Risk::Destructive, false, Typed("acme".into()), true),
            (Risk::Destructive, false, Typed(" acme\n".into()), true),
            (Risk::Destructive, false, Typed("acm".into()), false),
            (Risk::Destructive, false, Typed("y".into()), false),
            (Risk::Destructive, false, Declined, false),
            (Risk::Destructive, true, Typed("acme".into()), false),
        ];
        for (risk, ro, approval, allowed) in cases {
            let got = check(&intent(risk), ro, &approval);
            assert_eq!(
                got.is_ok(),
                allowed,
                "{risk:?} read_only={ro} {approval:?}: {got:?}"
            );
        }
    }

    #[test]
    fn read_only_reason_says_what_to_do() {
        let err = check(&intent(Risk::Mutating), true, &Approval::AssumeYes).unwrap_err();
        assert!(err.contains("read-only"), "{err}");
        assert!(err.contains("acme"), "{err}");
    }

    #[test]
    fn prompts_differ_by_risk() {
        assert!(intent(Risk::Mutating).prompt().ends_with("[y/N]"));
        assert!(intent(Risk::Destructive).prompt().contains("Type 'acme'"));
    }
}
