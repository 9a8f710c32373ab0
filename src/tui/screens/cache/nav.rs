//! Moving around the cache screen: the prefix tree (expand with →, collapse
//! with ←, Enter lists keys), the key list (paged on as the selection nears
//! its end) and the value pane.

use super::{CacheScreen, Focus};
use crate::tui::cmd::Cmd;
use crate::tui::keymap::Global;

impl CacheScreen {
    pub(super) fn tree_nav(&mut self, nav: Global) -> Option<Vec<Cmd>> {
        let rows = self.rows();
        let n = rows.len();
        let selected = self
            .selected_path()
            .zip(rows.get(self.cursor))
            .map(|(path, (_, node))| (path, !node.children.is_empty()));
        let row = self.selected_row();
        match nav {
            Global::Up => self.cursor = self.cursor.saturating_sub(1),
            Global::Down => self.cursor = (self.cursor + 1).min(n.saturating_sub(1)),
            Global::PageUp => self.cursor = self.cursor.saturating_sub(10),
            Global::PageDown => self.cursor = (self.cursor + 10).min(n.saturating_sub(1)),
            Global::Top => self.cursor = 0,
            Global::Bottom => self.cursor = n.saturating_sub(1),
            Global::Right => {
                if let Some((path, true)) = selected {
                    self.expanded.insert(path);
                }
            }
            Global::Left => {
                if let Some((path, _)) = selected {
                    if !self.expanded.remove(&path) {
                        // Collapsing a collapsed row moves to its parent.
                        let sep = self.separator.clone();
                        if let Some((parent, _)) = path.rsplit_once(sep.as_str()) {
                            self.expanded.remove(parent);
                            if let Some(i) = self.rows().iter().position(|(_, n)| n.path == parent)
                            {
                                self.cursor = i;
                            }
                        }
                    }
                }
            }
            Global::Enter => return row.map(|r| self.list(r, String::new())),
            _ => return None,
        }
        Some(Vec::new())
    }

    pub(super) fn keys_nav(&mut self, nav: Global) -> Option<Vec<Cmd>> {
        let pane = self.keys.as_mut()?;
        let n = pane.entries.len();
        let last = n.saturating_sub(1);
        match nav {
            Global::Up => pane.cursor = pane.cursor.saturating_sub(1),
            Global::Down => pane.cursor = (pane.cursor + 1).min(last),
            Global::PageUp => pane.cursor = pane.cursor.saturating_sub(10),
            Global::PageDown => pane.cursor = (pane.cursor + 10).min(last),
            // The start again: keys dropped from the window are scanned anew.
            Global::Top if pane.skipped() > 0 => return Some(self.relist(None)),
            Global::Top => pane.cursor = 0,
            Global::Bottom => pane.cursor = last,
            // Esc clears the key filter first, then closes the list.
            Global::Back if !pane.filter().is_empty() => {
                return Some(self.relist(Some(String::new())))
            }
            Global::Back | Global::Left => {
                self.keys = None;
                self.focus = Focus::Tree;
                return Some(Vec::new());
            }
            Global::Enter | Global::Right => {
                let entry = pane.entries.get(pane.cursor)?.clone();
                return Some(self.load_value(&entry));
            }
            _ => return None,
        }
        Some(self.more_if_near_end())
    }

    pub(super) fn value_nav(&mut self, nav: Global) -> Option<Vec<Cmd>> {
        let pane = self.value.as_mut()?;
        match nav {
            Global::Up => pane.scroll = pane.scroll.saturating_sub(1),
            Global::Down => pane.scroll = pane.scroll.saturating_add(1),
            Global::PageUp => pane.scroll = pane.scroll.saturating_sub(10),
            Global::PageDown => pane.scroll = pane.scroll.saturating_add(10),
            Global::Top => pane.scroll = 0,
            Global::Back | Global::Left | Global::Enter => {
                self.value = None;
                self.focus = Focus::Keys;
            }
            _ => return None,
        }
        Some(Vec::new())
    }
}
