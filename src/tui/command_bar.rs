//! The `:` command bar: completion over the registered screens, `ctx NAME`
//! over the config's contexts and `q`; history with up/down.

use super::screens::ScreenId;
use crossterm::event::{KeyCode, KeyEvent};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Screen(ScreenId),
    Ctx(String),
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
                    "unknown command '{w}'; try {}, ctx NAME or q",
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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommandBar {
    pub input: String,
    history_pos: Option<usize>,
}

pub enum BarOutcome {
    Open,
    Closed,
    Run(String),
}

impl CommandBar {
    pub fn key(&mut self, key: KeyEvent, contexts: &[String], history: &[String]) -> BarOutcome {
        match key.code {
            KeyCode::Esc => BarOutcome::Closed,
            KeyCode::Enter => BarOutcome::Run(self.input.trim().to_string()),
            KeyCode::Backspace => {
                if self.input.pop().is_none() {
                    return BarOutcome::Closed;
                }
                BarOutcome::Open
            }
            KeyCode::Tab => {
                self.complete(contexts);
                BarOutcome::Open
            }
            KeyCode::Up if !history.is_empty() => {
                let pos = self
                    .history_pos
                    .map_or(history.len() - 1, |p| p.saturating_sub(1));
                self.history_pos = Some(pos);
                self.input = history[pos].clone();
                BarOutcome::Open
            }
            KeyCode::Down => {
                match self.history_pos {
                    Some(p) if p + 1 < history.len() => {
                        self.history_pos = Some(p + 1);
                        self.input = history[p + 1].clone();
                    }
                    _ => {
                        self.history_pos = None;
                        self.input.clear();
                    }
                }
                BarOutcome::Open
            }
            KeyCode::Char(c) => {
                self.input.push(c);
                BarOutcome::Open
            }
            _ => BarOutcome::Open,
        }
    }

    /// Completes to the only candidate, or to the candidates' common prefix.
    pub fn complete(&mut self, contexts: &[String]) {
        let c = candidates(&self.input, contexts);
        if let Some(first) = c.first() {
            let common = c.iter().fold(first.clone(), |acc, s| {
                acc.chars()
                    .zip(s.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a)
                    .collect()
            });
            if common.len() > self.input.trim_start().len() {
                self.input = common;
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
        let mut bar = CommandBar {
            input: "au".into(),
            ..Default::default()
        };
        bar.complete(&ctxs());
        assert_eq!(bar.input, "audit");
        bar.input = "ctx ".into();
        bar.complete(&ctxs());
        assert_eq!(bar.input, "ctx ", "two contexts: nothing common to add");
        assert_eq!(candidates("ctx ", &ctxs()), vec!["ctx local", "ctx prod"]);
        bar.input = "ctx p".into();
        bar.complete(&ctxs());
        assert_eq!(bar.input, "ctx prod");
    }
}
