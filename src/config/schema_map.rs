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
    /// Columns of the API keys table.
    pub api_key_columns: super::api_keys::ApiKeyColumns,
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
            api_key_columns: Default::default(),
            app_audit_table: "audit_log".into(),
            suspend_hooks: Vec::new(),
            resume_hooks: Vec::new(),
        }
    }
}

impl SchemaMap {
    /// Postgres text cannot hold a NUL, so a name or hook with one can only
    /// fail on the server, as an encoding error that names no key.
    pub fn check(&self, context: &str) -> Result<(), crate::error::Error> {
        let names = [
            ("app_schema", Some(&self.app_schema)),
            ("tenants_table", Some(&self.tenants_table)),
            ("tenant_id", Some(&self.tenant_id)),
            ("tenant_slug", Some(&self.tenant_slug)),
            ("tenant_name", Some(&self.tenant_name)),
            ("tenant_plan", self.tenant_plan.as_ref()),
            ("tenant_status", Some(&self.tenant_status)),
            ("tenant_created_at", self.tenant_created_at.as_ref()),
            ("status_active", Some(&self.status_active)),
            ("status_suspended", Some(&self.status_suspended)),
            ("tenant_column", Some(&self.tenant_column)),
            ("api_keys_table", Some(&self.api_keys_table)),
            ("app_audit_table", Some(&self.app_audit_table)),
        ];
        let columns = self.api_key_columns.names();
        let hooks = self
            .suspend_hooks
            .iter()
            .map(|h| ("suspend_hooks", Some(h)))
            .chain(self.resume_hooks.iter().map(|h| ("resume_hooks", Some(h))));
        for (key, value) in names.into_iter().chain(columns).chain(hooks) {
            if value.is_some_and(|v| v.contains('\0')) {
                return Err(crate::error::Error::Config(format!(
                    "contexts.{context}.schema.{key} contains a NUL character (\\u0000), which Postgres names and SQL cannot hold: remove it"
                )));
            }
        }
        Ok(())
    }
}

/// TOML has no null: an empty name unmaps an optional column (a missing key
/// keeps the reference schema's default).
pub(super) fn empty_is_none<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
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
