-- OT Platform's autobuy (seed 002) as a second procurement channel beside
-- direct Taobao: which channel buys what, OT's settings, the orders we add
-- to OT, OT's fields per order line, the provider (Taobao) sessions that
-- operators renew each day, and the background activities we follow.

-- A shop's procurement settings. The OT keys (instance key, signature secret,
-- operator login and password) stay in the shop's otapi integration; these
-- are what the autobuy flow needs besides them.
CREATE TABLE procurement_settings (
    tenant_id               INTEGER PRIMARY KEY REFERENCES tenants(id),
    -- Where the shop buys a line whose product says nothing else.
    channel                 TEXT NOT NULL DEFAULT 'taobao' CHECK (channel IN ('taobao', 'ot')),
    -- The buyer (customer) account at OT on whose behalf AddOrder adds orders;
    -- its password is sealed with the instance key, like integration secrets.
    ot_buyer_login          TEXT NOT NULL DEFAULT '',
    ot_buyer_password_enc   TEXT NOT NULL DEFAULT '',
    ot_buyer_password_last4 TEXT NOT NULL DEFAULT '',
    ot_user_profile_id      TEXT NOT NULL DEFAULT '',
    ot_delivery_mode_id     TEXT NOT NULL DEFAULT '',
    -- The warehouse in China that sellers ship to, in Chinese (seed 002).
    ot_recipient_name       TEXT NOT NULL DEFAULT '',
    ot_recipient_mobile     TEXT NOT NULL DEFAULT '',
    ot_region_code          TEXT NOT NULL DEFAULT '',
    ot_zip                  TEXT NOT NULL DEFAULT '',
    ot_address              TEXT NOT NULL DEFAULT '',
    updated_at              TIMESTAMP NOT NULL
);

-- A product may be bought through another channel than the shop's ('' = the
-- shop's), and may carry OT's promotion id (seed 002's PromotionId).
ALTER TABLE products ADD COLUMN procurement_channel TEXT NOT NULL DEFAULT '' CHECK (procurement_channel IN ('', 'taobao', 'ot'));
ALTER TABLE products ADD COLUMN provider_promotion_id TEXT NOT NULL DEFAULT '';

-- OT's line statuses (StatusId) and the procurement status each means. A
-- shop without rows uses the defaults of the code (model.DefaultOTStatusMap);
-- saving the table writes all its rows.
CREATE TABLE ot_status_map (
    tenant_id          INTEGER NOT NULL REFERENCES tenants(id),
    ot_status_id       TEXT NOT NULL CHECK (length(ot_status_id) BETWEEN 1 AND 64),
    ot_status_name     TEXT NOT NULL DEFAULT '',
    procurement_status TEXT NOT NULL CHECK (procurement_status IN ('pending', 'created', 'paid', 'shipped', 'completed', 'cancelled')),
    PRIMARY KEY (tenant_id, ot_status_id)
) WITHOUT ROWID;

-- An order of ours added to OT. The row is written before AddOrder is called
-- (state adding, with the comment that carries our order number): a rerun
-- after a crash looks the order up at OT by that comment instead of adding a
-- second one. After a cancel the next attempt gets a new row and comment.
CREATE TABLE ot_orders (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    attempt        INTEGER NOT NULL CHECK (attempt > 0),
    comment        TEXT NOT NULL,
    -- adding: AddOrder may be under way; added: OT has the order; paying:
    -- the simulated payment may be under way; paid: OT may export it;
    -- cancelled: cancelled at OT (CancelSalesOrder), its lines free again.
    state          TEXT NOT NULL CHECK (state IN ('adding', 'added', 'paying', 'paid', 'cancelled')),
    sales_id       TEXT NOT NULL DEFAULT '',
    customer_id    TEXT NOT NULL DEFAULT '',
    -- OT's total and what is paid of it, in minor units of OT's currency.
    amount         INTEGER NOT NULL DEFAULT 0,
    paid_amount    INTEGER NOT NULL DEFAULT 0,
    -- What PostTransaction credited to the buyer's account for this order,
    -- recorded once OT answered.
    topped_up      INTEGER NOT NULL DEFAULT 0,
    status_id      TEXT NOT NULL DEFAULT '',
    status_name    TEXT NOT NULL DEFAULT '',
    -- A person accepted the items OT skipped: the rest goes on.
    accept_skipped INTEGER NOT NULL DEFAULT 0 CHECK (accept_skipped IN (0, 1)),
    -- Why the order waits for a person, in words ('' when it does not).
    last_error     TEXT NOT NULL DEFAULT '',
    claimed_until  TIMESTAMP,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
-- One live OT order per order of ours: two runs, two clicks or a rerun find
-- the one row instead of adding a second order.
CREATE UNIQUE INDEX ot_orders_live_idx ON ot_orders (order_id) WHERE state <> 'cancelled';
-- The push job takes a shop's OT orders by state.
CREATE INDEX ot_orders_state_idx ON ot_orders (tenant_id, state, id);

-- An order line held by an OT order: what we sent, OT's line, and OT's
-- fields of it (seed 002: StatusId/StatusName, VendPurch*).
CREATE TABLE ot_lines (
    order_line_id               INTEGER PRIMARY KEY REFERENCES order_lines(id),
    tenant_id                   INTEGER NOT NULL REFERENCES tenants(id),
    ot_order_id                 INTEGER NOT NULL REFERENCES ot_orders(id),
    item_id                     TEXT NOT NULL,
    configuration_id            TEXT NOT NULL,
    promotion_id                TEXT NOT NULL DEFAULT '',
    -- OT's line id; '' when AddOrder skipped the item.
    ot_line_id                  TEXT NOT NULL DEFAULT '',
    skipped                     INTEGER NOT NULL DEFAULT 0 CHECK (skipped IN (0, 1)),
    -- A Tmall item: autobuy never exports it; bought by hand and linked.
    tmall                       INTEGER NOT NULL DEFAULT 0 CHECK (tmall IN (0, 1)),
    status_id                   TEXT NOT NULL DEFAULT '',
    status_name                 TEXT NOT NULL DEFAULT '',
    vend_purch_id               TEXT NOT NULL DEFAULT '',
    vend_purch_waybill          TEXT NOT NULL DEFAULT '',
    vend_purch_account_id       TEXT NOT NULL DEFAULT '',
    vend_purch_status           TEXT NOT NULL DEFAULT '',
    vend_purch_item_id          TEXT NOT NULL DEFAULT '',
    vend_purch_configuration_id TEXT NOT NULL DEFAULT '',
    vend_purch_promotion_id     TEXT NOT NULL DEFAULT '',
    updated_at                  TIMESTAMP NOT NULL
);
CREATE INDEX ot_lines_order_idx ON ot_lines (ot_order_id);

-- The provider (Taobao) accounts authorised at OT, as the operator last saw
-- them: the session id is sealed; OT keeps the sessions themselves.
CREATE TABLE ot_provider_sessions (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    login          TEXT NOT NULL,
    session_enc    TEXT NOT NULL,
    obtained_at    TIMESTAMP NOT NULL,
    -- When OT says the session ends; else a day after it was obtained
    -- (seed 002: "about a day"), and expires_estimated says so.
    expires_at        TIMESTAMP NOT NULL,
    expires_estimated INTEGER NOT NULL DEFAULT 0 CHECK (expires_estimated IN (0, 1)),
    status         TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'needs_authorization')),
    last_error     TEXT NOT NULL DEFAULT '',
    authorised_by  TEXT NOT NULL DEFAULT '',
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (tenant_id, integration_id, login)
);

-- The interactive operations of seed 002 (export, sync, link, unlink), each
-- an OT background activity that we follow. The row is written before OT is
-- asked (starting), so two clicks start one, and a crash leaves a row that
-- says so.
CREATE TABLE ot_activities (
    id             INTEGER PRIMARY KEY,
    tenant_id      INTEGER NOT NULL REFERENCES tenants(id),
    integration_id INTEGER NOT NULL REFERENCES integrations(id),
    order_id       INTEGER NOT NULL REFERENCES orders(id),
    ot_order_id    INTEGER NOT NULL REFERENCES ot_orders(id),
    kind           TEXT NOT NULL CHECK (kind IN ('export', 'sync', 'link', 'unlink')),
    -- OT's identification of the activity ('' until OT answered).
    activity_type  TEXT NOT NULL DEFAULT '',
    activity_id    TEXT NOT NULL DEFAULT '',
    state          TEXT NOT NULL CHECK (state IN ('starting', 'running', 'awaiting', 'finished', 'failed', 'cancelled')),
    progress       INTEGER NOT NULL DEFAULT 0,
    description    TEXT NOT NULL DEFAULT '',
    -- The steps and the offered actions as OT last told them (JSON).
    steps          TEXT NOT NULL DEFAULT '[]',
    actions        TEXT NOT NULL DEFAULT '[]',
    -- What it was started with, for people: lines, provider orders.
    parameters     TEXT NOT NULL DEFAULT '',
    error          TEXT NOT NULL DEFAULT '',
    started_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    finished_at    TIMESTAMP
);
-- One activity under way per order: OT works an order one operation at a time.
CREATE UNIQUE INDEX ot_activities_live_idx ON ot_activities (order_id) WHERE state IN ('starting', 'running', 'awaiting');
-- The follower takes a shop's activities under way; the page lists by state.
CREATE INDEX ot_activities_state_idx ON ot_activities (tenant_id, state, id);
CREATE INDEX ot_activities_order_idx ON ot_activities (tenant_id, order_id, id);

-- The answers operators gave to an activity's questions: which action, who.
CREATE TABLE ot_activity_answers (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants(id),
    activity_id  INTEGER NOT NULL REFERENCES ot_activities(id),
    question     TEXT NOT NULL DEFAULT '',
    action_id    TEXT NOT NULL,
    action_name  TEXT NOT NULL DEFAULT '',
    answered_by  TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX ot_activity_answers_activity_idx ON ot_activity_answers (activity_id, id);
