-- Each shop has a version: a number that every change to one of its orders
-- (their lines, events, payments, refunds, shipments and their events, OT
-- orders, lines and activities), its shipping methods (whose links the
-- tracking pages show), its procurement settings or its products moves on.
-- What is read again and again of a shop (a page of the order desk and its
-- counts, an order's tracking story, an order's page, the storefront's
-- shelf, the dashboard's week) is kept in memory under the version it was
-- read at, and is still current while one small row says the same version.
-- Triggers, not Go, move it, so that no write path can forget to, the
-- command line's and a restored backup's included.
CREATE TABLE shop_versions (
    tenant_id INTEGER PRIMARY KEY REFERENCES tenants(id),
    version   INTEGER NOT NULL
);

CREATE TRIGGER orders_version_insert AFTER INSERT ON orders BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER orders_version_update AFTER UPDATE ON orders BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER orders_version_delete AFTER DELETE ON orders BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER order_lines_version_insert AFTER INSERT ON order_lines BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_lines_version_update AFTER UPDATE ON order_lines BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_lines_version_delete AFTER DELETE ON order_lines BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER refunds_version_insert AFTER INSERT ON refunds BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER refunds_version_update AFTER UPDATE ON refunds BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER refunds_version_delete AFTER DELETE ON refunds BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER order_events_version_insert AFTER INSERT ON order_events BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_events_version_update AFTER UPDATE ON order_events BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_events_version_delete AFTER DELETE ON order_events BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER shipments_version_insert AFTER INSERT ON shipments BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER shipments_version_update AFTER UPDATE ON shipments BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER shipments_version_delete AFTER DELETE ON shipments BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER shipping_methods_version_insert AFTER INSERT ON shipping_methods BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER shipping_methods_version_update AFTER UPDATE ON shipping_methods BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER shipping_methods_version_delete AFTER DELETE ON shipping_methods BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER products_version_insert AFTER INSERT ON products BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER products_version_update AFTER UPDATE ON products BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER products_version_delete AFTER DELETE ON products BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

-- The counts and totals the triggers of orders, lines and refunds keep
-- (0002, 0015) move it too, though those triggers' own tables already do:
-- so that what is kept can be checked against the tables it reads
-- (TestKeptReadsReadOnlyTablesThatMoveTheShopsVersion), whoever writes them.
CREATE TRIGGER order_status_counts_version_insert AFTER INSERT ON order_status_counts BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_status_counts_version_update AFTER UPDATE ON order_status_counts BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_status_counts_version_delete AFTER DELETE ON order_status_counts BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER order_quarter_totals_version_insert AFTER INSERT ON order_quarter_totals BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_quarter_totals_version_update AFTER UPDATE ON order_quarter_totals BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER order_quarter_totals_version_delete AFTER DELETE ON order_quarter_totals BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

-- What an order's page reads besides (FindOrderRecord).
CREATE TRIGGER payments_version_insert AFTER INSERT ON payments BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER payments_version_update AFTER UPDATE ON payments BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER payments_version_delete AFTER DELETE ON payments BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ot_orders_version_insert AFTER INSERT ON ot_orders BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER ot_orders_version_update AFTER UPDATE ON ot_orders BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER ot_orders_version_delete AFTER DELETE ON ot_orders BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ot_lines_version_insert AFTER INSERT ON ot_lines BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER ot_lines_version_update AFTER UPDATE ON ot_lines BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER ot_lines_version_delete AFTER DELETE ON ot_lines BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER ot_activities_version_insert AFTER INSERT ON ot_activities BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER ot_activities_version_update AFTER UPDATE ON ot_activities BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER ot_activities_version_delete AFTER DELETE ON ot_activities BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER procurement_settings_version_insert AFTER INSERT ON procurement_settings BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER procurement_settings_version_update AFTER UPDATE ON procurement_settings BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER procurement_settings_version_delete AFTER DELETE ON procurement_settings BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;

CREATE TRIGGER shipment_events_version_insert AFTER INSERT ON shipment_events BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER shipment_events_version_update AFTER UPDATE ON shipment_events BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (NEW.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
CREATE TRIGGER shipment_events_version_delete AFTER DELETE ON shipment_events BEGIN
    INSERT INTO shop_versions (tenant_id, version) VALUES (OLD.tenant_id, 1)
        ON CONFLICT (tenant_id) DO UPDATE SET version = version + 1;
END;
