-- The storefront lists a shop's active products by title. With only
-- (tenant_id, sku) SQLite read the shop's products and sorted them for
-- every view of the shop's front page; this index gives them in order.
CREATE INDEX products_shelf_idx ON products (tenant_id, active, title, id);
