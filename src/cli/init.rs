//! `opsdeck init`: creates the opsdeck schema (audit log, drill history).

use super::{confirm, Global};
use crate::error::{ExitCode, Result};
use crate::safety::{Intent, Risk};

pub async fn run(global: &Global) -> Result<ExitCode> {
    let session = global.session()?;
    let pg = session.pg().await?;
    let intent = Intent::new(
        "opsdeck.init",
        pg.target.clone(),
        Risk::Mutating,
        format!(
            "Create schema 'opsdeck' (audit log, drill history) in {}.",
            pg.target
        ),
    );
    let approval = confirm::approval(&intent, global.yes);
    let guard = session.safety().await.authorize(intent, approval).await?;
    guard
        .run(
            crate::audit::install_schema(&pg),
            |_| serde_json::json!({"schema": "opsdeck"}),
        )
        .await
        .map_err(|e| e.at(&pg.target))?;
    eprintln!("opsdeck: schema 'opsdeck' is ready in {}", pg.target);
    Ok(ExitCode::Ok)
}
