-- Orders: the catalogue, carts, coupons, customers and bonus points, and the order
-- with its three lifecycles. Money is integer minor units with the tenant's currency.

-- Tenant settings of the order flow (fecshop's defaults).
ALTER TABLE tenants ADD COLUMN order_increment_start INTEGER NOT NULL DEFAULT 1100000000;
ALTER TABLE tenants ADD COLUMN order_increment_next INTEGER;
ALTER TABLE tenants ADD COLUMN unpaid_expiry_minutes INTEGER NOT NULL DEFAULT 600 CHECK (unpaid_expiry_minutes > 0);
ALTER TABLE tenants ADD COLUMN unpaid_expiry_batch INTEGER NOT NULL DEFAULT 30 CHECK (unpaid_expiry_batch > 0);
ALTER TABLE tenants ADD COLUMN zero_stock INTEGER NOT NULL DEFAULT 0 CHECK (zero_stock IN (0, 1));
ALTER TABLE tenants ADD COLUMN required_address_fields TEXT NOT NULL
    DEFAULT 'first_name,last_name,email,telephone,street1,country,city,state,zip';
-- Bonus points are minor units of the tenant's currency: 1 point = 1 cent.
ALTER TABLE tenants ADD COLUMN bonus_earn_percent INTEGER NOT NULL DEFAULT 5 CHECK (bonus_earn_percent BETWEEN 0 AND 100);
ALTER TABLE tenants ADD COLUMN bonus_max_share_percent INTEGER NOT NULL DEFAULT 30 CHECK (bonus_max_share_percent BETWEEN 0 AND 100);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    sku              TEXT NOT NULL,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    price            INTEGER NOT NULL CHECK (price >= 0),
    stock            INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
    -- Where the shop buys it: 'taobao' or 'tmall', with the supplier's item and SKU
    -- ids. A product without provider_sku_id cannot be purchased automatically.
    source           TEXT NOT NULL DEFAULT 'taobao' CHECK (source IN ('taobao', 'tmall', 'local')),
    provider_item_id TEXT,
    provider_sku_id  TEXT,
    cost_fen         INTEGER NOT NULL DEFAULT 0 CHECK (cost_fen >= 0),
    active           INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, sku)
);

CREATE TABLE shipping_methods (
    id                INTEGER PRIMARY KEY,
    tenant_id         INTEGER NOT NULL REFERENCES tenants(id),
    name              TEXT NOT NULL,
    carrier           TEXT NOT NULL DEFAULT '',
    price             INTEGER NOT NULL CHECK (price >= 0),
    -- The carrier's public tracking page with {number} in place of the number.
    tracking_url      TEXT NOT NULL DEFAULT '',
    active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1))
);
CREATE INDEX shipping_methods_tenant_idx ON shipping_methods (tenant_id);

CREATE TABLE customers (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants(id),
    email         TEXT NOT NULL COLLATE NOCASE,
    first_name    TEXT NOT NULL DEFAULT '',
    last_name     TEXT NOT NULL DEFAULT '',
    phone         TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, email)
);

-- Carts: the id lives in the shopper's cookie session, the lines here.
CREATE TABLE carts (
    id          TEXT PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    customer_id INTEGER REFERENCES customers(id),
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX carts_customer_idx ON carts (tenant_id, customer_id);

CREATE TABLE cart_lines (
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    cart_id    TEXT NOT NULL REFERENCES carts(id) ON DELETE CASCADE,
    product_id INTEGER NOT NULL REFERENCES products(id),
    quantity   INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (cart_id, product_id)
);

CREATE TABLE coupons (
    id                    INTEGER PRIMARY KEY,
    tenant_id             INTEGER NOT NULL REFERENCES tenants(id),
    code                  TEXT NOT NULL COLLATE NOCASE,
    kind                  TEXT NOT NULL CHECK (kind IN ('percent', 'fixed')),
    -- percent: whole percent (10 = 10%); fixed: minor units.
    value                 INTEGER NOT NULL CHECK (value > 0),
    min_subtotal          INTEGER NOT NULL DEFAULT 0,
    starts_at             TIMESTAMP,
    ends_at               TIMESTAMP,
    max_uses              INTEGER,
    max_uses_per_customer INTEGER,
    active                INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    UNIQUE (tenant_id, code)
);

CREATE TABLE orders (
    id                 INTEGER PRIMARY KEY,
    tenant_id          INTEGER NOT NULL REFERENCES tenants(id),
    number             TEXT NOT NULL UNIQUE,
    increment_id       INTEGER NOT NULL,
    customer_id        INTEGER REFERENCES customers(id),
    cart_id            TEXT,
    customer_email     TEXT NOT NULL COLLATE NOCASE,
    first_name         TEXT NOT NULL DEFAULT '',
    last_name          TEXT NOT NULL DEFAULT '',
    phone              TEXT NOT NULL DEFAULT '',
    street1            TEXT NOT NULL DEFAULT '',
    street2            TEXT NOT NULL DEFAULT '',
    city               TEXT NOT NULL DEFAULT '',
    state              TEXT NOT NULL DEFAULT '',
    zip                TEXT NOT NULL DEFAULT '',
    country            TEXT NOT NULL DEFAULT '',
    shipping_method_id INTEGER REFERENCES shipping_methods(id),
    shipping_name      TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'pending' CHECK (status IN
        ('pending', 'confirmed', 'processing', 'holded', 'shipped', 'delivered', 'completed', 'cancelled', 'refunded')),
    payment_status     TEXT NOT NULL DEFAULT 'pending' CHECK (payment_status IN
        ('pending', 'processing', 'paid', 'suspected_fraud', 'partially_refunded', 'refunded', 'canceled')),
    procurement_status TEXT NOT NULL DEFAULT 'pending' CHECK (procurement_status IN
        ('pending', 'created', 'paid', 'shipped', 'completed', 'cancelled')),
    procurement_error  TEXT NOT NULL DEFAULT '',
    currency           TEXT NOT NULL,
    subtotal           INTEGER NOT NULL,
    discount           INTEGER NOT NULL DEFAULT 0,
    bonus_used         INTEGER NOT NULL DEFAULT 0,
    shipping           INTEGER NOT NULL DEFAULT 0,
    total              INTEGER NOT NULL CHECK (total >= 0),
    -- Kept on the order so that lists need no join to count items.
    item_count         INTEGER NOT NULL DEFAULT 0,
    coupon_id          INTEGER REFERENCES coupons(id),
    coupon_code        TEXT NOT NULL DEFAULT '',
    stock_reserved     INTEGER NOT NULL DEFAULT 1 CHECK (stock_reserved IN (0, 1)),
    tracking_number    TEXT NOT NULL DEFAULT '',
    tracking_carrier   TEXT NOT NULL DEFAULT '',
    shipped_at         TIMESTAMP,
    delivered_at       TIMESTAMP,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, increment_id)
);
-- One index per list filter, each ending in id: the desk pages newest-first by id
-- (keyset), so a filter plus the page key is one index range.
CREATE INDEX orders_tenant_idx ON orders (tenant_id, id);
CREATE INDEX orders_status_idx ON orders (tenant_id, status, id);
CREATE INDEX orders_payment_status_idx ON orders (tenant_id, payment_status, id);
CREATE INDEX orders_procurement_status_idx ON orders (tenant_id, procurement_status, id);
CREATE INDEX orders_email_idx ON orders (tenant_id, customer_email, id);
CREATE INDEX orders_customer_idx ON orders (tenant_id, customer_id, id);
CREATE INDEX orders_created_idx ON orders (tenant_id, created_at, id);
CREATE INDEX orders_total_idx ON orders (tenant_id, total, id);
-- The expiry job looks for old unpaid pending orders.
CREATE INDEX orders_unpaid_idx ON orders (tenant_id, payment_status, status, created_at);

CREATE TABLE order_lines (
    id                  INTEGER PRIMARY KEY,
    tenant_id           INTEGER NOT NULL REFERENCES tenants(id),
    order_id            INTEGER NOT NULL REFERENCES orders(id),
    product_id          INTEGER REFERENCES products(id),
    sku                 TEXT NOT NULL,
    title               TEXT NOT NULL,
    quantity            INTEGER NOT NULL CHECK (quantity > 0),
    unit_price          INTEGER NOT NULL,
    line_total          INTEGER NOT NULL,
    provider_item_id    TEXT,
    provider_sku_id     TEXT,
    procurement_status  TEXT NOT NULL DEFAULT 'pending' CHECK (procurement_status IN
        ('pending', 'created', 'paid', 'shipped', 'completed', 'cancelled')),
    procurement_error   TEXT NOT NULL DEFAULT '',
    purchase_id         TEXT,
    supplier_track      TEXT NOT NULL DEFAULT '',
    supplier_status_raw TEXT NOT NULL DEFAULT ''
);
CREATE INDEX order_lines_order_idx ON order_lines (order_id);
CREATE INDEX order_lines_procurement_idx ON order_lines (tenant_id, procurement_status);

CREATE TABLE order_events (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants(id),
    order_id   INTEGER NOT NULL REFERENCES orders(id),
    -- order_status, payment_status, procurement_status, note, created
    kind       TEXT NOT NULL,
    actor      TEXT NOT NULL,
    from_value TEXT NOT NULL DEFAULT '',
    to_value   TEXT NOT NULL DEFAULT '',
    note       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX order_events_order_idx ON order_events (order_id, id);

CREATE TABLE coupon_redemptions (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    coupon_id      INTEGER NOT NULL REFERENCES coupons(id),
    order_id       INTEGER NOT NULL UNIQUE REFERENCES orders(id),
    customer_email TEXT NOT NULL COLLATE NOCASE,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX coupon_redemptions_coupon_idx ON coupon_redemptions (coupon_id, customer_email);

-- Bonus points: a ledger, so the balance is the sum and every change has a reason.
CREATE TABLE bonus_ledger (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    order_id    INTEGER REFERENCES orders(id),
    delta       INTEGER NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('earned', 'spent', 'returned', 'adjusted')),
    created_at  TIMESTAMP NOT NULL,
    -- An order earns, spends and returns at most once each.
    UNIQUE (order_id, reason)
);
CREATE INDEX bonus_ledger_customer_idx ON bonus_ledger (tenant_id, customer_id);

-- Background job runs and the leases that keep two processes from running one job.
CREATE TABLE job_leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1))
);
CREATE TABLE job_runs (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    started_at  TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    processed   INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    messages    TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX job_runs_name_idx ON job_runs (name, id);
CREATE INDEX job_runs_started_idx ON job_runs (started_at);

-- Orders per status per tenant, kept by triggers, so that the desk's status tabs
-- cost one small read instead of counting a tenant's whole order table.
CREATE TABLE order_status_counts (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    status    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, status)
) WITHOUT ROWID;
CREATE TRIGGER orders_count_insert AFTER INSERT ON orders BEGIN
    INSERT INTO order_status_counts (tenant_id, status, n) VALUES (NEW.tenant_id, NEW.status, 1)
        ON CONFLICT (tenant_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER orders_count_update AFTER UPDATE OF status ON orders WHEN OLD.status <> NEW.status BEGIN
    UPDATE order_status_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND status = OLD.status;
    INSERT INTO order_status_counts (tenant_id, status, n) VALUES (NEW.tenant_id, NEW.status, 1)
        ON CONFLICT (tenant_id, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER orders_count_delete AFTER DELETE ON orders BEGIN
    UPDATE order_status_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND status = OLD.status;
END;
