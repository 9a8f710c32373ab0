//! Which tools keep a history here: a tool counts when its table exists
//! with the column that tells it apart (golang-migrate's `dirty`, so a
//! Rails `schema_migrations` is not taken for it). One round trip.

use super::Tool;
use crate::config::migrations::MigrationsConfig;
use crate::conn::sql::QualName;
use crate::conn::Pg;
use crate::error::Result;

/// Each candidate: the tool, its table and the column that identifies it.
fn candidates(cfg: &MigrationsConfig) -> Result<Vec<(Tool, QualName, String)>> {
    let mut out = vec![
        (
            Tool::Drizzle,
            QualName::parse(&cfg.drizzle_table, "drizzle")?,
            "hash".to_string(),
        ),
        (
            Tool::Prisma,
            QualName::parse(&cfg.prisma_table, "public")?,
            "checksum".into(),
        ),
        (
            Tool::Pgroll,
            QualName {
                schema: cfg.pgroll_schema.clone(),
                table: "migrations".into(),
            },
            "done".into(),
        ),
        (
            Tool::GolangMigrate,
            QualName::parse(&cfg.golang_migrate_table, "public")?,
            "dirty".into(),
        ),
        (
            Tool::NodePgMigrate,
            QualName::parse(&cfg.node_pg_migrate_table, "public")?,
            "run_on".into(),
        ),
    ];
    if let Some(t) = &cfg.table {
        out.push((
            Tool::Table,
            QualName::parse(&t.table, "public")?,
            t.name_column.clone(),
        ));
    }
    Ok(out
        .into_iter()
        .filter(|(tool, _, _)| cfg.wants(*tool))
        .collect())
}

pub async fn detect(pg: &Pg, cfg: &MigrationsConfig) -> Result<Vec<(Tool, QualName)>> {
    let candidates = candidates(cfg)?;
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<String> = (0..candidates.len())
        .map(|i| format!("({}::int, ${}::text, ${}::text)", i, 2 * i + 1, 2 * i + 2))
        .collect();
    let sql = format!(
        "SELECT c.i FROM (VALUES {}) c(i, rel, col)
          WHERE EXISTS (SELECT 1 FROM pg_attribute a
                         WHERE a.attrelid = to_regclass(c.rel) AND a.attname = c.col
                           AND NOT a.attisdropped)
          ORDER BY c.i",
        values.join(", ")
    );
    let rels: Vec<String> = candidates.iter().map(|(_, q, _)| q.sql()).collect();
    let params: Vec<&str> = candidates
        .iter()
        .zip(&rels)
        .flat_map(|((_, _, col), rel)| [rel.as_str(), col.as_str()])
        .collect();
    let rows = pg.rows(&sql, &params).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let i: i32 = r.get(0);
            candidates
                .get(i as usize)
                .map(|(tool, q, _)| (*tool, q.clone()))
        })
        .collect())
}
