//! A migration history for the demo: Drizzle's migrator table with the
//! schema's three migrations, and pgroll part-way through adding a column
//! to tenants (its version schema and its trigger in place), so that
//! `:migrations` and `opsdeck migrations status` have something stuck to show.

pub const SQL: &str = r#"
CREATE SCHEMA drizzle;
CREATE TABLE drizzle.__drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at bigint);
INSERT INTO drizzle.__drizzle_migrations (hash, created_at)
SELECT encode(sha256(convert_to(tag, 'UTF8')), 'hex'),
       (extract(epoch FROM now() - age) * 1000)::bigint
  FROM (VALUES ('0000_tenants', interval '90 days'),
               ('0001_api_keys', interval '30 days'),
               ('0002_events_partitions', interval '2 days')) m(tag, age);

CREATE SCHEMA pgroll;
CREATE TYPE pgroll.migration_type AS ENUM ('pgroll', 'inferred');
CREATE TABLE pgroll.migrations (
  schema NAME NOT NULL, name TEXT NOT NULL, migration JSONB NOT NULL,
  created_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT current_timestamp,
  parent TEXT, done BOOLEAN NOT NULL DEFAULT false,
  resulting_schema JSONB NOT NULL DEFAULT '{}'::jsonb,
  migration_type pgroll.migration_type DEFAULT 'pgroll',
  PRIMARY KEY (schema, name),
  FOREIGN KEY (schema, parent) REFERENCES pgroll.migrations(schema, name));
INSERT INTO pgroll.migrations (schema, name, migration, parent, done, created_at, updated_at) VALUES
  ('public', '01_initial', '{"operations": []}', NULL, true, now() - interval '20 days', now() - interval '20 days'),
  ('public', '02_tenant_region',
   '{"operations": [{"add_column": {"table": "tenants", "column": {"name": "region", "type": "text", "nullable": true}}}]}',
   '01_initial', false, now() - interval '40 minutes', now() - interval '40 minutes');
CREATE SCHEMA public_01_initial;
CREATE SCHEMA public_02_tenant_region;
CREATE FUNCTION pgroll.demo_region_trigger() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
CREATE TRIGGER _pgroll_trigger_tenants_region BEFORE INSERT OR UPDATE ON tenants
  FOR EACH ROW EXECUTE FUNCTION pgroll.demo_region_trigger();
"#;
