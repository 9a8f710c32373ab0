//! Verification of a restored database, one check per file. Each returns
//! rows of ok/fail with a detail that names what differs.

pub mod amcheck;
pub mod custom;
pub mod rows;
pub mod schema;
pub mod sequences;
pub mod tables;
pub mod tenants;

use super::Check;
use crate::config::drills::DrillSettings;
use crate::config::SchemaMap;
use crate::conn::Pg;
use crate::error::Result;

/// What every check may look at.
pub struct Verify<'a> {
    pub source: &'a Pg,
    pub restored: &'a Pg,
    pub settings: &'a DrillSettings,
    pub schema: &'a SchemaMap,
}

/// Runs every check in order; the catalog reads of both sides go out together.
pub async fn all(v: &Verify<'_>) -> Result<Vec<Check>> {
    let (src_tables, dst_tables) =
        tokio::try_join!(tables::list(v.source), tables::list(v.restored))?;
    let mut checks = vec![tables::compare(&src_tables, &dst_tables)];
    checks.extend(rows::compare(v, &src_tables, &dst_tables).await?);
    checks.extend(tenants::compare(v, &src_tables, &dst_tables).await?);
    checks.push(schema::compare(v.source, v.restored).await?);
    checks.push(sequences::check(v.restored).await?);
    checks.push(amcheck::check(v.restored).await?);
    checks.extend(custom::run(v.restored, &v.settings.checks).await);
    Ok(checks)
}

/// At most `n` items of a list for a detail line, with how many more.
pub fn some_of(items: &[String], n: usize) -> String {
    let mut s = items.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if items.len() > n {
        s.push_str(&format!(" and {} more", items.len() - n));
    }
    s
}
