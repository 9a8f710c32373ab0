//! The create-key form: tenant (fixed when the screen is one tenant's),
//! name, scopes and lifetime, typed in place. It holds the keyboard while
//! open; Enter submits, Esc drops it. It never holds a secret.

use crate::keys::CreateRequest;
use crate::tui::text::cleaned;
use crate::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

const LABELS: [&str; 4] = ["tenant", "name", "scopes", "expires"];
/// Typed text per field stops here: more is a mistake, not a key name.
const MAX_FIELD: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Open,
    Cancelled,
    Submit(CreateRequestText),
}

/// The form's text, parsed into a [`CreateRequest`] by the screen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateRequestText {
    pub tenant: String,
    pub name: String,
    pub scopes: String,
    pub expires: String,
}

impl CreateRequestText {
    /// The request, or why the lifetime does not parse.
    pub fn request(&self) -> crate::Result<CreateRequest> {
        let expires = match self.expires.trim() {
            "" => None,
            t => Some(crate::units::parse_age(t)?),
        };
        Ok(CreateRequest {
            tenant: self.tenant.clone(),
            name: self.name.clone(),
            scopes: self.scopes.split(',').map(str::to_string).collect(),
            expires,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Form {
    values: [String; 4],
    focus: usize,
    /// The tenant is given by the screen and cannot be edited.
    fixed_tenant: bool,
}

impl Form {
    pub fn new(tenant: Option<&str>) -> Form {
        let mut values: [String; 4] = Default::default();
        values[0] = tenant.unwrap_or_default().to_string();
        values[3] = "90d".into();
        Form {
            values,
            focus: if tenant.is_some() { 1 } else { 0 },
            fixed_tenant: tenant.is_some(),
        }
    }

    fn first(&self) -> usize {
        usize::from(self.fixed_tenant)
    }

    pub fn key(&mut self, ev: &KeyEvent) -> Outcome {
        match ev.code {
            KeyCode::Esc => return Outcome::Cancelled,
            KeyCode::Enter => {
                let [tenant, name, scopes, expires] = self.values.clone();
                return Outcome::Submit(CreateRequestText {
                    tenant,
                    name,
                    scopes,
                    expires,
                });
            }
            KeyCode::Tab | KeyCode::Down => {
                self.focus = if self.focus + 1 >= LABELS.len() {
                    self.first()
                } else {
                    self.focus + 1
                }
            }
            KeyCode::BackTab | KeyCode::Up => {
                self.focus = if self.focus <= self.first() {
                    LABELS.len() - 1
                } else {
                    self.focus - 1
                }
            }
            KeyCode::Backspace => {
                self.values[self.focus].pop();
            }
            KeyCode::Char(c) if !c.is_control() => {
                let v = &mut self.values[self.focus];
                if v.chars().count() < MAX_FIELD {
                    v.push(c);
                }
            }
            _ => {}
        }
        Outcome::Open
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        let width = area.width.min(60);
        let height = area.height.min(9);
        let r = Rect {
            x: area.x + (area.width - width) / 2,
            y: area.y + (area.height - height) / 2,
            width,
            height,
        };
        frame.render_widget(Clear, r);
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme.accent())
            .title(Line::styled(" new API key ", theme.title()));
        let inner = block.inner(r);
        frame.render_widget(block, r);
        let mut lines: Vec<Line> = LABELS
            .iter()
            .zip(&self.values)
            .enumerate()
            .map(|(i, (label, value))| {
                let style = if i == self.focus {
                    theme.selection()
                } else if i == 0 && self.fixed_tenant {
                    theme.muted()
                } else {
                    theme.text()
                };
                let cursor = if i == self.focus { "▏" } else { "" };
                Line::from(vec![
                    Span::styled(format!("{label:>8} "), theme.muted()),
                    Span::styled(format!("{}{cursor}", cleaned(value)), style),
                ])
            })
            .collect();
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "scopes a,b · expires 90d/24h or empty",
            theme.muted(),
        ));
        lines.push(Line::styled(
            "tab next · enter create · esc cancel",
            theme.muted(),
        ));
        frame.render_widget(Paragraph::new(lines), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn k(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn typing_tabbing_and_submitting() {
        let mut f = Form::new(Some("acme"));
        for c in "ci".chars() {
            assert_eq!(f.key(&k(KeyCode::Char(c))), Outcome::Open);
        }
        f.key(&k(KeyCode::Tab));
        for c in "read,write".chars() {
            f.key(&k(KeyCode::Char(c)));
        }
        f.key(&k(KeyCode::Tab));
        f.key(&k(KeyCode::Backspace));
        f.key(&k(KeyCode::Char('w')));
        // Past the last field it wraps to the first editable one, not the fixed tenant.
        f.key(&k(KeyCode::Tab));
        f.key(&k(KeyCode::Char('2')));
        let Outcome::Submit(text) = f.key(&k(KeyCode::Enter)) else {
            panic!("enter submits");
        };
        assert_eq!(text.tenant, "acme");
        assert_eq!(text.name, "ci2");
        let req = text.request().unwrap();
        assert_eq!(req.scopes, ["read", "write"]);
        assert_eq!(req.expires.unwrap().num_weeks(), 90);
        assert_eq!(f.key(&k(KeyCode::Esc)), Outcome::Cancelled);
        let bad = CreateRequestText {
            expires: "soon".into(),
            ..text
        };
        assert!(bad.request().is_err());
    }
}
