//! The keys list's rows and pages: `KeyRow` as table cells (expiring keys
//! highlighted, dead ones muted), the `/` filter's `state:NAME` words, and
//! keyset pages from the core.

use crate::error::Result;
use crate::health::overview::Level;
use crate::keys::{self, KeyRow, KeyState, ListQuery};
use crate::session::Session;
use crate::tui::cmd::BoxFuture;
use crate::tui::widgets::table::{Anchor, Keyed, Page, PageRequest, PagedSource, TableRow};
use std::sync::Arc;

fn day(ts: &Option<String>) -> String {
    ts.as_deref()
        .map(|t| t.chars().take(10).collect())
        .unwrap_or_default()
}

impl TableRow for KeyRow {
    fn cells(&self) -> Vec<String> {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        vec![
            o(&self.prefix),
            o(&self.name),
            self.tenant_id.clone(),
            self.scopes.join(","),
            self.state.as_str().to_string(),
            day(&self.expires_at),
            day(&self.last_used_at),
            self.id.clone(),
        ]
    }

    fn level(&self) -> Option<Level> {
        match self.state {
            KeyState::Expiring => Some(Level::Warn),
            KeyState::Expired | KeyState::Revoked => Some(Level::Unknown),
            KeyState::Active => None,
        }
    }
}

/// `state:NAME` words set the state filter; the rest is the search text.
/// An unknown state is an error for the status line.
pub fn parse_filter(text: &str) -> Result<(Option<KeyState>, Option<String>)> {
    let mut state = None;
    let mut words = Vec::new();
    for w in text.split_whitespace() {
        match w.strip_prefix("state:") {
            Some(s) if !s.is_empty() => state = Some(s.parse()?),
            _ => words.push(w),
        }
    }
    Ok((state, (!words.is_empty()).then(|| words.join(" "))))
}

/// Pages of one tenant's keys, or of all of them, newest first.
pub struct KeySource {
    pub tenant: Option<String>,
}

impl PagedSource for KeySource {
    type Row = KeyRow;

    fn fetch(&self, session: Arc<Session>, req: PageRequest) -> BoxFuture<Result<Page<KeyRow>>> {
        let tenant = self.tenant.clone();
        Box::pin(async move {
            let pg = session.pg().await?;
            let (state, search) = parse_filter(&req.filter)?;
            let mut q = ListQuery {
                tenant,
                state,
                search,
                limit: req.limit,
                ..ListQuery::default()
            };
            let first = match req.anchor {
                Anchor::First => true,
                Anchor::After(c) => {
                    q.after = Some(c);
                    false
                }
                Anchor::Before(c) => {
                    q.before = Some(c);
                    false
                }
                Anchor::Last => {
                    q.from_end = true;
                    false
                }
            };
            let page = keys::page(&pg, &session.ctx.schema, &session.ctx.api_keys, &q).await?;
            // A short first page is the whole answer; otherwise no total (no count scan).
            let total = (first && page.rows.len() < req.limit).then_some(page.rows.len() as u64);
            let rows = page
                .cursors
                .into_iter()
                .zip(page.rows)
                .map(|(cursor, row)| Keyed { cursor, row })
                .collect();
            Ok(Page { rows, total })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_words_filter_by_state() {
        assert_eq!(parse_filter("").unwrap(), (None, None));
        assert_eq!(
            parse_filter("state:expiring ci bot").unwrap(),
            (Some(KeyState::Expiring), Some("ci bot".into()))
        );
        assert!(parse_filter("state:dormant").is_err());
    }

    #[test]
    fn expiring_keys_stand_out_and_dead_ones_are_muted() {
        let mut k = KeyRow {
            id: "1".into(),
            tenant_id: "1".into(),
            name: None,
            prefix: None,
            scopes: Vec::new(),
            created_at: None,
            expires_at: None,
            last_used_at: None,
            revoked_at: None,
            replaced_by: None,
            created_by: None,
            state: KeyState::Active,
        };
        assert_eq!(k.level(), None);
        k.state = KeyState::Expiring;
        assert_eq!(k.level(), Some(Level::Warn));
        k.state = KeyState::Revoked;
        assert_eq!(k.level(), Some(Level::Unknown));
    }
}
