-- Money is never lost or taken twice (issue 8).

-- Webhook event keys belong to the integration that received them: a shop that
-- sets up its own terminal cannot claim another shop's notification ids. The
-- column-level UNIQUE (dedup_key) of 0003 cannot be dropped in place, so the
-- table is rebuilt with the key unique per integration.
CREATE TABLE payment_events_new (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    payment_id     INTEGER REFERENCES payments(id),
    integration_id INTEGER REFERENCES integrations(id),
    direction      TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind           TEXT NOT NULL,
    body           TEXT NOT NULL DEFAULT '',
    verified       INTEGER NOT NULL DEFAULT 0,
    result         TEXT NOT NULL DEFAULT '',
    dedup_key      TEXT,
    created_at     TIMESTAMP NOT NULL
);
INSERT INTO payment_events_new SELECT id, tenant_id, payment_id, integration_id, direction, kind, body, verified, result, dedup_key, created_at
    FROM payment_events;
DROP TABLE payment_events;
ALTER TABLE payment_events_new RENAME TO payment_events;
CREATE INDEX payment_events_payment_idx ON payment_events (payment_id, id);
-- One row per notification and integration; rows without a key (our own calls)
-- are not constrained.
CREATE UNIQUE INDEX payment_events_dedup_idx ON payment_events (integration_id, dedup_key) WHERE dedup_key IS NOT NULL;

-- A refund is reserved here before the provider is asked, so that two clicks,
-- two tabs or a retry can never refund more than was paid: the sum of pending
-- and done refunds of a payment never exceeds its amount (checked in the same
-- write transaction that inserts the row). number is the idempotency key sent
-- to the provider; a failed call marks the row failed, which releases it.
CREATE TABLE refunds (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    payment_id   INTEGER NOT NULL REFERENCES payments(id),
    order_id     INTEGER NOT NULL REFERENCES orders(id),
    number       TEXT NOT NULL UNIQUE,
    amount       INTEGER NOT NULL CHECK (amount > 0),
    currency     TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    -- staff (a person asked), late (money after the payment was closed),
    -- overpaid (money beyond the order's total), provider (made at the
    -- provider, learned from its notification or status).
    reason       TEXT NOT NULL CHECK (reason IN ('staff', 'late', 'overpaid', 'provider')),
    actor        TEXT NOT NULL,
    provider_ref TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, status);
-- The refunds job looks for pending refunds whose call did not finish.
CREATE INDEX refunds_pending_idx ON refunds (tenant_id, status, updated_at);
-- Existing refunds (refunded_amount of 0003) become done refund rows, so that
-- a payment's refunded amount is always the sum of its done refunds.
INSERT INTO refunds (tenant_id, payment_id, order_id, number, amount, currency, status, reason, actor, created_at, updated_at)
    SELECT tenant_id, id, order_id, 'RF-' || number, refunded_amount, currency, 'done', 'staff', 'system', updated_at, updated_at
    FROM payments WHERE refunded_amount > 0;

-- Money beyond an order's total (two payments both completed) is refunded
-- automatically unless the shop prefers to decide each case itself.
ALTER TABLE tenants ADD COLUMN refund_overpayments INTEGER NOT NULL DEFAULT 1 CHECK (refund_overpayments IN (0, 1));

-- The bonus ledger of 0002 allowed one row per order and reason, so an order
-- that was cancelled (bonus returned) and then reinstated by late money could
-- not spend its bonus again, nor return it a second time. Rebuilt: an order
-- earns once and takes its earning back once; spending and returning repeat,
-- and their sum per order says what the order holds.
CREATE TABLE bonus_ledger_new (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    order_id    INTEGER REFERENCES orders(id),
    delta       INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('earned', 'spent', 'returned', 'adjusted', 'earned_reversed')),
    created_at  TIMESTAMP NOT NULL
);
INSERT INTO bonus_ledger_new SELECT id, tenant_id, customer_id, order_id, delta,
    CASE WHEN reason = 'adjusted' AND order_id IS NOT NULL THEN 'earned_reversed' ELSE reason END, created_at
    FROM bonus_ledger;
DROP TABLE bonus_ledger;
ALTER TABLE bonus_ledger_new RENAME TO bonus_ledger;
CREATE INDEX bonus_ledger_customer_idx ON bonus_ledger (tenant_id, customer_id);
CREATE INDEX bonus_ledger_order_idx ON bonus_ledger (order_id);
CREATE UNIQUE INDEX bonus_ledger_earned_idx ON bonus_ledger (order_id, reason) WHERE reason IN ('earned', 'earned_reversed');
