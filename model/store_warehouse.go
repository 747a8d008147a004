package model

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxScanCodeLen is the longest number a warehouse scan takes: a supplier's
// track number or a purchase id.
const MaxScanCodeLen = 64

// ScanArrival records a parcel from the supplier scanned at the shop's
// warehouse. code is the supplier's track number or a purchase id, as a
// barcode scanner types it; the shop's order lines it names (cancelled ones
// aside) are marked arrived in one write transaction, with who scanned them,
// on their orders' timelines. An order whose every line has arrived becomes
// ready to ship. A line that arrived before is reported Already and not
// changed; a number of no line of this shop gives a scan without lines.
func (s *Store) ScanArrival(ctx context.Context, t *Tenant, code string, actor Actor) (_ *ArrivalScan, err error) {
	defer wrapErr(&err, "scan arrival")
	code = strings.TrimSpace(code)
	v := &ValidationError{}
	if code == "" {
		v.Add("code", "scan the parcel's barcode, or type the supplier's track number or the purchase id")
	}
	v.MaxLen("code", code, MaxScanCodeLen)
	if err := v.OrNil(); err != nil {
		return nil, err
	}
	scan := &ArrivalScan{Code: code}
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		rows, err := tx.QueryContext(ctx, `SELECT l.order_id, o.number, l.id, l.sku, l.title, l.quantity, l.arrived_at
			FROM order_lines l JOIN orders o ON o.id = l.order_id
			WHERE l.tenant_id = ? AND (l.supplier_track = ? OR l.purchase_id = ?) AND l.procurement_status <> 'cancelled'
			ORDER BY l.order_id, l.id`, t.ID, code, code)
		scan.Lines, err = collect(rows, err, func(r rowScanner) (ArrivedLine, error) {
			var l ArrivedLine
			var at sql.NullTime
			if err := r.Scan(&l.OrderID, &l.OrderNumber, &l.LineID, &l.SKU, &l.Title, &l.Quantity, &at); err != nil {
				return l, err
			}
			l.Already, l.ArrivedAt = at.Valid, at.Time
			return l, nil
		})
		if err != nil {
			return err
		}
		arrived := map[int64][]string{} // order → the SKUs this scan marked
		var orders []int64
		for i := range scan.Lines {
			l := &scan.Lines[i]
			if l.Already {
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE order_lines SET arrived_at = ?, arrived_by = ? WHERE id = ? AND arrived_at IS NULL`,
				now, string(actor), l.LineID); err != nil {
				return err
			}
			l.ArrivedAt = now
			if _, ok := arrived[l.OrderID]; !ok {
				orders = append(orders, l.OrderID)
			}
			arrived[l.OrderID] = append(arrived[l.OrderID], l.SKU+" ×"+strconv.Itoa(l.Quantity))
		}
		ready := map[int64]bool{}
		for _, orderID := range orders {
			if err := insertEvent(ctx, tx, t.ID, orderID, EventNote, actor, "", "",
				"Arrived at the warehouse (scan "+code+"): "+strings.Join(arrived[orderID], ", "), now); err != nil {
				return err
			}
			var waiting int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM order_lines WHERE order_id = ? AND procurement_status <> 'cancelled'
				AND arrived_at IS NULL`, orderID).Scan(&waiting); err != nil {
				return err
			}
			if waiting > 0 {
				continue
			}
			res, err := tx.ExecContext(ctx, `UPDATE orders SET arrived_at = ?, updated_at = ? WHERE tenant_id = ? AND id = ? AND arrived_at IS NULL`,
				now, now, t.ID, orderID)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil {
				return err
			} else if n > 0 {
				if err := insertEvent(ctx, tx, t.ID, orderID, EventNote, actor, "", "", "Every item has arrived: ready to ship", now); err != nil {
					return err
				}
			}
		}
		// Whether each order matched is ready now, newly or from before.
		for i := range scan.Lines {
			l := &scan.Lines[i]
			r, ok := ready[l.OrderID]
			if !ok {
				var at sql.NullTime
				if err := tx.QueryRowContext(ctx, `SELECT arrived_at FROM orders WHERE id = ?`, l.OrderID).Scan(&at); err != nil {
					return err
				}
				r = at.Valid
				ready[l.OrderID] = r
			}
			l.OrderReady = r
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return scan, nil
}

// trackColumns are what the tracking story reads of an order beyond its row,
// in the same statement (trackArgs are their parameters): the first time it
// was paid, bought from the supplier and sent by the supplier, and the
// supplier's tracks in the order they came. One statement, not three: the
// tracking pages are the busiest of the shop, and each statement costs its
// own trip through the driver. min() loses the column's type in SQLite: the
// times are read as text and parsed.
const trackColumns = `,
	(SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id AND e.tenant_id = o.tenant_id AND e.kind = ? AND e.to_value = ?),
	(SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id AND e.tenant_id = o.tenant_id AND e.kind = ? AND e.to_value IN (?, ?, ?)),
	(SELECT min(e.created_at) FROM order_events e WHERE e.order_id = o.id AND e.tenant_id = o.tenant_id AND e.kind = ? AND e.to_value IN (?, ?)),
	-- INDEXED BY: the shop's part of order_lines_track_idx looks as good to
	-- SQLite's planner, and is every line of the shop (migration 0016).
	coalesce((SELECT group_concat(l.supplier_track, char(31) ORDER BY l.id) FROM order_lines l INDEXED BY order_lines_tenant_order_idx
		WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id AND l.supplier_track <> ''), '')`

// supplierTracks are the supplier's tracks of an order's lines as trackColumns
// reads them (in the lines' order, separated by U+001F), each once, in the
// order they first came. Lines sharing a parcel share its track; dropping
// the repeats here, not in SQL, spares SQLite two temporary B-trees (a
// GROUP BY and an ordered group_concat), a third of the tracking read's time.
func supplierTracks(concat string) string {
	if concat == "" {
		return ""
	}
	var tracks []string
	for _, t := range strings.Split(concat, "\x1f") {
		if !slices.Contains(tracks, t) {
			tracks = append(tracks, t)
		}
	}
	return strings.Join(tracks, ", ")
}

// trackedOrderColumns are the columns of an order the tracking pages show,
// and its owner (to offer paying again): a third of orderColumns, read for
// the busiest page of the shop. The customer's name and address are not
// read at all.
const trackedOrderColumns = `o.id, o.tenant_id, o.number, coalesce(o.customer_id, 0), o.shipping_name, o.status, o.payment_status,
	o.currency, o.total, o.item_count, o.tracking_number, o.tracking_carrier, ` + orderTrackingURLColumns + `,
	o.shipped_at, o.delivered_at, o.created_at, o.arrived_at`

func scanTrackedOrder(row rowScanner, extra ...any) (*Order, error) {
	o := &Order{}
	var trackingTemplate, shipmentURL string
	var shipped, delivered, arrived sql.NullTime
	err := row.Scan(append([]any{&o.ID, &o.TenantID, &o.Number, &o.CustomerID, &o.ShippingName, &o.Status, &o.PaymentStatus,
		&o.Currency, &o.Total, &o.ItemCount, &o.TrackingNumber, &o.TrackingCarrier, &trackingTemplate, &shipmentURL,
		&shipped, &delivered, &o.CreatedAt, &arrived}, extra...)...)
	if err != nil {
		return nil, notFound(err)
	}
	o.ShippedAt, o.DeliveredAt, o.ArrivedAt = timeOrNil(shipped), timeOrNil(delivered), timeOrNil(arrived)
	o.TrackingURL = trackingURL(trackingTemplate, shipmentURL, o.TrackingNumber)
	return o, nil
}

var trackArgs = []any{
	EventPaymentStatus, string(PayPaid),
	EventProcurementStatus, string(ProcPaid), string(ProcShipped), string(ProcCompleted),
	EventProcurementStatus, string(ProcShipped), string(ProcCompleted),
}

// readTrackedOrder reads the tenant's order of this number for the public
// tracking pages, with its story: ordered, paid, bought from the supplier,
// on its way to our warehouse (with the supplier's tracks), arrived, handed
// to the carrier (with its track and link), delivered. Each step has its date
// once it happened; nothing personal is in the story. The order holds only
// what the tracking pages show and its owner (trackedOrderColumns), the rest
// of it zero. An unknown number is ErrNotFound.
func (s *Store) readTrackedOrder(ctx context.Context, tenantID int64, number string) (_ *Order, _ []TrackStep, err error) {
	defer wrapErr(&err, "track order (tenantID=%d)", tenantID)
	var at [3]sql.NullString
	var tracks string
	args := append(slices.Clone(trackArgs), OrderNumber(number), tenantID)
	o, err := scanTrackedOrder(s.DB.R.QueryRowContext(ctx, `SELECT `+trackedOrderColumns+trackColumns+orderFrom+`WHERE o.number = ? AND o.tenant_id = ?`, args...),
		&at[0], &at[1], &at[2], &tracks)
	if err != nil {
		return nil, nil, err
	}
	var firsts [3]*time.Time
	for i, a := range at {
		if !a.Valid {
			continue
		}
		v, err := parseTime(a.String)
		if err != nil {
			return nil, nil, err
		}
		firsts[i] = &v
	}
	paid, bought, sent := firsts[0], firsts[1], firsts[2]
	tracks = supplierTracks(tracks)
	if sent == nil && tracks != "" {
		// A track without the roll-up's event (one of several lines shipped).
		sent = bought
	}
	created := o.CreatedAt
	steps := []TrackStep{
		{Key: "ordered", At: &created},
		{Key: "paid", At: paid},
		{Key: "bought", At: bought},
		{Key: "on_the_way", At: sent, Detail: tracks},
		{Key: "arrived", At: o.ArrivedAt},
		{Key: "handed_over", At: o.ShippedAt, Detail: o.TrackingNumber, Carrier: CarrierLabel(o.TrackingCarrier), URL: o.TrackingURL},
		{Key: "delivered", At: o.DeliveredAt},
	}
	if o.ShippedAt == nil {
		steps[5].Detail, steps[5].URL = "", ""
	}
	return o, steps, nil
}

// trackedOrdersKept is how many orders' tracking stories are kept: the
// orders customers are waiting for, which they look at again and again.
const trackedOrdersKept = 4096

// trackedOrder is an order's tracking story as TrackOrder reads it.
type trackedOrder struct {
	order *Order
	story []TrackStep
}

// TrackOrder reads the tenant's order of this number for the public
// tracking pages, with its story (readTrackedOrder), kept under the shop's
// version: the busiest pages of a shop, asked again and again
// of the orders customers are waiting for.
func (s *Store) TrackOrder(ctx context.Context, tenantID int64, number string) (*Order, []TrackStep, error) {
	number = OrderNumber(number)
	t, err := keptRead(ctx, s, s.trackedOrders, tenantID, number, func() (trackedOrder, error) {
		o, story, err := s.readTrackedOrder(ctx, tenantID, number)
		return trackedOrder{o, story}, err
	})
	if err != nil {
		return nil, nil, err
	}
	o := *t.order
	return &o, slices.Clone(t.story), nil
}
