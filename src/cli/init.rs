//! `opsdeck init`: creates the opsdeck schema (audit log, drill history).

use super::interrupt::Interrupts;
use super::{confirm, Global};
use crate::audit::{install_schema, SchemaInstall};
use crate::error::{ExitCode, Result};

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
    eprintln!("opsdeck: schema 'opsdeck' is ready in {}", pg.target);
    Ok(ExitCode::Ok)
}
