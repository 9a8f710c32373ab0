//! The tenants list's optional figure columns (`z`): rows in the largest
//! tenant tables, their estimated size and the latest activity, read on a
//! task after each page arrives (the list never waits for them), remembered
//! per tenant so scrolling back or a refresh does not count again.

use super::{columns, wrap, Msg, TenantsScreen};
use crate::tenants::figures::{self, Sources, TenantFigures};
use crate::tui::cmd::Cmd;
use std::collections::HashMap;
use std::sync::Arc;

/// Figures remembered at most; past this only the loaded rows' are kept.
const KEPT: usize = 5_000;

/// The figures' state on the screen.
#[derive(Default)]
pub struct Figures {
    pub on: bool,
    gen: u64,
    in_flight: bool,
    pub sources: Option<Arc<Sources>>,
    known: HashMap<String, TenantFigures>,
    pub error: Option<String>,
}

impl Figures {
    pub fn of(&self, id: &str) -> Option<&TenantFigures> {
        self.known.get(id)
    }
}

impl TenantsScreen {
    /// `z`: the figure columns on or off.
    pub(super) fn toggle_figures(&mut self) -> Vec<Cmd> {
        self.figures.on = !self.figures.on;
        self.table.set_columns(columns(self.figures.on));
        self.fill_figures()
    }

    /// Puts the known figures on the loaded rows and asks for the missing.
    pub(super) fn fill_figures(&mut self) -> Vec<Cmd> {
        if !self.figures.on {
            return Vec::new();
        }
        let known = &self.figures.known;
        let mut missing = Vec::new();
        for line in self.table.rows_mut() {
            match known.get(&line.row.id) {
                Some(f) => line.figures = Some(f.clone()),
                None => missing.push(line.row.id.clone()),
            }
        }
        if missing.is_empty() || self.figures.in_flight {
            return Vec::new();
        }
        self.figures.in_flight = true;
        let gen = crate::tui::next_gen();
        self.figures.gen = gen;
        let sources = self.figures.sources.clone();
        vec![Cmd::task(
            "tenants.figures",
            Some("tenants:figures".into()),
            move |cx| async move {
                let s = cx.session.clone();
                let result = async {
                    let pg = s.pg().await?;
                    let src = match sources {
                        Some(src) => src,
                        None => Arc::new(figures::sources(&pg, &s.ctx.schema).await?),
                    };
                    let found = figures::figures(&pg, &src, &missing).await?;
                    Ok((src, found))
                }
                .await;
                wrap(Msg::Figures { gen, result })
            },
        )]
    }

    pub(super) fn figures_arrived(
        &mut self,
        gen: u64,
        result: crate::Result<(Arc<Sources>, Vec<TenantFigures>)>,
    ) -> Vec<Cmd> {
        if gen != self.figures.gen {
            return Vec::new();
        }
        self.figures.in_flight = false;
        match result {
            Ok((src, found)) => {
                self.figures.sources = Some(src);
                self.figures.error = None;
                if self.figures.known.len() + found.len() > KEPT {
                    let loaded: std::collections::HashSet<String> =
                        self.table.rows().map(|l| l.row.id.clone()).collect();
                    self.figures.known.retain(|id, _| loaded.contains(id));
                }
                for f in found {
                    self.figures.known.insert(f.id.clone(), f);
                }
                self.fill_figures()
            }
            Err(e) => {
                self.figures.error = Some(e.to_string());
                vec![Cmd::Status(Err(format!("tenant figures: {e}")))]
            }
        }
    }
}
