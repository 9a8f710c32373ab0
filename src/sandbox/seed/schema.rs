//! The reference schema: tables first (bulk loads are fastest without
//! secondary indexes), then indexes, RLS and the app's audit trigger.
//! Deliberate findings for the linters, by design:
//! - `invoices.tenant_id` has no index (tenancy lint, missing FK index);
//! - `users` carries a duplicate index on `tenant_id`;
//! - `projects` has no RLS and `projects.owner_id` is an FK without tenant_id;
//! - `events.user_id` and `events.created_at` are unindexed and queried.

/// The seed runs long statements on purpose; it is never an opsdeck session.
pub const SESSION_SQL: &str = r#"
SET statement_timeout = 0;
SET lock_timeout = 0;
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';
SET client_min_messages = warning;
SELECT setseed(0.42);
"#;

pub const TABLES_SQL: &str = r#"
CREATE TABLE tenants (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    name text NOT NULL,
    plan text NOT NULL,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'deleted')),
    created_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);

CREATE TABLE users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    email text NOT NULL,
    name text NOT NULL,
    role text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);

CREATE TABLE projects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    owner_id bigint NOT NULL,
    name text NOT NULL,
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE invoices (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    number text NOT NULL,
    amount_cents bigint NOT NULL,
    currency text NOT NULL,
    status text NOT NULL CHECK (status IN ('draft', 'open', 'paid', 'void')),
    issued_at timestamptz NOT NULL,
    due_at timestamptz NOT NULL,
    paid_at timestamptz
);

CREATE TABLE events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    user_id bigint,
    project_id bigint,
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id bigint NOT NULL,
    name text NOT NULL,
    prefix text NOT NULL,
    key_hash text NOT NULL UNIQUE,
    scopes text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz,
    last_used_at timestamptz,
    revoked_at timestamptz,
    replaced_by bigint,
    created_by text
);

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_name text NOT NULL,
    record_id text NOT NULL,
    action text NOT NULL,
    old_data jsonb,
    new_data jsonb,
    changed_by text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now()
);
"#;

/// Indexes and foreign keys after the load: one pass each instead of
/// per-row maintenance.
pub const INDEXES_SQL: &str = r#"
ALTER TABLE users ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE projects ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE projects ADD FOREIGN KEY (owner_id) REFERENCES users (id);
ALTER TABLE invoices ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE events ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);
ALTER TABLE api_keys ADD FOREIGN KEY (tenant_id) REFERENCES tenants (id);

CREATE INDEX users_tenant_id_idx ON users (tenant_id);
CREATE INDEX idx_users_tenant ON users (tenant_id);
CREATE UNIQUE INDEX users_email_key ON users (email);
CREATE INDEX projects_tenant_id_idx ON projects (tenant_id);
CREATE UNIQUE INDEX invoices_number_key ON invoices (number);
CREATE INDEX events_tenant_id_idx ON events (tenant_id);
CREATE INDEX api_keys_tenant_id_idx ON api_keys (tenant_id);
CREATE INDEX api_keys_prefix_idx ON api_keys (prefix);
CREATE INDEX audit_log_record_idx ON audit_log (table_name, record_id);
"#;

/// Tenant isolation on `app.tenant_id`; `projects` is left without RLS on
/// purpose so the tenancy lint has something to report.
pub const RLS_SQL: &str = r#"
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'invoices', 'events', 'api_keys'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format(
            'CREATE POLICY tenant_isolation ON %I USING (tenant_id = NULLIF(current_setting(''app.tenant_id'', true), '''')::bigint)',
            t);
    END LOOP;
END $$;
"#;

/// The application's own audit trail, written by a trigger on tenants and
/// api_keys (created after the bulk load, so it records changes only).
pub const AUDIT_SQL: &str = r#"
CREATE FUNCTION audit_log_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (table_name, record_id, action, old_data, new_data, changed_by)
    VALUES (
        TG_TABLE_NAME,
        CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END::text,
        lower(TG_OP),
        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END,
        coalesce(nullif(current_setting('app.actor', true), ''), current_user)
    );
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_audit AFTER INSERT OR UPDATE OR DELETE ON tenants
    FOR EACH ROW EXECUTE FUNCTION audit_log_write();
CREATE TRIGGER api_keys_audit AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION audit_log_write();
"#;
