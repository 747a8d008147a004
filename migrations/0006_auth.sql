-- Sign-in failures are counted per realm: a storefront customer who shares a staff
-- member's e-mail must neither clear nor add to the staff account's failures.
-- Rows written before this migration were staff and customer alike; they expire
-- from the 15-minute window on their own, so they simply count as staff.
ALTER TABLE login_failures ADD COLUMN realm TEXT NOT NULL DEFAULT 'staff' CHECK (realm IN ('staff', 'customer'));
DROP INDEX login_failures_email_idx;
DROP INDEX login_failures_ip_idx;
-- The throttle counts recent attempts by (shop, realm, account) and (shop, realm, address).
CREATE INDEX login_failures_email_idx ON login_failures (tenant_id, realm, email, at);
CREATE INDEX login_failures_ip_idx ON login_failures (tenant_id, realm, ip, at);

-- A staff session is valid only while it carries the user's current session
-- version: deactivating a user bumps it, so reactivation does not revive the old
-- sessions.
ALTER TABLE users ADD COLUMN session_version INTEGER NOT NULL DEFAULT 0;

-- Personal API tokens of staff users. Only the SHA-256 of the token is stored;
-- the token itself is shown once, when it is created.
CREATE TABLE api_tokens (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    user_id      INTEGER NOT NULL REFERENCES users(id),
    name         TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
-- The token page lists a user's tokens; the bearer check finds one by its hash
-- (the UNIQUE index above).
CREATE INDEX api_tokens_user_idx ON api_tokens (tenant_id, user_id, created_at);
