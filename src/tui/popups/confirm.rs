//! The confirmation dialog in front of every mutation. Default is Cancel;
//! a reversible change asks yes/no, a destructive one wants the target's
//! name typed; in a read-only context it shows the refusal instead of
//! asking. The answer becomes an `Approval` for `Safety::authorize`, which
//! still has the last word.

use crate::safety::{self, Approval, Risk};
use crate::tui::cmd::PendingOp;
use crate::tui::theme::Theme;
use crate::tui::widgets::fit::{fit, wrapped};
use crate::tui::widgets::line_input::LineInput;
use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    Cancel,
    Confirm,
}

pub struct ConfirmPopup {
    op: PendingOp,
    refusal: Option<String>,
    typed: LineInput,
    focus: Button,
}

pub enum Answer {
    /// Still open.
    Open,
    /// Closed without running anything.
    Closed,
    /// Run the operation with this approval (the safety layer checks it).
    Approved(PendingOp, Approval),
}

impl ConfirmPopup {
    pub fn new(op: PendingOp, read_only: bool) -> ConfirmPopup {
        let refusal = safety::policy(&op.intent, read_only).err();
        ConfirmPopup {
            op,
            refusal,
            typed: LineInput::default(),
            focus: Button::Cancel,
        }
    }

    pub fn focus(&self) -> Button {
        self.focus
    }

    pub fn refusal(&self) -> Option<&str> {
        self.refusal.as_deref()
    }

    /// Whether it wants the target's name typed.
    pub fn destructive(&self) -> bool {
        self.op.intent.risk == Risk::Destructive
    }

    pub fn action(&self) -> &str {
        &self.op.intent.action
    }

    /// Pasted text goes to the name prompt of a destructive confirmation.
    pub fn paste(&mut self, text: &str) {
        if self.refusal.is_none() && self.destructive() {
            self.typed.paste(text);
        }
    }

    pub fn key(mut self, key: KeyEvent) -> (Option<ConfirmPopup>, Answer) {
        if self.refusal.is_some() {
            return (None, Answer::Closed);
        }
        match (self.op.intent.risk, key.code) {
            (_, KeyCode::Esc) => (None, Answer::Closed),
            (_, KeyCode::Tab | KeyCode::BackTab | KeyCode::Left | KeyCode::Right) => {
                self.focus = match self.focus {
                    Button::Cancel => Button::Confirm,
                    Button::Confirm => Button::Cancel,
                };
                (Some(self), Answer::Open)
            }
            (Risk::Mutating, KeyCode::Char('y' | 'Y')) => {
                (None, Answer::Approved(self.op, Approval::Confirmed))
            }
            (Risk::Mutating, KeyCode::Enter) if self.focus == Button::Confirm => {
                (None, Answer::Approved(self.op, Approval::Confirmed))
            }
            (Risk::Mutating, _) => (None, Answer::Closed),
            (Risk::Destructive, KeyCode::Enter)
                if self.focus == Button::Confirm || !self.typed.is_empty() =>
            {
                let typed = self.typed.value().to_string();
                (None, Answer::Approved(self.op, Approval::Typed(typed)))
            }
            (Risk::Destructive, KeyCode::Enter) => (None, Answer::Closed),
            // The name prompt edits like a shell line; other keys do nothing.
            (Risk::Destructive, _) => {
                self.typed.key(&key);
                (Some(self), Answer::Open)
            }
        }
    }

    /// Rows the popup needs at `width` columns (border included).
    pub fn height(&self, width: u16, theme: &Theme) -> u16 {
        let (body, foot) = self.lines(usize::from(width.saturating_sub(2)), theme);
        u16::try_from(body.len() + foot.len() + 2).unwrap_or(u16::MAX)
    }

    /// The text, then what must stay in view however small the box: the
    /// typed-name prompt and the buttons (Cancel first, the default), or the
    /// refusal's closing hint.
    fn lines(&self, cols: usize, theme: &Theme) -> (Vec<Line<'static>>, Vec<Line<'static>>) {
        let intent = &self.op.intent;
        let mut body = wrapped(&intent.summary, cols, theme.text());
        if let Some(reason) = &self.refusal {
            body.push(Line::raw(""));
            body.extend(wrapped(reason, cols, theme.error()));
            let foot = vec![Line::raw(""), Line::styled("any key closes", theme.muted())];
            return (body, foot);
        }
        let mut foot = vec![Line::raw("")];
        if intent.risk == Risk::Destructive {
            foot.extend(wrapped(
                &format!("type '{}' to confirm:", intent.target),
                cols,
                theme.muted(),
            ));
            let mut prompt = vec![Span::styled("› ", theme.accent())];
            prompt.extend(
                self.typed
                    .spans(cols.saturating_sub(2), theme.accent(), theme.accent()),
            );
            foot.push(Line::from(prompt));
            foot.push(Line::raw(""));
        }
        let button = |label: &'static str, b: Button| {
            if self.focus == b {
                Span::styled(format!("[ {label} ]"), theme.selection())
            } else {
                Span::styled(format!("  {label}  "), theme.text())
            }
        };
        let confirm = if intent.risk == Risk::Destructive {
            "Confirm"
        } else {
            "Yes"
        };
        foot.push(Line::from(vec![
            button("Cancel", Button::Cancel),
            Span::raw("  "),
            button(confirm, Button::Confirm),
        ]));
        (body, foot)
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, theme: &Theme) {
        frame.render_widget(Clear, area);
        let intent = &self.op.intent;
        let (title, border) = match (&self.refusal, intent.risk) {
            (Some(_), _) => (" refused ", theme.error()),
            (None, Risk::Destructive) => (" confirm (destructive) ", theme.danger()),
            (None, Risk::Mutating) => (" confirm ", theme.border(true)),
        };
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border)
            .title(Line::styled(title, border));
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let (body, foot) = self.lines(usize::from(inner.width), theme);
        frame.render_widget(
            Paragraph::new(fit(body, foot, usize::from(inner.height))),
            inner,
        );
    }
}
