//! The overview's panes and how they share the body.
//!
//! # Adding a pane (failed jobs, keys expiring soon, last restore drill, …)
//! 1. Write `panes/NAME.rs` with a unit struct implementing [`Pane`]: what
//!    it needs comes in [`Data`] (add a field there, filled by the overview's
//!    collection task in `mod.rs`, when the pane reads something new).
//! 2. List it in [`PANES`], in the order the body shows them.
//! 3. When it opens a screen: return that screen from [`Pane::opens`] and
//!    add an `Action::Open(ScreenId::…)` line to the overview's `ACTIONS`
//!    with its key; the pane's title shows the key from the live keymap.

use super::panes;
use super::Action;
use crate::audit::AuditEntry;
use crate::health::overview::{Figure, Overview};
use crate::jobs::health::JobsHealth;
use crate::keys::store::Expiring;
use crate::migrations::Summary;
use crate::tui::screens::{Cx, ScreenAction, ScreenId};
use crate::tui::widgets::sparkline::Series;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;
use std::collections::BTreeMap;

/// What the panes draw from.
pub struct Data<'a> {
    pub overview: &'a Overview,
    pub figures: &'a [Figure],
    pub series: &'a BTreeMap<&'static str, Series>,
    /// The latest audit entries, newest first, or why they could not be read.
    pub audit: &'a Result<Vec<AuditEntry>, String>,
    /// API keys expiring within the context's window (None: no keys table).
    pub keys: &'a Result<Option<Expiring>, String>,
    /// The newest migration and anything stuck (None: no migration tool here).
    pub migrations: &'a Result<Option<Summary>, String>,
    /// Failed jobs and dead-letter depth (None: no job system here).
    pub jobs: &'a Result<Option<JobsHealth>, String>,
    /// The last restore drill (None: none recorded).
    pub drill: &'a Result<Option<crate::drills::status::LastDrill>, String>,
}

/// How wide a pane wants to be: half panes sit side by side when the body
/// is wide enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    Half,
    Full,
}

pub trait Pane: Sync {
    fn title(&self) -> &'static str;

    /// The screen the pane's key opens.
    fn opens(&self) -> Option<ScreenId> {
        None
    }

    fn width(&self) -> Width {
        Width::Full
    }

    /// Whether the pane applies to this context (a store that is configured).
    fn shown(&self, cx: &Cx) -> bool;

    /// Rows wanted under the title.
    fn rows(&self, data: &Data) -> u16;

    fn render(&self, frame: &mut Frame, area: Rect, data: &Data, cx: &Cx);
}

/// Every pane, in the order the body shows them.
pub const PANES: &[&dyn Pane] = &[
    &panes::stores::POSTGRES,
    &panes::stores::REDIS,
    &panes::now::Now,
    &panes::keys::Keys,
    &panes::migrations::Migrations,
    &panes::jobs::Jobs,
    &panes::drills::Drills,
    &panes::audit::Audit,
];

/// Columns from which half panes go side by side.
pub const SIDE_BY_SIDE: u16 = 100;

/// Places the shown panes top to bottom, half panes in pairs on a wide
/// body. Every pane first gets its title and one row (while room is left:
/// the later ones are left out on a tiny body), then each in turn grows to
/// what it wants, and the last one takes what remains.
pub fn layout(area: Rect, panes: &[(&dyn Pane, u16)]) -> Vec<(usize, Rect)> {
    let mut rows: Vec<Vec<usize>> = Vec::new();
    let mut i = 0;
    while i < panes.len() {
        let pair = area.width >= SIDE_BY_SIDE
            && panes[i].0.width() == Width::Half
            && panes.get(i + 1).is_some_and(|p| p.0.width() == Width::Half);
        let n = if pair { 2 } else { 1 };
        rows.push((i..i + n).collect());
        i += n;
    }
    let wanted: Vec<u16> = rows
        .iter()
        .map(|r| r.iter().map(|&p| panes[p].1.max(1) + 1).max().unwrap_or(2))
        .collect();
    let mut heights: Vec<u16> = Vec::new();
    let mut left = area.height;
    for _ in &rows {
        if left < 2 {
            break;
        }
        heights.push(2);
        left -= 2;
    }
    for (h, want) in heights.iter_mut().zip(&wanted) {
        let more = want.saturating_sub(*h).min(left);
        *h += more;
        left -= more;
    }
    if let Some(last) = heights.last_mut() {
        *last += left;
    }
    let mut out = Vec::new();
    let mut y = area.y;
    for (row, height) in rows.iter().zip(heights) {
        let w = area.width / u16::try_from(row.len()).unwrap_or(1);
        for (k, &p) in row.iter().enumerate() {
            let x = area.x + w * u16::try_from(k).unwrap_or(0);
            let width = if k + 1 == row.len() {
                area.right() - x
            } else {
                w.saturating_sub(1)
            };
            out.push((p, Rect::new(x, y, width, height)));
        }
        y += height;
    }
    out
}

/// The pane's title line (`Postgres · t`, the key from the live keymap) and
/// the area under it.
pub fn frame_pane(frame: &mut Frame, area: Rect, pane: &dyn Pane, cx: &Cx) -> Rect {
    let theme = &cx.env.theme;
    let mut title = vec![Span::styled(format!(" {} ", pane.title()), theme.title())];
    if let Some(id) = pane.opens() {
        let key = cx.env.keymap.screen_first(
            ScreenId::Overview.name(),
            ScreenAction::Overview(Action::Open(id)),
        );
        if !key.is_empty() {
            title.push(Span::styled(format!("{key} "), theme.key()));
        }
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .border_style(theme.border(false))
        .title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_panes_pair_up_when_wide_and_the_last_takes_the_rest() {
        let p = PANES;
        let list: Vec<(&dyn Pane, u16)> = vec![(p[0], 8), (p[1], 5), (p[2], 2), (p[3], 3)];
        let wide = layout(Rect::new(0, 0, 120, 30), &list);
        assert_eq!(wide.len(), 4);
        assert_eq!(wide[0].1, Rect::new(0, 0, 59, 9));
        assert_eq!(wide[1].1, Rect::new(60, 0, 60, 9));
        assert_eq!(wide[2].1, Rect::new(0, 9, 120, 3));
        assert_eq!(wide[3].1, Rect::new(0, 12, 120, 18), "the rest");
        let narrow = layout(Rect::new(0, 0, 80, 18), &list);
        let heights: Vec<u16> = narrow.iter().map(|(_, r)| r.height).collect();
        assert_eq!(
            heights,
            [9, 5, 2, 2],
            "every pane shows; the first ones whole"
        );
        assert_eq!(narrow[3].1.y, 16);
        let tiny = layout(Rect::new(0, 0, 38, 5), &list);
        let heights: Vec<u16> = tiny.iter().map(|(_, r)| r.height).collect();
        assert_eq!(heights, [3, 2], "a title and a row each, while they fit");
    }
}
