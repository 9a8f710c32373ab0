//! The `:` command bar: completion over the registered screens, `ctx NAME`
//! over the config's contexts, `messages` and `q`; history with up/down;
//! readline editing from [`LineInput`].

use super::screens::ScreenId;
use super::widgets::line_input::LineInput;
use crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Screen(ScreenId),
    Ctx(String),
    /// The recent status messages and errors.
    Messages,
    Quit,
}

impl Command {
    pub fn parse(text: &str, contexts: &[String]) -> Result<Command, String> {
        let text = text.trim();
        let (word, arg) = match text.split_once(char::is_whitespace) {
            Some((w, a)) => (w, a.trim()),
            None => (text, ""),
        };
        match (word, arg) {
            ("q" | "quit" | "q!", "") => Ok(Command::Quit),
            ("messages" | "msgs", "") => Ok(Command::Messages),
            ("ctx" | "context", "") => {
                Err(format!("ctx needs a context name: {}", contexts.join(", ")))
            }
            ("ctx" | "context", name) if contexts.iter().any(|c| c == name) => {
                Ok(Command::Ctx(name.to_string()))
            }
            ("ctx" | "context", name) => Err(format!(
                "no context named '{name}'; known: {}",
                if contexts.is_empty() {
                    "none".to_string()
                } else {
                    contexts.join(", ")
                }
            )),
            (w, "") => ScreenId::from_name(w).map(Command::Screen).ok_or_else(|| {
                format!(
                    "unknown command '{w}'; try {}, messages, ctx NAME or q",
                    ScreenId::ALL
                        .iter()
                        .map(|s| s.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
            (w, _) => Err(format!("'{w}' takes no argument")),
        }
    }
}

/// Everything the bar can complete to.
pub fn vocabulary(contexts: &[String]) -> Vec<String> {
    let mut v: Vec<String> = ScreenId::ALL.iter().map(|s| s.name().to_string()).collect();
    v.extend(contexts.iter().map(|c| format!("ctx {c}")));
    v.push("messages".into());
    v.push("q".into());
    v
}

pub fn candidates(input: &str, contexts: &[String]) -> Vec<String> {
    let input = input.trim_start();
    vocabulary(contexts)
        .into_iter()
        .filter(|c| c.starts_with(input) && c != input)
        .collect()
}

#[derive(Debug, Clone, Default)]
pub struct CommandBar {
    pub input: LineInput,
    history_pos: Option<usize>,
}

pub enum BarOutcome {
    Open,
    Closed,
    Run(String),
}

impl CommandBar {
    pub fn text(&self) -> &str {
        self.input.value()
    }

    pub fn paste(&mut self, text: &str) {
        self.input.paste(text);
    }

    pub fn key(&mut self, key: KeyEvent, contexts: &[String], history: &[String]) -> BarOutcome {
        match key.code {
            KeyCode::Esc => return BarOutcome::Closed,
            KeyCode::Enter => return BarOutcome::Run(self.text().trim().to_string()),
            // Backspace on an empty bar closes it, as in vim.
            KeyCode::Backspace if self.input.is_empty() => return BarOutcome::Closed,
            KeyCode::Tab => {
                self.complete(contexts);
                return BarOutcome::Open;
            }
            KeyCode::Up if !history.is_empty() => {
                let pos = self
                    .history_pos
                    .map_or(history.len() - 1, |p| p.saturating_sub(1));
                self.history_pos = Some(pos);
                self.input.set(&history[pos]);
                return BarOutcome::Open;
            }
            KeyCode::Down => {
                match self.history_pos {
                    Some(p) if p + 1 < history.len() => {
                        self.history_pos = Some(p + 1);
                        self.input.set(&history[p + 1]);
                    }
                    _ => {
                        self.history_pos = None;
                        self.input.set("");
                    }
                }
                return BarOutcome::Open;
            }
            _ => {}
        }
        self.input.key(&key);
        BarOutcome::Open
    }

    /// Completes to the only candidate, or to the candidates' common prefix.
    pub fn complete(&mut self, contexts: &[String]) {
        let c = candidates(self.text(), contexts);
        if let Some(first) = c.first() {
            let common = c.iter().fold(first.clone(), |acc, s| {
                acc.chars()
                    .zip(s.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            });
            if common.len() > self.text().trim_start().len() {
                self.input.set(&common);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctxs() -> Vec<String> {
        vec!["local".into(), "prod".into()]
    }

    #[test]
    fn parses_commands() {
        assert_eq!(
            Command::parse("overview", &ctxs()),
            Ok(Command::Screen(ScreenId::Overview))
        );
        assert_eq!(Command::parse(" q ", &ctxs()), Ok(Command::Quit));
        assert_eq!(
            Command::parse("ctx prod", &ctxs()),
            Ok(Command::Ctx("prod".into()))
        );
        assert!(Command::parse("ctx nope", &ctxs())
            .unwrap_err()
            .contains("local, prod"));
        assert!(Command::parse("tenantz", &ctxs())
            .unwrap_err()
            .contains("unknown command"));
    }

    #[test]
    fn completes_unique_and_common_prefix() {
        let mut bar = CommandBar::default();
        bar.input.set("au");
        bar.complete(&ctxs());
        assert_eq!(bar.text(), "audit");
        bar.input.set("ctx ");
        bar.complete(&ctxs());
        assert_eq!(bar.text(), "ctx ", "two contexts: nothing common to add");
        assert_eq!(candidates("ctx ", &ctxs()), vec!["ctx local", "ctx prod"]);
        bar.input.set("ctx p");
        bar.complete(&ctxs());
        assert_eq!(bar.text(), "ctx prod");
    }
}
