-- Integrations with outside systems, payments and what the providers said, the
-- review queue for money that did not add up, and the outbox of side effects.

CREATE TABLE integrations (
    id                INTEGER PRIMARY KEY,
    tenant_id         INTEGER NOT NULL REFERENCES tenants(id),
    provider_type     TEXT NOT NULL CHECK (provider_type IN ('kuveyt', 'tinkoff', 'dolyami', 'yandexpay', 'paypal',
                          'taobao', 'otapi', 'cdek', 'dostavista', 'wazzup', 'smtp')),
    name              TEXT NOT NULL,
    description       TEXT NOT NULL DEFAULT '',
    status            TEXT NOT NULL CHECK (status IN ('test_mode', 'active', 'disabled')),
    -- AES-256-GCM sealed with the instance key; never shown again, only the last four.
    api_key_enc       TEXT NOT NULL DEFAULT '',
    api_key_last4     TEXT NOT NULL DEFAULT '',
    api_secret_enc    TEXT NOT NULL DEFAULT '',
    api_secret_last4  TEXT NOT NULL DEFAULT '',
    api_endpoint      TEXT NOT NULL DEFAULT '',
    test_endpoint     TEXT NOT NULL DEFAULT '',
    config            TEXT NOT NULL DEFAULT '{}',
    last_test_at      TIMESTAMP,
    last_test_ok      INTEGER,
    last_test_message TEXT NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX integrations_tenant_idx ON integrations (tenant_id, provider_type);

-- Every change of an integration's status or keys: who, when, what.
CREATE TABLE integration_changes (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    actor          TEXT NOT NULL,
    from_status    TEXT NOT NULL,
    to_status      TEXT NOT NULL,
    keys_replaced  INTEGER NOT NULL DEFAULT 0,
    note           TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX integration_changes_idx ON integration_changes (integration_id, id);

CREATE TABLE payments (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    order_id        INTEGER NOT NULL REFERENCES orders(id),
    number          TEXT NOT NULL UNIQUE,
    provider        TEXT NOT NULL,
    integration_id  INTEGER NOT NULL REFERENCES integrations(id),
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'processing', 'completed',
                        'suspected_fraud', 'failed', 'canceled', 'refunded', 'partially_refunded')),
    amount          INTEGER NOT NULL CHECK (amount >= 0),
    currency        TEXT NOT NULL,
    refunded_amount INTEGER NOT NULL DEFAULT 0,
    provider_ref    TEXT NOT NULL DEFAULT '',
    payment_url     TEXT NOT NULL DEFAULT '',
    failure_reason  TEXT NOT NULL DEFAULT '',
    paid_at         TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX payments_order_idx ON payments (order_id);
CREATE INDEX payments_tenant_idx ON payments (tenant_id, id);
CREATE INDEX payments_status_idx ON payments (tenant_id, status, id);
CREATE INDEX payments_provider_idx ON payments (tenant_id, provider, id);
CREATE INDEX payments_ref_idx ON payments (integration_id, provider_ref);
-- The yandexpay poller looks for open payments.
CREATE INDEX payments_open_idx ON payments (status, provider);

-- What came in from providers and what we called, raw, per payment. dedup_key
-- makes a webhook idempotent: the same notification twice is one row.
CREATE TABLE payment_events (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    payment_id     INTEGER REFERENCES payments(id),
    integration_id INTEGER REFERENCES integrations(id),
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind           TEXT NOT NULL,
    body           TEXT NOT NULL DEFAULT '',
    verified       INTEGER NOT NULL DEFAULT 0,
    result         TEXT NOT NULL DEFAULT '',
    dedup_key      TEXT UNIQUE,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, id);

-- Money that needs a person: mismatches, bad or replayed notifications, late money.
CREATE TABLE payment_reviews (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    payment_id  INTEGER REFERENCES payments(id),
    order_id    INTEGER REFERENCES orders(id),
    kind        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    resolution  TEXT NOT NULL DEFAULT '' CHECK (resolution IN ('', 'accepted', 'refunded', 'dismissed')),
    resolved_by TEXT NOT NULL DEFAULT '',
    resolved_at TIMESTAMP,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX payment_reviews_open_idx ON payment_reviews (tenant_id, resolution, id);

-- Side effects of a state change, written in the same transaction as the change
-- and delivered by the outbox job, so that a crash neither loses nor repeats them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants(id),
    order_id        INTEGER REFERENCES orders(id),
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    sent_at         TIMESTAMP,
    UNIQUE (order_id, kind)
);
CREATE INDEX outbox_due_idx ON outbox (status, next_attempt_at);

-- An order held for a person (suspected fraud, money after cancellation).
ALTER TABLE orders ADD COLUMN needs_attention TEXT NOT NULL DEFAULT '';
