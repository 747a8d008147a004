package model

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventShipment is a timeline entry of the order's shipment: registered,
// refused, its status at the carrier.
const EventShipment = "shipment"

// ---------------------------------------------------------------- settings

// FindDeliverySettings returns the shop's delivery settings, or the defaults
// when the shop has saved none.
func (s *Store) FindDeliverySettings(ctx context.Context, tenantID int64) (_ DeliverySettings, err error) {
	defer wrapErr(&err, "find delivery settings (tenantID=%d)", tenantID)
	return findDeliverySettings(ctx, s.DB.R, tenantID)
}

func findDeliverySettings(ctx context.Context, q queryer, tenantID int64) (DeliverySettings, error) {
	d := DefaultDeliverySettings
	err := q.QueryRowContext(ctx, `SELECT sender_name, sender_phone, sender_country, sender_city, sender_postal_code, sender_address,
		cdek_shipment_point, cdek_tariff_code, package_weight_g, package_length_cm, package_width_cm, package_height_cm,
		dostavista_vehicle_type, dostavista_window_hours FROM delivery_settings WHERE tenant_id = ?`, tenantID).
		Scan(&d.SenderName, &d.SenderPhone, &d.SenderCountry, &d.SenderCity, &d.SenderPostalCode, &d.SenderAddress,
			&d.CDEKShipmentPoint, &d.CDEKTariffCode, &d.PackageWeightG, &d.PackageLengthCm, &d.PackageWidthCm, &d.PackageHeightCm,
			&d.DostavistaVehicleType, &d.DostavistaWindowHours)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultDeliverySettings, nil
	}
	return d, err
}

// SaveDeliverySettings checks and saves the shop's delivery settings; a bad
// field is a ValidationError naming it.
func (s *Store) SaveDeliverySettings(ctx context.Context, tenantID int64, d DeliverySettings) (err error) {
	defer wrapErr(&err, "save delivery settings (tenantID=%d)", tenantID)
	trim := func(p *string) { *p = strings.TrimSpace(*p) }
	for _, p := range []*string{&d.SenderName, &d.SenderPhone, &d.SenderCountry, &d.SenderCity, &d.SenderPostalCode, &d.SenderAddress, &d.CDEKShipmentPoint} {
		trim(p)
	}
	d.SenderCountry = strings.ToUpper(d.SenderCountry)
	v := &ValidationError{}
	v.MaxLen("sender_name", d.SenderName, MaxNameLen)
	v.MaxLen("sender_phone", d.SenderPhone, MaxPhoneLen)
	if d.SenderCountry != "" && !isCountryCode(d.SenderCountry) {
		v.Add("sender_country", "use the 2-letter country code, e.g. RU")
	}
	v.MaxLen("sender_city", d.SenderCity, MaxCityLen)
	v.MaxLen("sender_postal_code", d.SenderPostalCode, MaxZipLen)
	v.MaxLen("sender_address", d.SenderAddress, MaxAddressLineLen)
	v.MaxLen("cdek_shipment_point", d.CDEKShipmentPoint, MaxCarrierLen)
	between := func(field string, n, lo, hi int, msg string) {
		if n < lo || n > hi {
			v.Add(field, msg)
		}
	}
	between("cdek_tariff_code", d.CDEKTariffCode, 1, 100000, "give CDEK's tariff code, e.g. 137")
	between("package_weight_g", d.PackageWeightG, 1, 1_000_000, "give the weight in grams, from 1 to 1000000")
	between("package_length_cm", d.PackageLengthCm, 1, 1000, "give a size in centimetres, from 1 to 1000")
	between("package_width_cm", d.PackageWidthCm, 1, 1000, "give a size in centimetres, from 1 to 1000")
	between("package_height_cm", d.PackageHeightCm, 1, 1000, "give a size in centimetres, from 1 to 1000")
	between("dostavista_vehicle_type", d.DostavistaVehicleType, 1, 7, "choose a vehicle type from 1 to 7 (6: on foot)")
	between("dostavista_window_hours", d.DostavistaWindowHours, 1, 48, "give a window from 1 to 48 hours")
	if err := v.OrNil(); err != nil {
		return err
	}
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO delivery_settings (tenant_id, sender_name, sender_phone, sender_country, sender_city,
		sender_postal_code, sender_address, cdek_shipment_point, cdek_tariff_code, package_weight_g, package_length_cm, package_width_cm,
		package_height_cm, dostavista_vehicle_type, dostavista_window_hours, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET sender_name = excluded.sender_name, sender_phone = excluded.sender_phone,
			sender_country = excluded.sender_country, sender_city = excluded.sender_city, sender_postal_code = excluded.sender_postal_code,
			sender_address = excluded.sender_address, cdek_shipment_point = excluded.cdek_shipment_point,
			cdek_tariff_code = excluded.cdek_tariff_code, package_weight_g = excluded.package_weight_g,
			package_length_cm = excluded.package_length_cm, package_width_cm = excluded.package_width_cm,
			package_height_cm = excluded.package_height_cm, dostavista_vehicle_type = excluded.dostavista_vehicle_type,
			dostavista_window_hours = excluded.dostavista_window_hours, updated_at = excluded.updated_at`,
		tenantID, d.SenderName, d.SenderPhone, d.SenderCountry, d.SenderCity, d.SenderPostalCode, d.SenderAddress, d.CDEKShipmentPoint,
		d.CDEKTariffCode, d.PackageWeightG, d.PackageLengthCm, d.PackageWidthCm, d.PackageHeightCm, d.DostavistaVehicleType,
		d.DostavistaWindowHours, s.now())
	return err
}

// ---------------------------------------------------------------- reading

const shipmentColumns = `sh.id, sh.tenant_id, sh.order_id, o.number, sh.carrier, coalesce(sh.integration_id, 0), sh.reference,
	sh.carrier_order_id, sh.track_number, sh.tracking_url, sh.status, sh.carrier_status, sh.cost, sh.currency, sh.courier_name,
	sh.courier_phone, sh.last_error, sh.attempts, sh.claimed_until, sh.created_by, sh.created_at, sh.updated_at`

const shipmentFrom = ` FROM shipments sh JOIN orders o ON o.id = sh.order_id `

func scanShipment(row rowScanner) (*Shipment, error) {
	sh := &Shipment{}
	var claimed sql.NullTime
	if err := row.Scan(&sh.ID, &sh.TenantID, &sh.OrderID, &sh.OrderNumber, &sh.Carrier, &sh.IntegrationID, &sh.Reference,
		&sh.CarrierOrderID, &sh.TrackNumber, &sh.TrackingURL, &sh.Status, &sh.CarrierStatus, &sh.Cost, &sh.Currency, &sh.CourierName,
		&sh.CourierPhone, &sh.LastError, &sh.Attempts, &claimed, &sh.CreatedBy, &sh.CreatedAt, &sh.UpdatedAt); err != nil {
		return nil, notFound(err)
	}
	if claimed.Valid {
		sh.ClaimedUntil = &claimed.Time
	}
	return sh, nil
}

// FindShipmentByID returns the shop's shipment, or ErrNotFound.
func (s *Store) FindShipmentByID(ctx context.Context, tenantID, id int64) (_ *Shipment, err error) {
	defer wrapErr(&err, "find shipment by id (tenantID=%d id=%d)", tenantID, id)
	return scanShipment(s.DB.R.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ? AND sh.id = ?`, tenantID, id))
}

// FindOrderShipment returns the order's live shipment with its status
// history, or ErrNotFound when it has none.
func (s *Store) FindOrderShipment(ctx context.Context, tenantID, orderID int64) (_ *Shipment, err error) {
	defer wrapErr(&err, "find order shipment (tenantID=%d orderID=%d)", tenantID, orderID)
	sh, err := scanShipment(s.DB.R.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ? AND sh.order_id = ?
		AND sh.status <> 'cancelled'`, tenantID, orderID))
	if err != nil {
		return nil, err
	}
	rows, err := s.DB.R.QueryContext(ctx, `SELECT status, carrier_status, description, happened_at FROM shipment_events
		WHERE tenant_id = ? AND order_id = ? AND shipment_id = ? ORDER BY happened_at, id`, tenantID, orderID, sh.ID)
	sh.Events, err = collect(rows, err, func(r rowScanner) (ShipmentEvent, error) {
		var e ShipmentEvent
		err := r.Scan(&e.Status, &e.CarrierStatus, &e.Description, &e.HappenedAt)
		return e, err
	})
	return sh, err
}

// FindShipmentsToFollow lists the shop's shipments of a carrier that the
// carrier still has news of: registered ones waiting for a track or on their
// way, and registrations whose process stopped (their claim ran out). Oldest
// first, at most limit.
func (s *Store) FindShipmentsToFollow(ctx context.Context, tenantID int64, carrier string, limit int) (_ []*Shipment, err error) {
	defer wrapErr(&err, "find shipments to follow (tenantID=%d limit=%d)", tenantID, limit)
	rows, err := s.DB.R.QueryContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ? AND sh.carrier = ?
		AND sh.integration_id IS NOT NULL AND (sh.status IN ('created', 'in_transit')
			OR (sh.status = 'registering' AND (sh.claimed_until IS NULL OR sh.claimed_until < ?)))
		ORDER BY sh.id LIMIT ?`, tenantID, carrier, s.now(), limit)
	return collect(rows, err, scanShipment)
}

// FindShipmentForCarrier finds the live shipment a carrier's message names,
// among the shipments of the integration that received it only: by the
// carrier's id, else by our reference.
func (s *Store) FindShipmentForCarrier(ctx context.Context, in *Integration, carrierOrderID, reference string) (_ *Shipment, err error) {
	defer wrapErr(&err, "find shipment for carrier")
	if carrierOrderID != "" {
		sh, err := scanShipment(s.DB.R.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ?
			AND sh.integration_id = ? AND sh.carrier_order_id = ? AND sh.status <> 'cancelled'`, in.TenantID, in.ID, carrierOrderID))
		if !errors.Is(err, ErrNotFound) {
			return sh, err
		}
	}
	if reference != "" {
		return scanShipment(s.DB.R.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ?
			AND sh.integration_id = ? AND sh.reference = ? AND sh.status <> 'cancelled'`, in.TenantID, in.ID, reference))
	}
	return nil, ErrNotFound
}

// CountShipmentProblems counts the shop's shipments a person must look at:
// refused by the carrier, or with a problem on the way.
func (s *Store) CountShipmentProblems(ctx context.Context, tenantID int64) (_ int, err error) {
	defer wrapErr(&err, "count shipment problems (tenantID=%d)", tenantID)
	var n int
	err = s.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM shipments WHERE tenant_id = ? AND status IN ('failed', 'problem')`, tenantID).Scan(&n)
	return n, err
}

// ---------------------------------------------------------------- registering

// shipmentReference is our reference of an order at a carrier: the order
// number, which Dostavista takes up to 32 characters; a longer number (a
// shop with a long slug) gives way to one made of the shop's and order's ids,
// unique at a carrier account that several shops share.
func shipmentReference(number string, tenantID, orderID int64) string {
	if len(number) <= 32 {
		return number
	}
	return "ORD-" + strconv.FormatInt(tenantID, 10) + "-" + strconv.FormatInt(orderID, 10)
}

// shippable says why an order cannot be handed to a carrier now, or "".
func shippable(number string, status OrderStatus, pay OrderPaymentStatus, lang string) string {
	switch {
	case status != OrderConfirmed && status != OrderProcessing:
		return "Order " + number + " is " + status.Label(lang) + ": only a confirmed or processing order is handed to a carrier."
	case pay != PayPaid && pay != PayPartiallyRefunded:
		return "Order " + number + " is not paid (" + pay.Label(lang) + "): it is shipped once it is."
	}
	return ""
}

// BeginShipment records the intent to register an order's shipment with a
// carrier's integration before the carrier is called: in one write
// transaction it checks the order may be shipped, and writes (or takes up
// again) the order's one live shipment as registering, with our reference and
// a claim until claimUntil. A second click while the claim holds is refused;
// a shipment whose earlier registration failed or stopped comes back Resumed,
// for the caller to look it up at the carrier before registering again.
func (s *Store) BeginShipment(ctx context.Context, t *Tenant, orderID int64, in *Integration, actor Actor, claimUntil time.Time) (_ *ShipmentClaim, err error) {
	defer wrapErr(&err, "begin shipment (orderID=%d)", orderID)
	carrier := ""
	switch in.Provider {
	case ProviderCDEK:
		carrier = CarrierCDEK
	case ProviderDostavista:
		carrier = CarrierDostavista
	default:
		return nil, fmt.Errorf("begin shipment: %s is not a carrier", in.Provider)
	}
	if in.TenantID != t.ID {
		return nil, fmt.Errorf("begin shipment: integration %d is not of tenant %d", in.ID, t.ID)
	}
	var shipmentID int64
	resumed := false
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		var number string
		var status OrderStatus
		var pay OrderPaymentStatus
		if err := tx.QueryRowContext(ctx, `SELECT number, status, payment_status FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, orderID).
			Scan(&number, &status, &pay); err != nil {
			return notFound(err)
		}
		if msg := shippable(number, status, pay, t.Language); msg != "" {
			return &ConflictError{Msg: msg}
		}
		live, err := scanShipment(tx.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ? AND sh.order_id = ?
			AND sh.status <> 'cancelled'`, t.ID, orderID))
		insert := func() error {
			res, err := tx.ExecContext(ctx, `INSERT INTO shipments (tenant_id, order_id, carrier, integration_id, reference, status, attempts,
				claimed_until, created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'registering', 1, ?, ?, ?, ?)`,
				t.ID, orderID, carrier, in.ID, shipmentReference(number, t.ID, orderID), claimUntil.UTC(), string(actor), now, now)
			if err != nil {
				return err
			}
			shipmentID, err = res.LastInsertId()
			return err
		}
		switch {
		case errors.Is(err, ErrNotFound):
			if err := insert(); err != nil {
				return err
			}
		case err != nil:
			return err
		case live.Status == ShipRegistering && live.ClaimedUntil != nil && live.ClaimedUntil.After(now):
			return &ConflictError{Msg: "The " + CarrierLabel(live.Carrier) + " shipment of order " + number +
				" is being registered right now; its result shows here in a moment."}
		case live.Status.Retryable() && live.Carrier == carrier:
			// The carrier's id of a refused registration is dead: the retry
			// finds (or makes) the shipment by our reference.
			shipmentID, resumed = live.ID, true
			if _, err := tx.ExecContext(ctx, `UPDATE shipments SET status = 'registering', integration_id = ?, attempts = attempts + 1,
				carrier_order_id = CASE WHEN status = 'failed' THEN '' ELSE carrier_order_id END,
				claimed_until = ?, updated_at = ? WHERE id = ?`, in.ID, claimUntil.UTC(), now, live.ID); err != nil {
				return err
			}
		case live.Status.Retryable() || live.Restartable():
			// The order's shipping method changed carrier after a refusal, or
			// the carrier gave the shipment up before it had the parcel: the
			// old one is given up and a new one starts.
			if _, err := tx.ExecContext(ctx, `UPDATE shipments SET status = 'cancelled', claimed_until = NULL, updated_at = ? WHERE id = ?`, now, live.ID); err != nil {
				return err
			}
			if err := clearShipmentProblemTx(ctx, tx, orderID); err != nil {
				return err
			}
			if err := insert(); err != nil {
				return err
			}
		default:
			return &ConflictError{Msg: "Order " + number + " already has a " + CarrierLabel(live.Carrier) + " shipment (" +
				strings.ToLower(live.Status.Label()) + ")."}
		}
		note := "Registering the shipment with " + CarrierLabel(carrier)
		if resumed {
			note = "Registering the shipment with " + CarrierLabel(carrier) + " again (looked up first)"
		}
		return insertEvent(ctx, tx, t.ID, orderID, EventShipment, actor, "", string(ShipRegistering), note, now)
	})
	if err != nil {
		return nil, err
	}
	sh, err := s.FindShipmentByID(ctx, t.ID, shipmentID)
	if err != nil {
		return nil, err
	}
	o, err := s.FindOrderByID(ctx, t.ID, orderID)
	if err != nil {
		return nil, err
	}
	settings, err := s.FindDeliverySettings(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	parcel, err := s.findParcel(ctx, t.ID, orderID, settings)
	if err != nil {
		return nil, err
	}
	return &ShipmentClaim{Shipment: sh, Order: o, Settings: settings, Parcel: parcel, Resumed: resumed}, nil
}

// findParcel lists the order's lines to pack (cancelled ones aside) with
// their products' weight and size, or the shop's default package.
func (s *Store) findParcel(ctx context.Context, tenantID, orderID int64, d DeliverySettings) ([]ParcelLine, error) {
	rows, err := s.DB.R.QueryContext(ctx, `SELECT l.sku, l.title, l.quantity, l.unit_price, coalesce(p.weight_g, 0), coalesce(p.length_cm, 0),
		coalesce(p.width_cm, 0), coalesce(p.height_cm, 0) FROM order_lines l LEFT JOIN products p ON p.id = l.product_id
		WHERE l.tenant_id = ? AND l.order_id = ? AND l.procurement_status <> 'cancelled' ORDER BY l.id`, tenantID, orderID)
	return collect(rows, err, func(r rowScanner) (ParcelLine, error) {
		var l ParcelLine
		if err := r.Scan(&l.SKU, &l.Title, &l.Quantity, &l.UnitPrice, &l.WeightG, &l.LengthCm, &l.WidthCm, &l.HeightCm); err != nil {
			return l, err
		}
		if l.WeightG == 0 {
			l.WeightG = d.PackageWeightG
		}
		if l.LengthCm == 0 || l.WidthCm == 0 || l.HeightCm == 0 {
			l.LengthCm, l.WidthCm, l.HeightCm = d.PackageLengthCm, d.PackageWidthCm, d.PackageHeightCm
		}
		return l, nil
	})
}

// RecordShipmentRefused records that a carrier refused a registration (or
// could not be asked): the shipment is failed with the reason in words, on
// the order page and its timeline, and may be registered again.
func (s *Store) RecordShipmentRefused(ctx context.Context, t *Tenant, shipmentID int64, reason string, actor Actor) (err error) {
	defer wrapErr(&err, "record shipment refused (shipmentID=%d)", shipmentID)
	return s.DB.InTx(ctx, func(tx *sql.Tx) error {
		sh, err := scanShipment(tx.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ? AND sh.id = ?`, t.ID, shipmentID))
		if err != nil {
			return err
		}
		return s.refuseTx(ctx, tx, t, sh, reason, actor)
	})
}

func (s *Store) refuseTx(ctx context.Context, tx *sql.Tx, t *Tenant, sh *Shipment, reason string, actor Actor) error {
	if sh.Status != ShipFailed && !sh.Status.Advances(ShipFailed) {
		return nil // the carrier took it meanwhile: a late refusal changes nothing
	}
	now := s.now()
	if _, err := tx.ExecContext(ctx, `UPDATE shipments SET status = 'failed', last_error = ?, claimed_until = NULL, updated_at = ? WHERE id = ?`,
		reason, now, sh.ID); err != nil {
		return err
	}
	if sh.Status == ShipFailed && sh.LastError == reason {
		return nil
	}
	return insertEvent(ctx, tx, t.ID, sh.OrderID, EventShipment, actor, string(sh.Status), string(ShipFailed), CarrierLabel(sh.Carrier)+": "+reason, now)
}

// ---------------------------------------------------------------- applying

// ShipmentResult says what applying a carrier's news did.
type ShipmentResult struct {
	Shipment  *Shipment
	Changed   bool // the shipment's status moved
	Duplicate bool // the message was seen before: nothing was applied
}

// RecordCarrierMessage keeps a carrier's message that names no shipment of
// the integration, or that was refused; it reports a duplicate without
// storing it twice.
func (s *Store) RecordCarrierMessage(ctx context.Context, tenantID int64, m CarrierMessage) (_ bool, err error) {
	defer wrapErr(&err, "record carrier message (tenantID=%d)", tenantID)
	var dup bool
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		dup, err = insertCarrierMessageTx(ctx, tx, tenantID, 0, m, s.now())
		return err
	})
	return dup, err
}

func insertCarrierMessageTx(ctx context.Context, tx *sql.Tx, tenantID, shipmentID int64, m CarrierMessage, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO carrier_messages (tenant_id, integration_id, shipment_id, kind, body, verified, result, dedup_key, created_at)
		VALUES (?, ?, nullif(?, 0), ?, ?, ?, ?, ?, ?) ON CONFLICT (integration_id, dedup_key) DO NOTHING`,
		tenantID, m.IntegrationID, shipmentID, m.Kind, m.Body, m.Verified, m.Result, m.DedupKey, now)
	if err != nil {
		return false, fmt.Errorf("record the carrier's %s: %w", m.Kind, err)
	}
	n, err := res.RowsAffected()
	return n == 0, err
}

// ApplyShipmentState is the one way a carrier's news changes a shipment and
// its order, whoever brought it (the registration's answer, the fetch jobs, a
// webhook's re-read, a signed callback). In one write transaction it keeps
// the message (msg, when given: a message seen before changes nothing),
// records the carrier's id, track, link, cost, courier and status history,
// moves the shipment forward only (a late message never moves it back), and
// does what that means for the order: a courier assigned queues
// msg_courier_assigned; a track with the parcel on its way makes the order
// shipped (which queues msg_shipped); delivered makes it delivered (which
// queues msg_delivered); a problem puts the order in front of a person.
func (s *Store) ApplyShipmentState(ctx context.Context, t *Tenant, shipmentID int64, st ShipmentState, actor Actor, msg *CarrierMessage) (_ ShipmentResult, err error) {
	defer wrapErr(&err, "apply shipment state (shipmentID=%d)", shipmentID)
	var out ShipmentResult
	err = s.DB.InTx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		sh, err := scanShipment(tx.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ? AND sh.id = ?`, t.ID, shipmentID))
		if err != nil {
			return err
		}
		if msg != nil {
			if out.Duplicate, err = insertCarrierMessageTx(ctx, tx, t.ID, sh.ID, *msg, now); err != nil || out.Duplicate {
				return err
			}
		}
		if st.Error != "" {
			out.Changed = sh.Status != ShipFailed && sh.Status.Advances(ShipFailed)
			return s.refuseTx(ctx, tx, t, sh, st.Error, actor)
		}
		return s.applyStateTx(ctx, tx, t, sh, st, actor, now, &out)
	})
	if err != nil {
		return out, err
	}
	out.Shipment, err = s.FindShipmentByID(ctx, t.ID, shipmentID)
	return out, err
}

func (s *Store) applyStateTx(ctx context.Context, tx *sql.Tx, t *Tenant, sh *Shipment, st ShipmentState, actor Actor, now time.Time, out *ShipmentResult) error {
	if st.CarrierOrderID != "" && sh.CarrierOrderID != "" && st.CarrierOrderID != sh.CarrierOrderID {
		// News of another order at the carrier under our reference (one the
		// carrier gave up, which this shipment replaced): not this one's.
		return nil
	}
	next := sh.Status
	if sh.Status.Advances(st.Status) {
		next = st.Status
	}
	out.Changed = next != sh.Status
	up := *sh
	if up.CarrierOrderID == "" && st.CarrierOrderID != "" {
		up.CarrierOrderID = st.CarrierOrderID
	}
	if st.TrackNumber != "" {
		up.TrackNumber = st.TrackNumber
	}
	if st.TrackingURL != "" {
		up.TrackingURL = st.TrackingURL
	} else if up.TrackingURL == "" && up.TrackNumber != "" && next != ShipCreated {
		// The carrier gives no page of its own: the shipping method's.
		var template string
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(sm.tracking_url, '') FROM orders o LEFT JOIN shipping_methods sm ON sm.id = o.shipping_method_id
			WHERE o.id = ?`, sh.OrderID).Scan(&template); err != nil {
			return err
		}
		up.TrackingURL = TrackingLink(template, up.TrackNumber)
	}
	if st.Cost > 0 {
		up.Cost, up.Currency = st.Cost, st.Currency
	}
	newCourier := st.CourierName != "" && sh.CourierName == ""
	if st.CourierName != "" {
		up.CourierName, up.CourierPhone = st.CourierName, st.CourierPhone
	}
	if st.CarrierStatus != "" {
		up.CarrierStatus = st.CarrierStatus
	}
	if next != ShipRegistering && next != ShipFailed {
		up.LastError = ""
	}
	claim := any(nil) // the carrier has it: no registration holds the row any more
	if up.CarrierOrderID == "" && sh.ClaimedUntil != nil {
		claim = *sh.ClaimedUntil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE shipments SET carrier_order_id = ?, track_number = ?, tracking_url = ?, status = ?, carrier_status = ?,
		cost = ?, currency = ?, courier_name = ?, courier_phone = ?, last_error = ?, claimed_until = ?, updated_at = ? WHERE id = ?`,
		up.CarrierOrderID, up.TrackNumber, up.TrackingURL, string(next), up.CarrierStatus, up.Cost, up.Currency, up.CourierName,
		up.CourierPhone, up.LastError, claim, now, sh.ID); err != nil {
		return err
	}
	for _, e := range st.History {
		if err := addShipmentEventTx(ctx, tx, t.ID, sh, e, now); err != nil {
			return err
		}
	}
	if out.Changed {
		note := CarrierLabel(sh.Carrier) + ": " + next.Label()
		if up.CarrierStatus != "" {
			note += " (" + up.CarrierStatus + ")"
		}
		if err := insertEvent(ctx, tx, t.ID, sh.OrderID, EventShipment, actor, string(sh.Status), string(next), note, now); err != nil {
			return err
		}
	}

	// What the news means for the order.
	var status OrderStatus
	if err := tx.QueryRowContext(ctx, `SELECT status FROM orders WHERE tenant_id = ? AND id = ?`, t.ID, sh.OrderID).Scan(&status); err != nil {
		return err
	}
	if newCourier {
		if err := queueOutboxTx(ctx, tx, t.ID, sh.OrderID, MsgCourierAssigned, map[string]string{
			"courier_name": up.CourierName, "courier_phone": up.CourierPhone, "tracking_url": up.TrackingURL}, now); err != nil {
			return err
		}
	}
	onTheWay := next == ShipInTransit || next == ShipDelivered || next == ShipProblem
	if onTheWay && up.TrackNumber != "" && (status == OrderConfirmed || status == OrderProcessing || status == OrderHolded) {
		if !status.CanTransitionTo(OrderShipped) {
			if out.Changed {
				return insertEvent(ctx, tx, t.ID, sh.OrderID, EventNote, SystemActor, "", "", CarrierLabel(sh.Carrier)+" has the parcel (track "+
					up.TrackNumber+"), but the order is "+status.Label(t.Language)+": it was not marked shipped.", now)
			}
			return nil
		}
		if err := s.transitionOrderTx(ctx, tx, t, sh.OrderID, OrderShipped, actor, TransitionInput{TrackingNumber: up.TrackNumber,
			TrackingCarrier: sh.Carrier, Note: "Handed to " + CarrierLabel(sh.Carrier) + ".", viaShipment: true}); err != nil {
			return err
		}
		status = OrderShipped
	}
	if next == ShipDelivered && status == OrderShipped {
		if err := s.transitionOrderTx(ctx, tx, t, sh.OrderID, OrderDelivered, actor, TransitionInput{Note: CarrierLabel(sh.Carrier) + " delivered it.",
			viaShipment: true}); err != nil {
			return err
		}
	}
	switch {
	case next == ShipProblem && out.Changed:
		what := CarrierLabel(sh.Carrier) + " reports a problem with the shipment (" + up.CarrierStatus + ")" + shipmentProblemNote
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET needs_attention = ?, updated_at = ? WHERE id = ?`, what, now, sh.OrderID); err != nil {
			return err
		}
	case next == ShipDelivered && out.Changed:
		return clearShipmentProblemTx(ctx, tx, sh.OrderID)
	}
	return nil
}

// shipmentProblemNote ends the order's needs-attention text of a carrier's
// problem, so that it is cleared when the problem is over and only then: a
// payment's review text stays.
const shipmentProblemNote = ": look at it with the carrier."

// clearShipmentProblemTx clears the order's needs-attention text when it is
// a carrier's problem: the parcel was delivered after all, or a new shipment
// replaces the one the carrier gave up.
func clearShipmentProblemTx(ctx context.Context, tx *sql.Tx, orderID int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE orders SET needs_attention = '' WHERE id = ? AND needs_attention LIKE ?`, orderID, "%"+shipmentProblemNote)
	return err
}

// addShipmentEventTx adds an entry of the carrier's history once: neither the
// same entry again (a carrier lists the whole history on every read) nor the
// status the shipment's latest entry already has (a carrier that tells only
// the current status tells it on every read).
func addShipmentEventTx(ctx context.Context, tx *sql.Tx, tenantID int64, sh *Shipment, e ShipmentEvent, now time.Time) error {
	var latest string
	err := tx.QueryRowContext(ctx, `SELECT carrier_status FROM shipment_events WHERE shipment_id = ? ORDER BY happened_at DESC, id DESC LIMIT 1`, sh.ID).Scan(&latest)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if latest == e.CarrierStatus {
		return nil
	}
	at := e.HappenedAt
	if at.IsZero() {
		at = now
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO shipment_events (tenant_id, shipment_id, order_id, status, carrier_status, description, happened_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (shipment_id, carrier_status, happened_at) DO NOTHING`,
		tenantID, sh.ID, sh.OrderID, string(e.Status), e.CarrierStatus, e.Description, at.UTC(), now)
	return err
}

// ---------------------------------------------------------------- subscriptions

// CarrierSubscribed reports whether the integration subscribed url at its
// carrier already.
func (s *Store) CarrierSubscribed(ctx context.Context, in *Integration, url string) (_ bool, err error) {
	defer wrapErr(&err, "carrier subscribed")
	var n int
	err = s.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM carrier_subscriptions WHERE tenant_id = ? AND integration_id = ? AND url = ?`,
		in.TenantID, in.ID, url).Scan(&n)
	return n > 0, err
}

// RecordCarrierSubscription keeps a subscription made at the carrier.
func (s *Store) RecordCarrierSubscription(ctx context.Context, in *Integration, url, remoteID string) (err error) {
	defer wrapErr(&err, "record carrier subscription")
	_, err = s.DB.W.ExecContext(ctx, `INSERT INTO carrier_subscriptions (integration_id, tenant_id, url, remote_id, created_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (integration_id, url) DO UPDATE SET remote_id = excluded.remote_id`, in.ID, in.TenantID, url, remoteID, s.now())
	return err
}

// ---------------------------------------------------------------- the order's side

// shipTx does what an order becoming shipped means for its shipment and its
// customer, inside the transition's transaction. A shipment made by hand (a
// manual carrier's track typed by staff) becomes the order's live shipment;
// a carrier's own registration in progress refuses it, since its track comes
// from the carrier. The customer is told with msg_shipped (the carrier, the
// track and its link), unless a courier message told them already.
func (s *Store) shipTx(ctx context.Context, tx *sql.Tx, t *Tenant, orderID int64, in TransitionInput, now time.Time) error {
	carrier := strings.ToLower(strings.TrimSpace(in.TrackingCarrier))
	var template, methodCarrier string
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(sm.tracking_url, ''), coalesce(sm.carrier, '') FROM orders o
		LEFT JOIN shipping_methods sm ON sm.id = o.shipping_method_id WHERE o.tenant_id = ? AND o.id = ?`, t.ID, orderID).Scan(&template, &methodCarrier); err != nil {
		return notFound(err)
	}
	if carrier == "" {
		carrier = methodCarrier
	}
	if carrier == "" {
		carrier = "manual"
	}
	link := TrackingLink(template, in.TrackingNumber)
	if !in.viaShipment {
		live, err := scanShipment(tx.QueryRowContext(ctx, `SELECT `+shipmentColumns+shipmentFrom+`WHERE sh.tenant_id = ? AND sh.order_id = ?
			AND sh.status <> 'cancelled'`, t.ID, orderID))
		switch {
		case errors.Is(err, ErrNotFound):
		case err != nil:
			return err
		case live.Status == ShipRegistering || live.Status == ShipCreated:
			return &ConflictError{Msg: "The order's " + CarrierLabel(live.Carrier) + " shipment is " + strings.ToLower(live.Status.Label()) +
				": it becomes shipped with the carrier's track when the carrier gives one."}
		case live.Status == ShipFailed:
			// Shipped another way after the carrier refused: the refused
			// registration is given up.
			if _, err := tx.ExecContext(ctx, `UPDATE shipments SET status = 'cancelled', updated_at = ? WHERE id = ?`, now, live.ID); err != nil {
				return err
			}
			err = ErrNotFound
		}
		if errors.Is(err, ErrNotFound) {
			if _, err := tx.ExecContext(ctx, `INSERT INTO shipments (tenant_id, order_id, carrier, track_number, tracking_url, status, created_by,
				created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'in_transit', 'manual', ?, ?)`, t.ID, orderID, carrier, in.TrackingNumber, link, now, now); err != nil {
				return err
			}
		}
	} else {
		var url string
		err := tx.QueryRowContext(ctx, `SELECT tracking_url FROM shipments WHERE order_id = ? AND status <> 'cancelled'`, orderID).Scan(&url)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if url != "" {
			link = url
		}
	}
	var told int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM outbox WHERE order_id = ? AND kind = ?`, orderID, MsgCourierAssigned).Scan(&told); err != nil {
		return err
	}
	if told > 0 {
		return nil
	}
	return queueOutboxTx(ctx, tx, t.ID, orderID, MsgShipped, map[string]string{"carrier": carrier, "track": in.TrackingNumber, "tracking_url": link}, now)
}

// deliverTx does what an order becoming delivered means: its shipment is
// delivered too, and the customer is told with msg_delivered.
func deliverTx(ctx context.Context, tx *sql.Tx, tenantID, orderID int64, now time.Time) error {
	if _, err := tx.ExecContext(ctx, `UPDATE shipments SET status = 'delivered', updated_at = ? WHERE order_id = ? AND status IN ('created', 'in_transit', 'problem')`,
		now, orderID); err != nil {
		return err
	}
	return queueOutboxTx(ctx, tx, tenantID, orderID, MsgDelivered, map[string]string{}, now)
}

// cancelShipmentsTx gives up an order's shipment that no carrier has taken
// (a refused or interrupted registration) when the order is cancelled.
func cancelShipmentsTx(ctx context.Context, tx *sql.Tx, orderID int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE shipments SET status = 'cancelled', claimed_until = NULL, updated_at = ? WHERE order_id = ? AND status IN ('failed', 'registering')`,
		now, orderID)
	return err
}
