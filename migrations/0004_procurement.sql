-- Procurement from Taobao: the operators' authorized accounts (sessions), the
-- purchases made with them, and what each order line cost.

-- The exchange rate of the supplier's currency (CNY) into the tenant's, in
-- millionths of a minor unit per fen: 12.5 RUB per CNY = 12_500_000. Frozen on
-- each purchase when it is created.
ALTER TABLE tenants ADD COLUMN cny_rate_micro INTEGER NOT NULL DEFAULT 12500000 CHECK (cny_rate_micro > 0);

CREATE TABLE taobao_accounts (
    id                 INTEGER PRIMARY KEY,
    tenant_id          INTEGER NOT NULL REFERENCES tenants(id),
    integration_id     INTEGER NOT NULL REFERENCES integrations(id),
    account            TEXT NOT NULL,
    account_id         TEXT NOT NULL DEFAULT '',
    -- Sealed with the instance key, like integration secrets.
    access_token_enc   TEXT NOT NULL,
    refresh_token_enc  TEXT NOT NULL,
    access_expires_at  TIMESTAMP NOT NULL,
    refresh_expires_at TIMESTAMP NOT NULL,
    obtained_at        TIMESTAMP NOT NULL,
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_authorization')),
    last_error         TEXT NOT NULL DEFAULT '',
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, integration_id, account)
);

-- A single-use "state" of an authorization redirect, bound to who started it.
CREATE TABLE oauth_states (
    state          TEXT PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    user_id        INTEGER NOT NULL REFERENCES users(id),
    created_at     TIMESTAMP NOT NULL,
    expires_at     TIMESTAMP NOT NULL,
    used_at        TIMESTAMP
);

CREATE TABLE purchases (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    account_id    INTEGER NOT NULL REFERENCES taobao_accounts(id),
    -- Our idempotency key (outer_purchase_id), the same for every try of one order.
    outer_id      TEXT NOT NULL,
    purchase_id   TEXT NOT NULL UNIQUE,
    status_raw    TEXT NOT NULL DEFAULT '',
    stage         TEXT NOT NULL DEFAULT 'created' CHECK (stage IN ('created', 'paid', 'shipped', 'completed', 'cancelled')),
    supplier      TEXT NOT NULL DEFAULT '',
    amount_fen    INTEGER NOT NULL DEFAULT 0,
    fx_rate_micro INTEGER NOT NULL,
    error         TEXT NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX purchases_stage_idx ON purchases (tenant_id, stage, id);
CREATE INDEX purchases_outer_idx ON purchases (outer_id);

-- The claim of an order by the push job: set in a transaction before the call,
-- with the outer id it will use, so that a second run (or a crash and a rerun)
-- finds the purchase by that id instead of buying again.
ALTER TABLE orders ADD COLUMN purchase_outer_id TEXT NOT NULL DEFAULT '';
ALTER TABLE order_lines ADD COLUMN cost_fen INTEGER NOT NULL DEFAULT 0;
ALTER TABLE order_lines ADD COLUMN cost_minor INTEGER NOT NULL DEFAULT 0;
-- The push job looks for paid orders whose procurement has not started.
CREATE INDEX orders_to_purchase_idx ON orders (tenant_id, payment_status, procurement_status, id);
CREATE INDEX order_lines_purchase_idx ON order_lines (purchase_id);
