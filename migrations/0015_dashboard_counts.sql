-- The dashboard's numbers, kept by triggers as order_status_counts (0002) keeps
-- the desk's tabs, so that /admin/ costs a few small reads at a million orders
-- instead of counting a shop's whole order table on every view (issue 12).

-- Orders per shop and dashboard bucket. A bucket is a condition on one order
-- row; each trigger adds the difference the change made to it:
--   to_buy       paid, not bought yet, confirmed or processing (what the
--                orders-to-taobao job picks up): tens of thousands in a big shop
--   needs_person procurement stopped with an error a person must read
--   unpaid       placed and still unpaid (status and payment both pending); the
--                dashboard subtracts the few recent ones to count those waiting
--                longer than its threshold
CREATE TABLE dashboard_counts (
    tenant_id INTEGER NOT NULL REFERENCES tenants(id),
    bucket    TEXT NOT NULL CHECK (bucket IN ('to_buy', 'needs_person', 'unpaid')),
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, bucket)
) WITHOUT ROWID;

-- Sales, refunds and purchase cost of the orders placed in each quarter of an
-- hour (UTC, seconds since the epoch / 900). Quarter hours rather than days:
-- the shop's day depends on its time zone (which may change, and some are
-- offset by 30 or 45 minutes), so the dashboard adds the quarters of each of
-- the shop's days itself; eight days are 768 rows at most.
--   paid_orders  orders paid (wholly or since refunded)
--   sales        their totals
--   refunds      the refunds done on orders placed in the quarter
--   cost         the purchase cost (cost_minor) of their lines
CREATE TABLE order_quarter_totals (
    tenant_id   INTEGER NOT NULL REFERENCES tenants(id),
    quarter     INTEGER NOT NULL,
    paid_orders INTEGER NOT NULL DEFAULT 0,
    sales       INTEGER NOT NULL DEFAULT 0,
    refunds     INTEGER NOT NULL DEFAULT 0,
    cost        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, quarter)
) WITHOUT ROWID;

-- The orders whose procurement needs a person are few by nature: a partial
-- index lists them (procurement page, ?procurement=needs_person) without
-- reading the shop's other orders.
CREATE INDEX orders_procurement_error_idx ON orders (tenant_id, id) WHERE procurement_error <> '';

-- Existing orders, counted once.
INSERT INTO dashboard_counts (tenant_id, bucket, n)
    SELECT tenant_id, 'to_buy', count(*) FROM orders
    WHERE payment_status = 'paid' AND procurement_status = 'pending' AND status IN ('confirmed', 'processing') GROUP BY tenant_id;
INSERT INTO dashboard_counts (tenant_id, bucket, n)
    SELECT tenant_id, 'needs_person', count(*) FROM orders WHERE procurement_error <> '' GROUP BY tenant_id;
INSERT INTO dashboard_counts (tenant_id, bucket, n)
    SELECT tenant_id, 'unpaid', count(*) FROM orders WHERE status = 'pending' AND payment_status = 'pending' GROUP BY tenant_id;
INSERT INTO order_quarter_totals (tenant_id, quarter, paid_orders, sales, refunds, cost)
    SELECT tenant_id, q, sum(paid), sum(sales), sum(refunds), sum(cost) FROM (
        SELECT o.tenant_id, CAST(strftime('%s', o.created_at) AS INTEGER) / 900 AS q,
            o.payment_status IN ('paid', 'partially_refunded', 'refunded') AS paid,
            CASE WHEN o.payment_status IN ('paid', 'partially_refunded', 'refunded') THEN o.total ELSE 0 END AS sales,
            (SELECT coalesce(sum(r.amount), 0) FROM refunds r WHERE r.order_id = o.id AND r.status = 'done') AS refunds,
            (SELECT coalesce(sum(l.cost_minor), 0) FROM order_lines l WHERE l.order_id = o.id) AS cost
        FROM orders o)
    GROUP BY tenant_id, q;

-- Orders: the three buckets and the paid sales. The bucket conditions are
-- written out in each trigger (SQL has no macros); keep them equal to
-- model.dashboardBuckets, which the counts test compares with a fresh count.
CREATE TRIGGER orders_dashboard_insert AFTER INSERT ON orders BEGIN
    INSERT INTO dashboard_counts (tenant_id, bucket, n)
        SELECT NEW.tenant_id, 'to_buy', 1
        WHERE NEW.payment_status = 'paid' AND NEW.procurement_status = 'pending' AND NEW.status IN ('confirmed', 'processing')
        ON CONFLICT (tenant_id, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO dashboard_counts (tenant_id, bucket, n)
        SELECT NEW.tenant_id, 'needs_person', 1 WHERE NEW.procurement_error <> ''
        ON CONFLICT (tenant_id, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO dashboard_counts (tenant_id, bucket, n)
        SELECT NEW.tenant_id, 'unpaid', 1 WHERE NEW.status = 'pending' AND NEW.payment_status = 'pending'
        ON CONFLICT (tenant_id, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO order_quarter_totals (tenant_id, quarter, paid_orders, sales)
        SELECT NEW.tenant_id, CAST(strftime('%s', NEW.created_at) AS INTEGER) / 900, 1, NEW.total
        WHERE NEW.payment_status IN ('paid', 'partially_refunded', 'refunded')
        ON CONFLICT (tenant_id, quarter) DO UPDATE SET paid_orders = paid_orders + 1, sales = sales + excluded.sales;
END;

CREATE TRIGGER orders_dashboard_update AFTER UPDATE OF status, payment_status, procurement_status, procurement_error, total ON orders BEGIN
    INSERT INTO dashboard_counts (tenant_id, bucket, n)
        SELECT NEW.tenant_id, 'to_buy', d FROM (SELECT
            (NEW.payment_status = 'paid' AND NEW.procurement_status = 'pending' AND NEW.status IN ('confirmed', 'processing'))
          - (OLD.payment_status = 'paid' AND OLD.procurement_status = 'pending' AND OLD.status IN ('confirmed', 'processing')) AS d)
        WHERE d <> 0
        ON CONFLICT (tenant_id, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO dashboard_counts (tenant_id, bucket, n)
        SELECT NEW.tenant_id, 'needs_person', d FROM (SELECT (NEW.procurement_error <> '') - (OLD.procurement_error <> '') AS d)
        WHERE d <> 0
        ON CONFLICT (tenant_id, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO dashboard_counts (tenant_id, bucket, n)
        SELECT NEW.tenant_id, 'unpaid', d FROM (SELECT
            (NEW.status = 'pending' AND NEW.payment_status = 'pending') - (OLD.status = 'pending' AND OLD.payment_status = 'pending') AS d)
        WHERE d <> 0
        ON CONFLICT (tenant_id, bucket) DO UPDATE SET n = n + excluded.n;
    INSERT INTO order_quarter_totals (tenant_id, quarter, paid_orders, sales)
        SELECT NEW.tenant_id, CAST(strftime('%s', NEW.created_at) AS INTEGER) / 900, dp, ds FROM (SELECT
            (NEW.payment_status IN ('paid', 'partially_refunded', 'refunded')) - (OLD.payment_status IN ('paid', 'partially_refunded', 'refunded')) AS dp,
            (CASE WHEN NEW.payment_status IN ('paid', 'partially_refunded', 'refunded') THEN NEW.total ELSE 0 END)
          - (CASE WHEN OLD.payment_status IN ('paid', 'partially_refunded', 'refunded') THEN OLD.total ELSE 0 END) AS ds)
        WHERE dp <> 0 OR ds <> 0
        ON CONFLICT (tenant_id, quarter) DO UPDATE SET paid_orders = paid_orders + excluded.paid_orders, sales = sales + excluded.sales;
END;

CREATE TRIGGER orders_dashboard_delete AFTER DELETE ON orders BEGIN
    UPDATE dashboard_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND bucket = 'to_buy'
        AND OLD.payment_status = 'paid' AND OLD.procurement_status = 'pending' AND OLD.status IN ('confirmed', 'processing');
    UPDATE dashboard_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND bucket = 'needs_person' AND OLD.procurement_error <> '';
    UPDATE dashboard_counts SET n = n - 1 WHERE tenant_id = OLD.tenant_id AND bucket = 'unpaid'
        AND OLD.status = 'pending' AND OLD.payment_status = 'pending';
    UPDATE order_quarter_totals SET paid_orders = paid_orders - 1, sales = sales - OLD.total
        WHERE tenant_id = OLD.tenant_id AND quarter = CAST(strftime('%s', OLD.created_at) AS INTEGER) / 900
        AND OLD.payment_status IN ('paid', 'partially_refunded', 'refunded');
END;

-- Refunds count on the day the refunded order was placed, once done.
CREATE TRIGGER refunds_dashboard_insert AFTER INSERT ON refunds WHEN NEW.status = 'done' BEGIN
    INSERT INTO order_quarter_totals (tenant_id, quarter, refunds)
        SELECT o.tenant_id, CAST(strftime('%s', o.created_at) AS INTEGER) / 900, NEW.amount FROM orders o WHERE o.id = NEW.order_id
        ON CONFLICT (tenant_id, quarter) DO UPDATE SET refunds = refunds + excluded.refunds;
END;
CREATE TRIGGER refunds_dashboard_update AFTER UPDATE OF status, amount ON refunds
    WHEN OLD.status = 'done' OR NEW.status = 'done' BEGIN
    INSERT INTO order_quarter_totals (tenant_id, quarter, refunds)
        SELECT o.tenant_id, CAST(strftime('%s', o.created_at) AS INTEGER) / 900,
            (CASE WHEN NEW.status = 'done' THEN NEW.amount ELSE 0 END) - (CASE WHEN OLD.status = 'done' THEN OLD.amount ELSE 0 END)
        FROM orders o WHERE o.id = NEW.order_id
        ON CONFLICT (tenant_id, quarter) DO UPDATE SET refunds = refunds + excluded.refunds;
END;
CREATE TRIGGER refunds_dashboard_delete AFTER DELETE ON refunds WHEN OLD.status = 'done' BEGIN
    UPDATE order_quarter_totals SET refunds = refunds - OLD.amount
        WHERE (tenant_id, quarter) = (SELECT o.tenant_id, CAST(strftime('%s', o.created_at) AS INTEGER) / 900 FROM orders o WHERE o.id = OLD.order_id);
END;

-- A line's purchase cost is frozen when it is bought (cost_minor).
CREATE TRIGGER order_lines_dashboard_insert AFTER INSERT ON order_lines WHEN NEW.cost_minor <> 0 BEGIN
    INSERT INTO order_quarter_totals (tenant_id, quarter, cost)
        SELECT o.tenant_id, CAST(strftime('%s', o.created_at) AS INTEGER) / 900, NEW.cost_minor FROM orders o WHERE o.id = NEW.order_id
        ON CONFLICT (tenant_id, quarter) DO UPDATE SET cost = cost + excluded.cost;
END;
CREATE TRIGGER order_lines_dashboard_update AFTER UPDATE OF cost_minor ON order_lines WHEN NEW.cost_minor <> OLD.cost_minor BEGIN
    INSERT INTO order_quarter_totals (tenant_id, quarter, cost)
        SELECT o.tenant_id, CAST(strftime('%s', o.created_at) AS INTEGER) / 900, NEW.cost_minor - OLD.cost_minor FROM orders o WHERE o.id = NEW.order_id
        ON CONFLICT (tenant_id, quarter) DO UPDATE SET cost = cost + excluded.cost;
END;
CREATE TRIGGER order_lines_dashboard_delete AFTER DELETE ON order_lines WHEN OLD.cost_minor <> 0 BEGIN
    UPDATE order_quarter_totals SET cost = cost - OLD.cost_minor
        WHERE (tenant_id, quarter) = (SELECT o.tenant_id, CAST(strftime('%s', o.created_at) AS INTEGER) / 900 FROM orders o WHERE o.id = OLD.order_id);
END;
