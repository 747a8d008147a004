-- An order's page and its public tracking page read the order's lines,
-- payments and refunds by (tenant_id, order_id). Without statistics SQLite
-- ranks every index that starts with tenant_id as good as order_id's, and took
-- order_lines_track_idx (tenant_id, supplier_track): at 100,000 orders the
-- tracking page read every line of the shop, 22 pages a second. An index on
-- both columns is the one plan it can choose; id last keeps the lines in
-- order without a sort. The single-column order_id indexes stay for the
-- foreign keys' cascades and the writer's lookups by order alone.
CREATE INDEX order_lines_tenant_order_idx ON order_lines (tenant_id, order_id, id);
CREATE INDEX payments_tenant_order_idx ON payments (tenant_id, order_id, id);
CREATE INDEX refunds_tenant_order_idx ON refunds (tenant_id, order_id, id);
