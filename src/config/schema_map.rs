//! Names of the application's tables and columns. Defaults follow the
//! reference schema (DESIGN.md section 1); every name is overridable because
//! real systems differ.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SchemaMap {
    /// Schema searched for tenant-scoped tables by the tenancy lint.
    pub app_schema: String,
    pub tenants_table: String,
    pub tenant_id: String,
    pub tenant_slug: String,
    pub tenant_name: String,
    /// `""` in the config when the tenants table has no plan column.
    #[serde(deserialize_with = "empty_is_none")]
    pub tenant_plan: Option<String>,
    pub tenant_status: String,
    /// `""` in the config when the tenants table has no creation time column.
    #[serde(deserialize_with = "empty_is_none")]
    pub tenant_created_at: Option<String>,
    pub status_active: String,
    pub status_suspended: String,
    /// Column that scopes rows to a tenant in tenant tables.
    pub tenant_column: String,
    pub api_keys_table: String,
    pub app_audit_table: String,
    /// Extra SQL run in the same transaction after suspending; `$1` is the tenant id as text.
    pub suspend_hooks: Vec<String>,
    pub resume_hooks: Vec<String>,
}

impl Default for SchemaMap {
    fn default() -> Self {
        SchemaMap {
            app_schema: "public".into(),
            tenants_table: "tenants".into(),
            tenant_id: "id".into(),
            tenant_slug: "slug".into(),
            tenant_name: "name".into(),
            tenant_plan: Some("plan".into()),
            tenant_status: "status".into(),
            tenant_created_at: Some("created_at".into()),
            status_active: "active".into(),
            status_suspended: "suspended".into(),
            tenant_column: "tenant_id".into(),
            api_keys_table: "api_keys".into(),
            app_audit_table: "audit_log".into(),
            suspend_hooks: Vec::new(),
            resume_hooks: Vec::new(),
        }
    }
}

/// TOML has no null: an empty name unmaps an optional column (a missing key
/// keeps the reference schema's default).
fn empty_is_none<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let name = String::deserialize(d)?;
    Ok(Some(name).filter(|n| !n.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optional_columns_unmap_with_an_empty_name() {
        let m: SchemaMap = toml::from_str("tenant_plan = \"\"\ntenant_created_at = \"\"").unwrap();
        assert_eq!(m.tenant_plan, None);
        assert_eq!(m.tenant_created_at, None);
        let m: SchemaMap = toml::from_str("tenant_plan = \"tier\"").unwrap();
        assert_eq!(m.tenant_plan.as_deref(), Some("tier"));
        assert_eq!(m.tenant_created_at.as_deref(), Some("created_at"));
    }
}
