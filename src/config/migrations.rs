//! Where each migration tool keeps its history, per context: the tools'
//! documented defaults, overridable because teams move them, and a table
//! adapter for home-grown histories.

use serde::Deserialize;

/// The migration tools opsdeck reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tool {
    Drizzle,
    Prisma,
    Pgroll,
    GolangMigrate,
    NodePgMigrate,
    Table,
}

impl Tool {
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Drizzle => "drizzle",
            Tool::Prisma => "prisma",
            Tool::Pgroll => "pgroll",
            Tool::GolangMigrate => "golang_migrate",
            Tool::NodePgMigrate => "node_pg_migrate",
            Tool::Table => "table",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MigrationsConfig {
    /// Only these tools are read; unset: every tool whose table exists.
    pub tools: Option<Vec<Tool>>,
    pub drizzle_table: String,
    pub prisma_table: String,
    /// pgroll's state schema (its `migrations` table lives there).
    pub pgroll_schema: String,
    pub golang_migrate_table: String,
    pub node_pg_migrate_table: String,
    /// A history table of the application's own.
    pub table: Option<TableAdapter>,
}

/// A plain history table: one row per applied migration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableAdapter {
    pub table: String,
    pub name_column: String,
    pub applied_at_column: String,
}

impl Default for MigrationsConfig {
    fn default() -> Self {
        MigrationsConfig {
            tools: None,
            drizzle_table: "drizzle.__drizzle_migrations".into(),
            prisma_table: "_prisma_migrations".into(),
            pgroll_schema: "pgroll".into(),
            golang_migrate_table: "schema_migrations".into(),
            node_pg_migrate_table: "pgmigrations".into(),
            table: None,
        }
    }
}

impl MigrationsConfig {
    /// Whether `tool` is read in this context.
    pub fn wants(&self, tool: Tool) -> bool {
        self.tools.as_ref().is_none_or(|t| t.contains(&tool))
    }
}
