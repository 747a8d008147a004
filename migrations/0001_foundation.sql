-- Tenants: one shop each, reached by its subdomain.
CREATE TABLE tenants (
    id         INTEGER PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE CHECK (slug GLOB '[a-z0-9]*' AND length(slug) BETWEEN 2 AND 40),
    name       TEXT NOT NULL,
    language   TEXT NOT NULL DEFAULT 'en',
    currency   TEXT NOT NULL DEFAULT 'USD',
    timezone   TEXT NOT NULL DEFAULT 'UTC',
    created_at TIMESTAMP NOT NULL
);

-- Staff users of a tenant. E-mail is unique per tenant, not globally: one person may
-- work for two shops with two accounts.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL COLLATE NOCASE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'staff', 'operator')),
    active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, email)
);

-- Server-side sign-in sessions, in the schema alexedwards/scs/sqlite3store expects.
CREATE TABLE sessions (
    token  TEXT PRIMARY KEY,
    data   BLOB NOT NULL,
    expiry REAL NOT NULL
);
-- The store's cleanup deletes by expiry.
CREATE INDEX sessions_expiry_idx ON sessions (expiry);

-- Failed sign-in attempts, for the throttle. Kept in the database so that every
-- process (and a restart) sees the same count.
CREATE TABLE login_failures (
    id        INTEGER PRIMARY KEY,
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    email     TEXT NOT NULL COLLATE NOCASE,
    ip        TEXT NOT NULL,
    at        TIMESTAMP NOT NULL
);
-- The throttle counts recent failures by account and by address.
CREATE INDEX login_failures_email_idx ON login_failures (tenant_id, email, at);
CREATE INDEX login_failures_ip_idx ON login_failures (tenant_id, ip, at);
