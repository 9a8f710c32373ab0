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
    pub tenant_plan: Option<String>,
    pub tenant_status: String,
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
