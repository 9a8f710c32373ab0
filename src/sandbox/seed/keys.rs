//! API keys in every state: active, expiring soon, expired, revoked, and
//! rotated (replaced_by set, old key valid until its grace deadline or
//! past it). Only the SHA-256 hex of a key is stored, with its display
//! prefix (`sk_live_` and 8 random characters, as `keys create` stores it);
//! the random part is never shown, so these keys are never presented.

use crate::error::Result;
use tokio_postgres::Client;

/// A fresh random key body: base64 of 32 random bytes with the non-base62
/// characters dropped, cut to 36 characters.
const SECRET_SQL: &str = "left(translate(encode(sha256(convert_to(gen_random_uuid()::text || gen_random_uuid()::text, 'UTF8')), 'base64'), '+/=', ''), 36)";

pub async fn api_keys(client: &Client) -> Result<()> {
    client
        .batch_execute(&format!(
            "INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes, created_at, expires_at, last_used_at, revoked_at, created_by)
             SELECT id, name, prefix || '_' || left(secret, 8),
                    encode(sha256(convert_to(prefix || '_' || secret, 'UTF8')), 'hex'),
                    scopes, created,
                    CASE state WHEN 1 THEN now() + (1 + k) * interval '1 day'
                               WHEN 2 THEN now() - (10 + k) * interval '1 day'
                               WHEN 4 THEN now() + interval '365 days' END,
                    CASE WHEN state <> 3 AND (id + k) % 3 <> 0 THEN now() - random() * interval '7 days' END,
                    CASE WHEN state = 3 THEN now() - random() * interval '30 days' END,
                    (ARRAY['ops@example.com', 'deploy-bot', 'zoë@example.com'])[1 + ((id + k) % 3)::int]
             FROM (SELECT t.id, k, ((t.id + k) % 5)::int AS state,
                          (ARRAY['production', 'staging', 'ci', 'zapier', 'backend worker', 'Zoë''s laptop'])[1 + ((t.id + k) % 6)::int] AS name,
                          CASE WHEN (t.id + k) % 5 = 0 THEN 'sk_test' ELSE 'sk_live' END AS prefix,
                          CASE (t.id + k) % 3 WHEN 0 THEN ARRAY['read', 'write'] WHEN 1 THEN ARRAY['read'] ELSE ARRAY['admin'] END AS scopes,
                          t.created_at + random() * (now() - t.created_at) AS created,
                          {SECRET_SQL} AS secret
                   FROM tenants t, generate_series(1, 1 + (t.id % 4)::int) k) x"
        ))
        .await?;
    Ok(())
}

/// Rotations and revocations done through the audited path (the trigger
/// exists by now), like an operator would.
pub async fn rotate_and_revoke(client: &Client) -> Result<()> {
    client
        .batch_execute(&format!(
            "SET app.actor = 'ops@example.com';
             DO $$
             DECLARE r record; new_id bigint; n int := 0; env text; secret text;
             BEGIN
                 FOR r IN SELECT id, tenant_id, name, prefix, scopes FROM api_keys
                          WHERE revoked_at IS NULL AND expires_at IS NULL AND id % 3 = 0
                          ORDER BY id LIMIT 40 LOOP
                     env := left(r.prefix, length(r.prefix) - 9);
                     secret := {SECRET_SQL};
                     INSERT INTO api_keys (tenant_id, name, prefix, key_hash, scopes, created_by)
                     VALUES (r.tenant_id, r.name, env || '_' || left(secret, 8),
                             encode(sha256(convert_to(env || '_' || secret, 'UTF8')), 'hex'),
                             r.scopes, 'ops@example.com')
                     RETURNING id INTO new_id;
                     UPDATE api_keys
                        SET replaced_by = new_id,
                            expires_at = CASE WHEN n % 2 = 0 THEN now() + interval '24 hours'
                                              ELSE now() - interval '2 days' END
                      WHERE id = r.id;
                     n := n + 1;
                 END LOOP;
             END $$;
             UPDATE api_keys SET revoked_at = now()
              WHERE id IN (SELECT id FROM api_keys
                           WHERE revoked_at IS NULL AND replaced_by IS NULL AND expires_at IS NULL
                           ORDER BY id DESC LIMIT 3);
             RESET app.actor;"
        ))
        .await?;
    Ok(())
}
