-- The second leg of an order (issue 9): parcels from the supplier arrive at the
-- shop's warehouse, and the shop ships the order with a carrier (CDEK,
-- Dostavista, or a manual one such as Aras) whose status the shop follows.

-- An order line arrives when its parcel from the supplier is scanned at the
-- warehouse: when, and who scanned it.
ALTER TABLE order_lines ADD COLUMN arrived_at TIMESTAMP;
ALTER TABLE order_lines ADD COLUMN arrived_by TEXT NOT NULL DEFAULT '';
-- The scan finds a shop's lines by the supplier's track number (and by the
-- purchase id, through order_lines_purchase_idx of 0004).
CREATE INDEX order_lines_track_idx ON order_lines (tenant_id, supplier_track);

-- When every line of the order (cancelled ones aside) had arrived: the order
-- is ready to ship.
ALTER TABLE orders ADD COLUMN arrived_at TIMESTAMP;
-- The desk's "Ready to ship" view pages these newest first. The WHERE is the
-- view's condition word for word (model.OrderFilter's Ready), so that SQLite
-- reads this small index instead of the shop's whole order table.
CREATE INDEX orders_ready_idx ON orders (tenant_id, id) WHERE arrived_at IS NOT NULL AND status IN ('confirmed', 'processing');

-- A product's parcel for the carriers; 0 takes the shop's default package.
ALTER TABLE products ADD COLUMN weight_g INTEGER NOT NULL DEFAULT 0 CHECK (weight_g >= 0);
ALTER TABLE products ADD COLUMN length_cm INTEGER NOT NULL DEFAULT 0 CHECK (length_cm >= 0);
ALTER TABLE products ADD COLUMN width_cm INTEGER NOT NULL DEFAULT 0 CHECK (width_cm >= 0);
ALTER TABLE products ADD COLUMN height_cm INTEGER NOT NULL DEFAULT 0 CHECK (height_cm >= 0);

-- Where the shop's parcels leave from and how they are packed: what a carrier
-- registration needs besides the order.
CREATE TABLE delivery_settings (
    tenant_id               INTEGER PRIMARY KEY REFERENCES tenants(id),
    sender_name             TEXT NOT NULL DEFAULT '',
    sender_phone            TEXT NOT NULL DEFAULT '',
    sender_country          TEXT NOT NULL DEFAULT '',
    sender_city             TEXT NOT NULL DEFAULT '',
    sender_postal_code      TEXT NOT NULL DEFAULT '',
    sender_address          TEXT NOT NULL DEFAULT '',
    -- A CDEK office the shop hands its parcels in at; '' sends the address.
    cdek_shipment_point     TEXT NOT NULL DEFAULT '',
    cdek_tariff_code        INTEGER NOT NULL DEFAULT 137 CHECK (cdek_tariff_code > 0),
    package_weight_g        INTEGER NOT NULL DEFAULT 1000 CHECK (package_weight_g > 0),
    package_length_cm       INTEGER NOT NULL DEFAULT 30 CHECK (package_length_cm > 0),
    package_width_cm        INTEGER NOT NULL DEFAULT 20 CHECK (package_width_cm > 0),
    package_height_cm       INTEGER NOT NULL DEFAULT 10 CHECK (package_height_cm > 0),
    dostavista_vehicle_type INTEGER NOT NULL DEFAULT 6 CHECK (dostavista_vehicle_type BETWEEN 1 AND 7),
    dostavista_window_hours INTEGER NOT NULL DEFAULT 4 CHECK (dostavista_window_hours BETWEEN 1 AND 48),
    updated_at              TIMESTAMP NOT NULL
);

-- An order's shipment with a carrier. The row is written before the carrier
-- is called (status registering, with our reference and a claim), so that a
-- retry or a restart looks the shipment up at the carrier by the reference
-- before registering it again.
CREATE TABLE shipments (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants(id),
    order_id         INTEGER NOT NULL REFERENCES orders(id),
    -- cdek, dostavista, or a manual carrier's name (aras…).
    carrier          TEXT NOT NULL CHECK (length(carrier) BETWEEN 1 AND 50),
    -- The integration a carrier's shipment was registered with; NULL for a
    -- manual carrier, whose track staff type.
    integration_id   INTEGER REFERENCES integrations(id),
    -- Our reference at the carrier (CDEK's number/im_number, Dostavista's
    -- client_order_id): the order number.
    reference        TEXT NOT NULL DEFAULT '',
    -- The carrier's own id: CDEK's uuid, Dostavista's order_id.
    carrier_order_id TEXT NOT NULL DEFAULT '',
    track_number     TEXT NOT NULL DEFAULT '',
    tracking_url     TEXT NOT NULL DEFAULT '',
    status           TEXT NOT NULL CHECK (status IN ('registering', 'failed', 'created', 'in_transit', 'delivered', 'problem', 'cancelled')),
    -- The carrier's status code as it said it (CDEK's DELIVERED, Dostavista's active).
    carrier_status   TEXT NOT NULL DEFAULT '',
    -- What the carrier charges the shop, in minor units of currency.
    cost             INTEGER NOT NULL DEFAULT 0 CHECK (cost >= 0),
    currency         TEXT NOT NULL DEFAULT '',
    courier_name     TEXT NOT NULL DEFAULT '',
    courier_phone    TEXT NOT NULL DEFAULT '',
    -- The carrier's refusal in words, for the order page.
    last_error       TEXT NOT NULL DEFAULT '',
    attempts         INTEGER NOT NULL DEFAULT 0,
    -- A registration in progress holds the row until then: a second click
    -- waits; after a crash the claim runs out and a retry looks it up.
    claimed_until    TIMESTAMP,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
-- One live shipment per order: two clicks, two tabs or a retry find the one
-- row instead of making a second.
CREATE UNIQUE INDEX shipments_live_idx ON shipments (order_id) WHERE status <> 'cancelled';
-- The fetch jobs follow a shop's shipments of one carrier that are not over.
CREATE INDEX shipments_follow_idx ON shipments (tenant_id, carrier, status, id);
-- The dashboard counts a shop's refused shipments and those with a problem.
CREATE INDEX shipments_status_idx ON shipments (tenant_id, status);
-- Webhooks and callbacks name the carrier's id, or our reference, within
-- the integration that received them.
CREATE INDEX shipments_carrier_order_idx ON shipments (integration_id, carrier_order_id);
CREATE INDEX shipments_reference_idx ON shipments (integration_id, reference);

-- A shipment's status history as the carrier told it.
CREATE TABLE shipment_events (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    shipment_id    INTEGER NOT NULL REFERENCES shipments(id),
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    status         TEXT NOT NULL,
    carrier_status TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    happened_at    TIMESTAMP NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    -- A carrier lists the whole history on every read: each entry once.
    UNIQUE (shipment_id, carrier_status, happened_at)
);
CREATE INDEX shipment_events_order_idx ON shipment_events (tenant_id, order_id, id);

-- What the carriers sent (CDEK's webhooks, Dostavista's callbacks), raw, with
-- what was done with it. A message delivered twice is one row.
CREATE TABLE carrier_messages (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    shipment_id    INTEGER REFERENCES shipments(id),
    kind           TEXT NOT NULL,
    body           TEXT NOT NULL,
    verified       INTEGER NOT NULL DEFAULT 0 CHECK (verified IN (0, 1)),
    result         TEXT NOT NULL DEFAULT '',
    dedup_key      TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    UNIQUE (integration_id, dedup_key)
);
CREATE INDEX carrier_messages_shipment_idx ON carrier_messages (shipment_id, id);

-- Webhook subscriptions made at a carrier (CDEK's ORDER_STATUS), once per
-- integration and address.
CREATE TABLE carrier_subscriptions (
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    url            TEXT NOT NULL,
    remote_id      TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, url)
);
