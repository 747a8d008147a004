-- The order desk and GET /api/orders/ find a shop's orders by the supplier's
-- order id (purchase_id=, issue 10). A lookup scoped by the shop needs the
-- shop first: with only order_lines_purchase_idx (purchase_id) of 0004,
-- SQLite takes the shop's part of order_lines_track_idx and reads every line
-- of the shop. The waybill search reads order_lines_track_idx of 0010.
CREATE INDEX order_lines_tenant_purchase_idx ON order_lines (tenant_id, purchase_id);
