//! `:keys`: API keys on the shared paged table (keyset pages, newest first;
//! expiring keys highlighted, revoked and expired ones muted), `/` to
//! search (`state:NAME` filters by state), `n` for the create form, `x` to
//! revoke (typed confirmation), `r` to rotate with a day's grace. A new key
//! is shown once in the secret view (`c` copies by OSC 52 and masks it).
//! Also opened from a tenant's detail (`K`), showing only its keys.

mod form;
mod source;

pub use form::{CreateRequestText, Form, Outcome};
pub use source::{parse_filter, KeySource};

use super::{Cx, LoadState, Screen, ScreenAction, ScreenId, ScreenMsg};
use crate::error::Result;
use crate::keys::{self, Created, KeyRow, Revocation, Revoked, Rotated};
use crate::safety::Mutation;
use crate::tui::cmd::{Cmd, PendingOp};
use crate::tui::keymap::{def, ActionDef, Global};
use crate::tui::msg::Msg as AppMsg;
use crate::tui::widgets::table::{self, Column, PagedTable};
use crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Rect};
use ratatui::Frame;

/// How long a key rotated from the console keeps working.
const GRACE_HOURS: i64 = 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    New,
    Revoke,
    Rotate,
}

pub const ACTIONS: &[ActionDef<Action>] = &[
    def(Action::New, "new", "new key", "n"),
    def(Action::Revoke, "revoke", "revoke", "x"),
    def(Action::Rotate, "rotate", "rotate (24h grace)", "r"),
];

/// A planned change, waiting for the confirm popup.
#[derive(Debug)]
pub enum Planned {
    Create(Box<keys::CreatePlan>),
    Revoke(Revocation),
    Rotate(Box<keys::RotatePlan>),
}

#[derive(Debug)]
pub enum Msg {
    Table(table::Msg<KeyRow>),
    Planned {
        gen: u64,
        result: Box<Result<Planned>>,
    },
    Created(Box<Result<Created>>),
    Revoked(Box<Result<Revoked>>),
    Rotated(Box<Result<Rotated>>),
}

fn wrap(m: Msg) -> AppMsg {
    AppMsg::Screen(ScreenMsg::Keys(m))
}

pub struct KeysScreen {
    table: PagedTable<KeySource>,
    /// (id, how to name it) when the screen shows one tenant's keys.
    tenant: Option<(String, String)>,
    form: Option<Form>,
    planning: u64,
}

impl Default for KeysScreen {
    fn default() -> Self {
        Self::new()
    }
}

impl KeysScreen {
    /// Every tenant's keys.
    pub fn new() -> KeysScreen {
        Self::build(None)
    }

    /// One tenant's keys (from its detail): `id` for the queries, `label` for the title.
    pub fn for_tenant(id: String, label: String) -> KeysScreen {
        Self::build(Some((id, label)))
    }

    fn build(tenant: Option<(String, String)>) -> KeysScreen {
        let columns = vec![
            Column::new("prefix", None, Constraint::Min(16)),
            Column::new("name", None, Constraint::Min(10)),
            Column::new("tenant", None, Constraint::Length(8)).optional(),
            Column::new("scopes", None, Constraint::Min(8)).optional(),
            Column::new("state", None, Constraint::Length(8)),
            Column::new("expires", None, Constraint::Length(10)),
            Column::new("last used", None, Constraint::Length(10)).optional(),
            Column::new("id", None, Constraint::Length(6)),
        ];
        let source = KeySource {
            tenant: tenant.as_ref().map(|(id, _)| id.clone()),
        };
        KeysScreen {
            table: PagedTable::new("keys", source, columns, |m| wrap(Msg::Table(m))),
            tenant,
            form: None,
            planning: 0,
        }
    }

    pub fn table(&self) -> &PagedTable<KeySource> {
        &self.table
    }

    /// Whether the create form is open.
    pub fn form_open(&self) -> bool {
        self.form.is_some()
    }

    fn plan<F, Fut>(&mut self, name: &'static str, work: F) -> Vec<Cmd>
    where
        F: FnOnce(std::sync::Arc<crate::session::Session>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<Planned>> + Send + 'static,
    {
        let gen = crate::tui::next_gen();
        self.planning = gen;
        vec![Cmd::task(
            name,
            Some("keys:plan".into()),
            move |cx| async move {
                let result = work(cx.session.clone()).await;
                wrap(Msg::Planned {
                    gen,
                    result: Box::new(result),
                })
            },
        )]
    }

    fn submit(&mut self, text: CreateRequestText) -> Vec<Cmd> {
        let req = match text.request() {
            Ok(r) => r,
            Err(e) => return vec![Cmd::Status(Err(e.to_string()))],
        };
        self.form = None;
        self.plan("keys.plan_create", move |s| async move {
            let pg = s.pg().await?;
            keys::plan_create(&pg, &s.ctx.schema, &s.ctx.api_keys, &req)
                .await
                .map(Planned::Create)
        })
    }

    fn plan_selected(&mut self, act: Action) -> Vec<Cmd> {
        let Some(id) = self.table.selected().map(|k| k.id.clone()) else {
            return Vec::new();
        };
        self.plan("keys.plan", move |s| async move {
            let pg = s.pg().await?;
            let (map, settings) = (&s.ctx.schema, &s.ctx.api_keys);
            match act {
                Action::Rotate => {
                    let grace = chrono::Duration::hours(GRACE_HOURS);
                    keys::plan_rotate(&pg, map, settings, &id, grace)
                        .await
                        .map(Planned::Rotate)
                }
                Action::Revoke | Action::New => keys::plan_revoke(&pg, map, settings, &id)
                    .await
                    .map(Planned::Revoke),
            }
        })
    }

    fn planned(&mut self, gen: u64, result: Result<Planned>) -> Vec<Cmd> {
        if gen != self.planning {
            return Vec::new();
        }
        let planned = match result {
            Err(e) => return vec![Cmd::Status(Err(e.to_string()))],
            Ok(p) => p,
        };
        match planned {
            Planned::Create(plan) => confirm(plan, |cx, approved| async move {
                let r = match cx.pg_cancellable().await {
                    Ok(pg) => keys::apply_create(&pg, approved, cx.stop()).await,
                    Err(e) => Err(e),
                };
                wrap(Msg::Created(Box::new(r)))
            }),
            Planned::Rotate(plan) => confirm(plan, |cx, approved| async move {
                let r = match cx.pg_cancellable().await {
                    Ok(pg) => keys::apply_rotate(&pg, approved, cx.stop()).await,
                    Err(e) => Err(e),
                };
                wrap(Msg::Rotated(Box::new(r)))
            }),
            Planned::Revoke(Revocation::Already(r)) => {
                vec![Cmd::Status(Ok(r.note.unwrap_or_default()))]
            }
            Planned::Revoke(Revocation::Needed(plan)) => confirm(plan, |cx, approved| async move {
                let r = match cx.pg_cancellable().await {
                    Ok(pg) => keys::apply_revoke(&pg, approved, cx.stop()).await,
                    Err(e) => Err(e),
                };
                wrap(Msg::Revoked(Box::new(r)))
            }),
        }
    }

    /// The outcome on the status line, the secret (if any) in its one-time view.
    fn done(
        &mut self,
        status: std::result::Result<String, String>,
        secret: Option<Cmd>,
    ) -> Vec<Cmd> {
        let mut cmds: Vec<Cmd> = secret.into_iter().collect();
        cmds.push(Cmd::Status(status));
        cmds.extend(self.table.reload());
        cmds
    }
}

/// The confirm popup for `plan`; `run` gets only this plan's approval.
fn confirm<P, F, Fut>(plan: P, run: F) -> Vec<Cmd>
where
    P: Mutation,
    F: FnOnce(crate::tui::cmd::TaskCx, crate::safety::Authorized<P>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = AppMsg> + Send + 'static,
{
    let intent = plan.intent();
    let label = format!("{} {}", intent.action, intent.target);
    vec![Cmd::Confirm(PendingOp::new(plan, label, run))]
}

fn secret_view(title: String, secret: crate::conn::Secret) -> Option<Cmd> {
    Some(Cmd::ShowSecret { title, secret })
}

impl Screen for KeysScreen {
    fn id(&self) -> ScreenId {
        ScreenId::Keys
    }

    fn title(&self) -> String {
        match &self.tenant {
            Some((_, label)) => format!("keys · tenant {label}"),
            None => "keys".into(),
        }
    }

    fn enter(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.load()
    }

    fn refresh(&mut self, _cx: &Cx) -> Vec<Cmd> {
        self.table.reload()
    }

    fn update(&mut self, msg: ScreenMsg, cx: &Cx) -> Vec<Cmd> {
        let ScreenMsg::Keys(m) = msg else {
            return Vec::new();
        };
        match m {
            Msg::Table(t) => self.table.update(t, cx).1,
            Msg::Planned { gen, result } => self.planned(gen, *result),
            Msg::Created(r) => match *r {
                Ok(c) => {
                    let label = c.key.label();
                    let title = format!("new API key {label}");
                    let status = Ok(format!("created key {label}; it is shown once"));
                    self.done(status, secret_view(title, c.secret))
                }
                Err(e) => self.done(Err(e.to_string()), None),
            },
            Msg::Rotated(r) => match *r {
                Ok(r) => {
                    let title = format!("new API key {}", r.new.label());
                    let status = Ok(format!(
                        "key {} replaces {}, valid until {}",
                        r.new.label(),
                        r.old.label(),
                        r.old.expires_at.as_deref().unwrap_or("now")
                    ));
                    self.done(status, secret_view(title, r.secret))
                }
                Err(e) => self.done(Err(e.to_string()), None),
            },
            Msg::Revoked(r) => {
                let status = match *r {
                    Ok(r) => Ok(r
                        .note
                        .unwrap_or_else(|| format!("key {} is revoked", r.key.label()))),
                    Err(e) => Err(e.to_string()),
                };
                self.done(status, None)
            }
        }
    }

    fn action(&mut self, act: ScreenAction, _cx: &Cx) -> Vec<Cmd> {
        let ScreenAction::Keys(act) = act else {
            return Vec::new();
        };
        match act {
            Action::New => {
                let tenant = self.tenant.as_ref().map(|(id, _)| id.as_str());
                self.form = Some(Form::new(tenant));
                Vec::new()
            }
            Action::Revoke | Action::Rotate => self.plan_selected(act),
        }
    }

    fn enabled(&self, act: ScreenAction, _cx: &Cx) -> bool {
        let ScreenAction::Keys(act) = act else {
            return false;
        };
        match act {
            Action::New => true,
            Action::Revoke => self
                .table
                .selected()
                .is_some_and(|k| k.revoked_at.is_none()),
            Action::Rotate => self
                .table
                .selected()
                .is_some_and(|k| k.state.usable() && k.replaced_by.is_none()),
        }
    }

    fn capture(&mut self, ev: &KeyEvent, _cx: &Cx) -> Option<Vec<Cmd>> {
        let form = self.form.as_mut()?;
        Some(match form.key(ev) {
            Outcome::Open => Vec::new(),
            Outcome::Cancelled => {
                self.form = None;
                vec![Cmd::Status(Ok("cancelled; nothing was created".into()))]
            }
            Outcome::Submit(text) => self.submit(text),
        })
    }

    fn nav(&mut self, nav: Global, cx: &Cx) -> Option<Vec<Cmd>> {
        self.table.nav(nav, cx)
    }

    fn filter(&mut self, text: &str, _cx: &Cx) -> Option<Vec<Cmd>> {
        Some(self.table.set_filter(text))
    }

    fn filter_text(&self) -> Option<&str> {
        Some(self.table.filter_text())
    }

    fn load_state(&self) -> &LoadState {
        self.table.state()
    }

    fn render(&self, frame: &mut Frame, area: Rect, cx: &Cx) {
        self.table.render(frame, area, cx);
        if let Some(form) = &self.form {
            form.render(frame, area, &cx.env.theme);
        }
    }
}
