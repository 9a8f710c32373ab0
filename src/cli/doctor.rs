//! `opsdeck doctor`: connectivity, versions, extensions, privileges, RLS,
//! config permissions; one line per check.

use super::output::{self, Format, Tabular};
use super::Global;
use crate::error::{ExitCode, Result};
use crate::health::doctor::{self, Check, Status};

impl Tabular for Check {
    fn headers() -> Vec<&'static str> {
        vec!["status", "check", "detail", "fix"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.status.as_str().to_string(),
            self.check.clone(),
            self.detail.clone(),
            self.fix.clone(),
        ]
    }
}

pub async fn run(global: &Global) -> Result<ExitCode> {
    let session = global.session()?;
    let checks = doctor::run(&session).await;
    match global.output {
        Format::Table => {
            for c in &checks {
                let fix = if c.fix.is_empty() {
                    String::new()
                } else {
                    format!(" -> {}", c.fix)
                };
                println!(
                    "{:<4}  {:<18} {}{fix}",
                    c.status.as_str(),
                    c.check,
                    c.detail
                );
            }
        }
        f => output::print_list(&checks, f)?,
    }
    Ok(if checks.iter().any(|c| c.status == Status::Fail) {
        ExitCode::Problems
    } else {
        ExitCode::Ok
    })
}
