//! The screens: the stack the operator walked down, and the screens left
//! behind, parked with their sort, filter and selection so that coming back
//! to one shows it as it was.

use super::{cx, App, Open};
use crate::tui::cmd::Cmd;
use crate::tui::screens::ScreenId;

impl App {
    pub(super) fn enter_top(&mut self) -> Vec<Cmd> {
        self.refreshed_at = self.now;
        let (env, context, now, size, epoch) =
            (&self.env, &self.context, self.now, self.size, self.epoch);
        match self.stack.last_mut() {
            Some(o) => {
                o.epoch = epoch;
                o.screen.enter(&cx(env, context, now, size, true))
            }
            None => Vec::new(),
        }
    }

    pub(super) fn refresh_top(&mut self) -> Vec<Cmd> {
        if self.stack.last().is_some_and(|o| o.epoch != self.epoch) {
            return self.enter_top();
        }
        self.refreshed_at = self.now;
        let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
        match self.stack.last_mut() {
            Some(o) => o.screen.refresh(&cx(env, context, now, size, true)),
            None => Vec::new(),
        }
    }

    /// Closes the screens above the first `keep` and cancels their tasks
    /// (and so their queries), unless the same screen stays open below; the
    /// closed screens are parked for [`App::show`].
    pub(super) fn leave(&mut self, keep: usize) -> Vec<Cmd> {
        let closed: Vec<Open> = self.stack.drain(keep.min(self.stack.len())..).collect();
        let open = self.screen_ids();
        let mut left: Vec<ScreenId> = closed.iter().map(|o| o.screen.id()).collect();
        left.retain(|id| !open.contains(id));
        left.dedup();
        for o in closed {
            let id = o.screen.id();
            if !open.contains(&id) {
                self.parked.retain(|p| p.screen.id() != id);
                self.parked.push(o);
            }
        }
        left.into_iter()
            .map(|id| Cmd::AbortScreen(id.name()))
            .collect()
    }

    /// Back to the previous screen, leaving this one.
    pub(super) fn back(&mut self) -> Vec<Cmd> {
        let mut cmds = self.leave(self.stack.len().saturating_sub(1));
        cmds.extend(self.refresh_top());
        cmds
    }

    /// Shows a screen: back to it when it is open, else the parked one as
    /// it was left, else a new one on top.
    pub(super) fn show(&mut self, id: ScreenId) -> Vec<Cmd> {
        if let Some(pos) = self.stack.iter().position(|o| o.screen.id() == id) {
            let mut cmds = self.leave(pos + 1);
            cmds.extend(self.refresh_top());
            return cmds;
        }
        if let Some(pos) = self.parked.iter().position(|o| o.screen.id() == id) {
            let open = self.parked.remove(pos);
            let fresh = open.epoch == self.epoch;
            self.stack.push(open);
            if !fresh {
                return self.enter_top();
            }
            self.refreshed_at = self.now;
            let (env, context, now, size) = (&self.env, &self.context, self.now, self.size);
            return match self.stack.last_mut() {
                Some(o) => o.screen.resume(&cx(env, context, now, size, true)),
                None => Vec::new(),
            };
        }
        self.stack.push(Open {
            screen: id.build(),
            epoch: self.epoch,
        });
        self.enter_top()
    }

    /// Opens a screen built elsewhere (drill-down); a parked one of the
    /// same kind is stale then.
    pub(super) fn push(&mut self, screen: Box<dyn crate::tui::screens::Screen>) -> Vec<Cmd> {
        let id = screen.id();
        self.parked.retain(|p| p.screen.id() != id);
        self.stack.push(Open {
            screen,
            epoch: self.epoch,
        });
        self.enter_top()
    }
}
