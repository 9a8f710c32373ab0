//! `opsdeck doctor`: connectivity, versions, extensions, privileges, RLS,
//! config permissions; one line per check.

use super::output::{self, Tabular};
use super::Global;
use crate::error::{ExitCode, Result};
use crate::health::doctor::{self, Check, Status};

impl Tabular for Check {
    fn headers() -> Vec<&'static str> {
        vec!["check", "status", "detail", "fix"]
    }
    fn cells(&self) -> Vec<String> {
        vec![
            self.check.clone(),
            self.status.as_str().to_string(),
            self.detail.clone(),
            self.fix.clone(),
        ]
    }
}

pub async fn run(global: &Global) -> Result<ExitCode> {
    let session = global.session()?;
    let checks = doctor::run(&session).await;
    output::print_list(&checks, global.output)?;
    Ok(if checks.iter().any(|c| c.status == Status::Fail) {
        ExitCode::Problems
    } else {
        ExitCode::Ok
    })
}
