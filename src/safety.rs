//! The safety layer. A change is planned first (a value that carries its
//! [`Intent`]); [`Safety::authorize`] checks policy and approval, writes
//! the start record and returns an [`Authorized`] bound to that plan. Each
//! domain mutation takes only its own `Authorized<ItsPlan>`, so an
//! unaudited mutation, or one run under another change's approval, does not
//! compile:
//!
//! ```compile_fail
//! use opsdeck::cache::Deletion;
//! use opsdeck::conn::Pg;
//! use opsdeck::safety::Authorized;
//! use opsdeck::stop::Stop;
//!
//! // Approval to delete cache keys cannot suspend a tenant.
//! async fn misuse(pg: &Pg, approved: Authorized<Deletion>) {
//!     let _ = opsdeck::tenants::apply(pg, approved, &Stop::new()).await;
//! }
//! ```
//!
//! The same call with the approval of its own plan compiles, so the only
//! thing the example above gets wrong is the kind of plan:
//!
//! ```no_run
//! use opsdeck::conn::Pg;
//! use opsdeck::safety::Authorized;
//! use opsdeck::stop::Stop;
//! use opsdeck::tenants::StatusPlan;
//!
//! async fn suspend(pg: &Pg, approved: Authorized<Box<StatusPlan>>) {
//!     let _ = opsdeck::tenants::apply(pg, approved, &Stop::new()).await;
//! }
//! ```
//!
//! Every start gets an end record: the outcome of the run, or, when the run
//! is dropped before it ends (its task aborted, a panic), an `aborted`
//! record written to the local file from `Drop` with what had been done.

use crate::audit::{Audit, Outcome};
use crate::error::{Error, Result};
use serde_json::{json, Value};
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
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

    /// The question a front end asks for this confirmation.
    pub fn prompt(&self) -> String {
        match confirmation(self.risk) {
            Confirmation::YesNo => format!("{} Proceed? [y/N]", self.summary),
            Confirmation::TypeTarget => {
                format!("{} Type '{}' to confirm:", self.summary, self.target)
            }
        }
    }
}

/// A planned change: the values a domain mutation needs, with the intent
/// the operator approves. Only [`Safety::authorize`] turns one into an
/// [`Authorized`].
pub trait Mutation: Send + 'static {
    fn intent(&self) -> &Intent;
}

/// What a front end must collect before a change may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirmation {
    /// A yes/no question whose default is no.
    YesNo,
    /// The target's name, typed.
    TypeTarget,
}

fn confirmation(risk: Risk) -> Confirmation {
    match risk {
        Risk::Mutating => Confirmation::YesNo,
        Risk::Destructive => Confirmation::TypeTarget,
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

/// The one policy answer: may `intent` run in this context, and if so what
/// confirmation it needs. Pure, so it is table-tested; the CLI prompt and
/// the console's confirm popup both ask it.
pub fn policy(intent: &Intent, read_only: bool) -> Result<Confirmation, String> {
    if read_only {
        return Err(format!(
            "{} on '{}' is a change and this context is read-only; use a context without read_only (and drop --read-only) to make changes",
            intent.action, intent.target
        ));
    }
    Ok(confirmation(intent.risk))
}

/// Why an operation with this approval is refused, if it is.
pub fn check(intent: &Intent, read_only: bool, approval: &Approval) -> Result<(), String> {
    let needs = policy(intent, read_only)?;
    match (needs, approval) {
        (_, Approval::AssumeYes) => Ok(()),
        (Confirmation::YesNo, Approval::Confirmed) => Ok(()),
        (_, Approval::Typed(t)) if t.trim() == intent.target => Ok(()),
        (Confirmation::YesNo, Approval::Typed(t)) if matches!(t.trim(), "y" | "Y" | "yes") => {
            Ok(())
        }
        (_, Approval::Typed(_)) => Err(format!(
            "confirmation did not match '{}'; nothing was changed",
            intent.target
        )),
        (Confirmation::TypeTarget, Approval::Confirmed) => Err(format!(
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

    /// [`policy`] for this context; a refusal is audited and returned as
    /// `Error::Refused`, so a front end can refuse before any lookup.
    pub async fn admit(&self, intent: &Intent) -> Result<Confirmation> {
        match policy(intent, self.read_only) {
            Ok(c) => Ok(c),
            Err(reason) => {
                self.audit.refused(intent, &reason, !self.read_only).await;
                Err(Error::refused(reason))
            }
        }
    }

    /// Checks policy and approval; on success writes the start record and
    /// returns the authorization bound to `plan`. Refusals are audited too.
    pub async fn authorize<P: Mutation>(
        &self,
        plan: P,
        approval: Approval,
    ) -> Result<Authorized<P>> {
        let intent = plan.intent().clone();
        if let Err(reason) = check(&intent, self.read_only, &approval) {
            self.audit.refused(&intent, &reason, !self.read_only).await;
            return Err(Error::refused(reason));
        }
        let op_id = self.audit.start(&intent).await?;
        Ok(Authorized {
            plan,
            run: Run {
                intent,
                op_id,
                audit: self.audit.clone(),
                started: Instant::now(),
                done: Done::default(),
                ended: false,
            },
        })
    }
}

/// What a running change has done so far, kept up to date by the work so
/// that an interrupted run's end record can say it.
#[derive(Clone, Default)]
pub struct Done(Arc<Mutex<Value>>);

impl Done {
    pub fn set(&self, v: Value) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = v;
    }

    /// Changes the record in place, so a long run adds to it instead of
    /// building it anew each step.
    pub fn update(&self, f: impl FnOnce(&mut Value)) {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    pub fn get(&self) -> Value {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Approval to run `P`, and nothing else. Fields are private: only
/// [`Safety::authorize`] makes one, and only [`Authorized::run`] and
/// [`Authorized::run_stoppable`] spend it.
pub struct Authorized<P> {
    plan: P,
    run: Run,
}

impl<P> Authorized<P> {
    /// Runs the change and writes the closing record with its outcome and
    /// duration; `detail` summarises a success (counts, new ids; never secrets).
    pub async fn run<T, F, Fut, D>(self, work: F, detail: D) -> Result<T>
    where
        F: FnOnce(P, Done) -> Fut,
        Fut: Future<Output = Result<T>>,
        D: FnOnce(&T) -> Value,
    {
        self.run_stoppable(work, |v| (true, detail(v))).await
    }

    /// Like [`Authorized::run`] for work that can be stopped midway and
    /// still report what it did (an invalidation stopped after N keys):
    /// `detail` also says whether it completed; an incomplete run is audited
    /// as cancelled. A run that fails or is cancelled with an error records
    /// the work's last [`Done`] report.
    pub async fn run_stoppable<T, F, Fut, D>(self, work: F, detail: D) -> Result<T>
    where
        F: FnOnce(P, Done) -> Fut,
        Fut: Future<Output = Result<T>>,
        D: FnOnce(&T) -> (bool, Value),
    {
        let Authorized { plan, mut run } = self;
        let result = work(plan, run.done.clone()).await;
        let (outcome, info) = match &result {
            Ok(v) => match detail(v) {
                (true, info) => (Outcome::Ok, info),
                (false, info) => (Outcome::Cancelled, info),
            },
            Err(Error::Cancelled) => (Outcome::Cancelled, run.done.get()),
            Err(e) => (
                Outcome::Error,
                json!({"error": e.to_string(), "done": run.done.get()}),
            ),
        };
        run.end(outcome, info).await;
        result
    }
}

/// The audited life of one authorized change.
struct Run {
    intent: Intent,
    op_id: String,
    audit: Audit,
    started: Instant,
    done: Done,
    ended: bool,
}

impl Run {
    async fn end(&mut self, outcome: Outcome, detail: Value) {
        self.ended = true;
        self.audit
            .finish(
                &self.op_id,
                &self.intent,
                outcome,
                detail,
                self.started.elapsed(),
            )
            .await;
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if !self.ended {
            self.audit.finish_on_drop(
                &self.op_id,
                &self.intent,
                self.done.get(),
                self.started.elapsed(),
            );
        }
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
    fn policy_names_the_confirmation_or_refuses() {
        assert_eq!(
            policy(&intent(Risk::Mutating), false),
            Ok(Confirmation::YesNo)
        );
        assert_eq!(
            policy(&intent(Risk::Destructive), false),
            Ok(Confirmation::TypeTarget)
        );
        let err = policy(&intent(Risk::Mutating), true).unwrap_err();
        assert!(err.contains("read-only"), "{err}");
        assert!(err.contains("acme"), "{err}");
    }

    #[test]
    fn prompts_differ_by_risk() {
        assert!(intent(Risk::Mutating).prompt().ends_with("[y/N]"));
        assert!(intent(Risk::Destructive).prompt().contains("Type 'acme'"));
    }
}
