//! `opsdeck init`: creates the opsdeck schema (audit log, drill history).

use super::interrupt::Interrupts;
use super::output::{self, Format};
use super::record::Record;
use super::{confirm, narrate, Global};
use crate::audit::{install_schema, SchemaInstall};
use crate::error::{ExitCode, Result};

/// What `--output json|csv` reports once the schema is in place.
#[derive(serde::Serialize)]
struct Installed<'a> {
    target: &'a str,
    schema: &'static str,
    ready: bool,
}

impl Installed<'_> {
    fn record(&self) -> Record {
        Record::new()
            .text("target", self.target)
            .text("schema", self.schema)
            .text("ready", self.ready.to_string())
    }
}

pub async fn run(global: &Global) -> Result<ExitCode> {
    let session = global.session()?;
    let pg = session.pg().await?;
    let safety = session.safety().await;
    let plan = SchemaInstall::new(&pg.target);
    let approval = confirm::approval(&safety, &plan, global.yes).await?;
    // One short batch that cannot stop midway: a signal waits for its end record.
    Interrupts::run(&safety, plan, approval, |approved, _| {
        install_schema(&pg, approved)
    })
    .await
    .map_err(|e| e.at(&pg.target))?;
    narrate::say(format!("schema 'opsdeck' is ready in {}", pg.target));
    if global.output != Format::Table {
        let done = Installed {
            target: &pg.target,
            schema: "opsdeck",
            ready: true,
        };
        output::print_result(&done, Installed::record, global.output)?;
    }
    Ok(ExitCode::Ok)
}
