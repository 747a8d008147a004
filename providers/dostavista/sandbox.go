package dostavista

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"orderdesk/providers/internal/sandboxkit"
	"orderdesk/providers/internal/wire"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
	"orderdesk/providers/internal/sandboxdb"
)

// Demo credentials the sandbox accepts when SandboxConfig leaves them empty.
const (
	DemoAuthToken      = "dv-sandbox-token-0123456789abcdef"
	DemoCallbackSecret = "dv-sandbox-callback-secret"
)

// apiPrefix is where the API lives under the sandbox's root, as on the real
// hosts ("/api/business/1.5").
const apiPrefix = "/api/business/1.5"

// firstOrderID makes sandbox order ids look like real ones (seven digits).
const firstOrderID = 1250000

// Sandbox prices, in kopecks. [U] Dostavista's tariffs are not public in
// machine-readable form; these make estimates deterministic for tests.
const (
	basePrice          = 39000 // two points, on foot
	extraPointPrice    = 10000 // each point after the second
	freeWeightKg       = 15
	pricePerExtraKg    = 2000
	insuranceFeePerMil = 5 // 0.5 % of the declared value
)

// msk is Moscow time: the API writes its datetimes with +03:00.
var msk = time.FixedZone("MSK", 3*60*60)

// SandboxConfig configures NewSandbox.
type SandboxConfig struct {
	// AuthToken is the API token the sandbox accepts (default DemoAuthToken).
	AuthToken string
	// CallbackSecret signs callbacks (default DemoCallbackSecret).
	CallbackSecret string
	// CallbackURL is where callbacks go, like the URL in the cabinet's API
	// settings; it is stored, so it survives a restart. Empty keeps the
	// stored one.
	CallbackURL string
	// BaseURL is where the sandbox is mounted, e.g.
	// "http://localhost:8080/sandbox/dostavista".
	BaseURL string
	// HTTPClient delivers callbacks (default: 10 s timeout).
	HTTPClient *http.Client
	// Now is the sandbox clock (default time.Now).
	Now func() time.Time
}

// Sandbox plays Dostavista: the business API 1.5, the callbacks and a control
// page, with its state in SQLite tables named dostavista_*. It is an
// http.Handler meant to be mounted with http.StripPrefix.
type Sandbox struct {
	sandboxkit.Board // SetBaseURL, BaseURL, SetLatency, Latency

	// outbox is the table of callbacks, for resends and the control page.
	outbox *sandboxkit.Outbox

	db  *sql.DB
	cfg SandboxConfig
	mux *http.ServeMux

	// writeMu serialises state changes so that a status check and its update
	// cannot interleave with another request's. It is never held while a
	// callback is delivered: the merchant may call the API back from its
	// callback handler.
	writeMu sync.Mutex

	failNext            sandboxkit.Once[bool]
	insufficientBalance sandboxkit.Once[bool]
}

// SandboxSwitches is the state of the failure switches.
type SandboxSwitches struct {
	FailNext                bool
	InsufficientBalanceNext bool
	Latency                 time.Duration
}

// SandboxCallback is one callback the sandbox sent or tried to send.
type SandboxCallback struct {
	ID            int64
	OrderID       int64
	EventType     string
	URL           string
	Body          string
	Signature     string
	Attempts      int
	Delivered     bool
	LastError     string
	CreatedAt     time.Time
	LastAttemptAt time.Time
}

const schema = `
CREATE TABLE IF NOT EXISTS dostavista_orders (
	order_id   INTEGER PRIMARY KEY,
	status     TEXT NOT NULL,
	body       TEXT NOT NULL, -- the order as the API shows it (JSON)
	created_at TEXT NOT NULL,
	updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS dostavista_callbacks (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	order_id        INTEGER NOT NULL,
	event_type      TEXT    NOT NULL,
	url             TEXT    NOT NULL,
	body            TEXT    NOT NULL,
	signature       TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	delivered       INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT    NOT NULL DEFAULT '',
	created_at      TEXT    NOT NULL,
	last_attempt_at TEXT    NOT NULL DEFAULT ''
);
-- ResendCallbacks scans the undelivered ones in order.
CREATE INDEX IF NOT EXISTS dostavista_callbacks_pending ON dostavista_callbacks (delivered, id);
-- ResendCallback and the control page look up an order's callbacks.
CREATE INDEX IF NOT EXISTS dostavista_callbacks_order ON dostavista_callbacks (order_id, id);
CREATE TABLE IF NOT EXISTS dostavista_settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`

// NewSandbox creates the sandbox's tables in db (if missing) and returns it.
func NewSandbox(db *sql.DB, cfg SandboxConfig) (*Sandbox, error) {
	if cfg.AuthToken == "" {
		cfg.AuthToken = DemoAuthToken
	}
	if cfg.CallbackSecret == "" {
		cfg.CallbackSecret = DemoCallbackSecret
	}
	sandboxkit.Defaults(&cfg.HTTPClient, &cfg.Now)
	if _, err := db.Exec(schema); err != nil {
		return nil, fmt.Errorf("dostavista sandbox: create tables: %w", err)
	}
	s := &Sandbox{db: db, cfg: cfg}
	s.SetBaseURL(cfg.BaseURL)
	s.outbox = &sandboxkit.Outbox{DB: db, Table: "dostavista_callbacks", Key: "order_id"}
	if cfg.CallbackURL != "" {
		if err := s.SetCallbackURL(cfg.CallbackURL); err != nil {
			return nil, err
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc(apiPrefix+"/", s.api)
	mux.HandleFunc("GET /track/{id}", s.trackPage)
	mux.HandleFunc("GET /{$}", s.controlPage)
	mux.HandleFunc("POST /_control", sandboxkit.ControlHandler(s.control))
	s.mux = mux
	return s, nil
}

// ServeHTTP serves the API and the control page.
func (s *Sandbox) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// APIURL returns the BaseURL a client should use for this sandbox.
func (s *Sandbox) APIURL() string { return s.BaseURL() + apiPrefix }

// SetCallbackURL sets (and stores) where callbacks go; "" turns them off.
func (s *Sandbox) SetCallbackURL(u string) error {
	_, err := s.db.Exec(`INSERT INTO dostavista_settings (key, value) VALUES ('callback_url', ?)
		ON CONFLICT (key) DO UPDATE SET value = excluded.value`, strings.TrimSpace(u))
	return err
}

// CallbackURL returns where callbacks go.
func (s *Sandbox) CallbackURL() string {
	var u string
	_ = s.db.QueryRow(`SELECT value FROM dostavista_settings WHERE key = 'callback_url'`).Scan(&u)
	return u
}

// FailNext makes the next API call fail with HTTP 500 and unexpected_error.
func (s *Sandbox) FailNext() { s.failNext.Arm(true) }

// InsufficientBalanceNext makes the next create-order fail with
// insufficient_balance, as when the account's balance cannot pay.
func (s *Sandbox) InsufficientBalanceNext() { s.insufficientBalance.Arm(true) }

// Switches returns the current state of the failure switches.
func (s *Sandbox) Switches() SandboxSwitches {
	return SandboxSwitches{FailNext: s.failNext.Armed(), InsufficientBalanceNext: s.insufficientBalance.Armed(), Latency: s.Latency()}
}

func (s *Sandbox) now() time.Time { return s.cfg.Now().In(msk).Truncate(time.Second) }

// ---------------------------------------------------------------- the API

// apiError is an error answer: HTTP status, error codes, parameter_errors.
type apiError struct {
	status int
	codes  []string
	params map[string]any
}

func errCode(status int, codes ...string) *apiError { return &apiError{status: status, codes: codes} }

func errParams(params map[string]any) *apiError {
	return &apiError{status: http.StatusBadRequest, codes: []string{CodeInvalidParameters}, params: params}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	httpbody.WriteJSON(w, status, "application/json; charset=utf-8", v)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	body := map[string]any{"is_successful": false, "errors": e.codes}
	if e.params != nil {
		body["parameter_errors"] = e.params
	} else {
		body["parameter_errors"] = nil
	}
	writeJSON(w, e.status, body)
}

// api routes every call under /api/business/1.5/ itself, so that a wrong
// method or an unknown method name gets the API's own error shape.
func (s *Sandbox) api(w http.ResponseWriter, r *http.Request) {
	if !s.Wait(r) {
		return
	}
	if s.failNext.Take() {
		writeErr(w, errCode(http.StatusInternalServerError, CodeUnexpectedError))
		return
	}
	tok := r.Header.Get(AuthHeader)
	if tok == "" {
		writeErr(w, errCode(http.StatusBadRequest, CodeRequiredAuthToken))
		return
	}
	if tok != s.cfg.AuthToken {
		writeErr(w, errCode(http.StatusBadRequest, CodeInvalidAuthToken))
		return
	}
	method := strings.TrimPrefix(r.URL.Path, apiPrefix+"/")
	post := map[string]func(context.Context, map[string]any) (any, *apiError){
		"calculate-order": s.apiCalculate,
		"create-order":    s.apiCreate,
		"cancel-order":    s.apiCancel,
	}
	if h, ok := post[method]; ok {
		if r.Method != http.MethodPost {
			writeErr(w, errCode(http.StatusBadRequest, CodeRequiredMethodPost))
			return
		}
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		dec.UseNumber()
		var p map[string]any
		if err := dec.Decode(&p); err != nil || p == nil {
			writeErr(w, errCode(http.StatusBadRequest, CodeInvalidPostJSON))
			return
		}
		out, aerr := h(r.Context(), p)
		if aerr != nil {
			writeErr(w, aerr)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	if method == "orders" {
		if r.Method != http.MethodGet {
			writeErr(w, errCode(http.StatusBadRequest, CodeRequiredMethodGet))
			return
		}
		out, aerr := s.apiOrders(r)
		if aerr != nil {
			writeErr(w, aerr)
			return
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	writeErr(w, errCode(http.StatusNotFound, CodeInvalidAPIMethod))
}

// sbPoint and sbRequest are a validated request.
type sbPoint struct {
	wirePoint
	start, finish time.Time
}

type sbRequest struct {
	typ, matter, paymentMethod   string
	vehicle, weight              int
	insurance                    int64
	notifyClient, notifyContacts bool
	points                       []sbPoint
}

// validate reads a calculate/create body the way the API does: codes for
// every bad field, mirroring the request's shape. For calculate-order a
// missing phone is only a warning, as in the API's documented example.
func (s *Sandbox) validate(p map[string]any, create bool) (*sbRequest, map[string]any, map[string]any) {
	errs := map[string]any{}
	warns := map[string]any{}
	req := &sbRequest{typ: TypeStandard, paymentMethod: PaymentCash, vehicle: 6}
	if v, ok := p["type"]; ok && v != nil {
		t, _ := v.(string)
		if t != TypeStandard && t != TypeSameDay {
			errs["type"] = []string{"invalid_enum_value"}
		} else {
			req.typ = t
		}
	}
	if v, ok := p["matter"].(string); ok {
		req.matter = v
		if len([]rune(v)) > 5000 {
			errs["matter"] = []string{"max_length"}
		}
	}
	if create && strings.TrimSpace(req.matter) == "" {
		errs["matter"] = []string{"required"}
	}
	if v, ok := p["vehicle_type_id"]; ok && v != nil {
		n, err := strconv.Atoi(fmt.Sprint(v))
		if err != nil || n < 1 || n > 7 {
			errs["vehicle_type_id"] = []string{"invalid_vehicle_type"}
		} else {
			req.vehicle = n
		}
	}
	if v, ok := p["total_weight_kg"]; ok && v != nil {
		n, err := strconv.Atoi(fmt.Sprint(v))
		switch {
		case err != nil:
			errs["total_weight_kg"] = []string{"invalid_integer"}
		case n < 0:
			errs["total_weight_kg"] = []string{"min_value"}
		default:
			req.weight = n
		}
	}
	if m, ok, bad := moneyParam(p, "insurance_amount"); bad {
		errs["insurance_amount"] = []string{"invalid_float"}
	} else if ok {
		req.insurance = m
	}
	if v, ok := p["payment_method"]; ok && v != nil {
		pm, _ := v.(string)
		if pm != PaymentCash && pm != PaymentBalance && pm != PaymentBankCard {
			errs["payment_method"] = []string{"invalid_enum_value"}
		} else {
			req.paymentMethod = pm
		}
	}
	req.notifyClient, _ = p["is_client_notification_enabled"].(bool)
	req.notifyContacts, _ = p["is_contact_person_notification_enabled"].(bool)

	rawPoints, _ := p["points"].([]any)
	if len(rawPoints) < 2 {
		if len(rawPoints) == 0 && p["points"] == nil {
			errs["points"] = []string{"required"}
		} else {
			errs["points"] = []string{"min_size"}
		}
		return req, errs, warns
	}
	now := s.now()
	pointErrs := make([]any, len(rawPoints))
	pointWarns := make([]any, len(rawPoints))
	anyPointErr, anyPointWarn := false, false
	var prevFinish time.Time
	for i, rp := range rawPoints {
		m, ok := rp.(map[string]any)
		if !ok {
			pointErrs[i] = []string{"invalid_point"}
			anyPointErr = true
			continue
		}
		pe := map[string]any{}
		pw := map[string]any{}
		var pt sbPoint
		addr, _ := m["address"].(string)
		switch {
		case strings.TrimSpace(addr) == "":
			pe["address"] = []string{"required"}
		case len([]rune(addr)) > 350:
			pe["address"] = []string{"max_length"}
		case len([]rune(strings.TrimSpace(addr))) < 5:
			// [U] the real service geocodes the address; the sandbox calls
			// anything this short unknown.
			pe["address"] = []string{"address_not_found"}
		}
		pt.Address = addr
		cp, _ := m["contact_person"].(map[string]any)
		phone, _ := cp["phone"].(string)
		if strings.TrimSpace(phone) == "" {
			if create {
				pe["contact_person"] = map[string]any{"phone": []string{"required"}}
			} else {
				pw["contact_person"] = map[string]any{"phone": []string{"required"}}
			}
		} else if norm, err := NormalizePhone(phone); err != nil {
			pe["contact_person"] = map[string]any{"phone": []string{"invalid_phone"}}
		} else {
			pt.ContactPerson.Phone = norm
		}
		if name, ok := cp["name"].(string); ok && name != "" {
			pt.ContactPerson.Name = &name
		}
		if v, ok := m["client_order_id"].(string); ok && v != "" {
			if len([]rune(v)) > 32 {
				pe["client_order_id"] = []string{"max_length"}
			}
			pt.ClientOrderID = &v
		}
		if v, ok := m["note"].(string); ok && v != "" {
			pt.Note = &v
		}
		for _, k := range []string{"apartment_number", "entrance_number", "floor_number"} {
			if v, ok := m[k].(string); ok && v != "" {
				switch k {
				case "apartment_number":
					pt.ApartmentNumber = &v
				case "entrance_number":
					pt.EntranceNumber = &v
				default:
					pt.FloorNumber = &v
				}
			}
		}
		for _, k := range []string{"taking_amount", "buyout_amount"} {
			v, ok, bad := moneyParam(m, k)
			if bad || v < 0 {
				pe[k] = []string{"invalid_float"}
				continue
			}
			if ok {
				mv := wire.MoneyString(v)
				if k == "taking_amount" {
					pt.TakingAmount = &mv
				} else {
					pt.BuyoutAmount = &mv
				}
			}
		}
		pt.start, pt.finish = timeParam(m, "required_start_datetime", pe), timeParam(m, "required_finish_datetime", pe)
		if !pt.start.IsZero() && !pt.finish.IsZero() && pt.start.After(pt.finish) {
			pe["required_start_datetime"] = []string{"start_after_end"}
		}
		if !pt.finish.IsZero() && pt.finish.Before(now) {
			pe["required_finish_datetime"] = []string{"cannot_be_past"}
		}
		if !pt.finish.IsZero() && !prevFinish.IsZero() && pt.finish.Before(prevFinish) {
			pe["required_finish_datetime"] = []string{"earlier_than_previous_point"}
		}
		if !pt.finish.IsZero() {
			prevFinish = pt.finish
		}
		if len(pe) > 0 {
			pointErrs[i] = pe
			anyPointErr = true
		}
		if len(pw) > 0 {
			pointWarns[i] = pw
			anyPointWarn = true
		}
		req.points = append(req.points, pt)
	}
	if anyPointErr {
		errs["points"] = pointErrs
	}
	if anyPointWarn {
		warns["points"] = pointWarns
	}
	return req, errs, warns
}

// moneyParam reads a money field: ok when present, bad when unreadable.
func moneyParam(m map[string]any, key string) (v int64, ok, bad bool) {
	raw, has := m[key]
	if !has || raw == nil {
		return 0, false, false
	}
	var s string
	switch x := raw.(type) {
	case string:
		s = x
	case json.Number:
		s = x.String()
	default:
		return 0, false, true
	}
	v, err := ParseMoney(s)
	if err != nil {
		return 0, false, true
	}
	return v, true, false
}

func timeParam(m map[string]any, key string, pe map[string]any) time.Time {
	raw, has := m[key]
	if !has || raw == nil {
		return time.Time{}
	}
	s, _ := raw.(string)
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		pe[key] = []string{"invalid_date_format"}
		return time.Time{}
	}
	return t
}

// price computes the sandbox's deterministic estimate.
func price(req *sbRequest) (delivery, weight, insurance int64) {
	delivery = basePrice
	if n := len(req.points); n > 2 {
		delivery += int64(n-2) * extraPointPrice
	}
	if req.weight > freeWeightKg {
		weight = int64(req.weight-freeWeightKg) * pricePerExtraKg
	}
	insurance = (req.insurance*insuranceFeePerMil + 500) / 1000
	return
}

// build renders a validated request as the API's order object.
func (s *Sandbox) build(req *sbRequest, orderID int64) *wireOrder {
	now := s.now()
	delivery, weight, insFee := price(req)
	o := &wireOrder{
		OrderID:                     optInt(orderID),
		Type:                        req.typ,
		VehicleTypeID:               req.vehicle,
		CreatedDatetime:             now.Format(time.RFC3339),
		Matter:                      strPtr(req.matter),
		TotalWeightKg:               req.weight,
		IsClientNotificationEnabled: req.notifyClient,
		IsContactNotificationEnab:   req.notifyContacts,
		PaymentAmount:               wire.MoneyString(delivery + weight + insFee),
		DeliveryFeeAmount:           wire.MoneyString(delivery),
		WeightFeeAmount:             wire.MoneyString(weight),
		InsuranceAmount:             wire.MoneyString(req.insurance),
		InsuranceFeeAmount:          wire.MoneyString(insFee),
		PaymentMethod:               req.paymentMethod,
	}
	if orderID != 0 {
		name := strconv.FormatInt(orderID%100000, 10)
		o.OrderName = &name
		st := StatusNew
		o.Status = &st
		o.StatusDescription = &st
	}
	for i, pt := range req.points {
		wp := pt.wirePoint
		// Default windows: the courier comes in 30 minutes, then one hour per
		// drop, as in the API's documented example.
		start, finish := pt.start, pt.finish
		if start.IsZero() {
			start = now.Add(time.Duration(30+60*i) * time.Minute)
		}
		if finish.IsZero() {
			finish = start.Add(30 * time.Minute)
		}
		wp.RequiredStartDatetime = timePtr(start.In(msk))
		wp.RequiredFinishDatetime = timePtr(finish.In(msk))
		wp.EstimatedArrivalDatetime = timePtr(start.In(msk))
		zero := wire.MoneyString(0)
		if wp.TakingAmount == nil {
			wp.TakingAmount = &zero
		}
		if wp.BuyoutAmount == nil {
			wp.BuyoutAmount = &zero
		}
		if orderID != 0 {
			wp.PointID = optInt(orderID*100 + int64(i) + 1)
			// Each point has a page where its recipient follows the courier.
			u := s.BaseURL() + "/track/" + strconv.FormatInt(orderID, 10) + "?point=" + strconv.Itoa(i+1)
			wp.TrackingURL = &u
		}
		o.Points = append(o.Points, wp)
	}
	return o
}

func (s *Sandbox) apiCalculate(ctx context.Context, p map[string]any) (any, *apiError) {
	req, errs, warns := s.validate(p, false)
	if len(errs) > 0 {
		return nil, errParams(errs)
	}
	out := map[string]any{
		"is_successful":      true,
		"order":              s.build(req, 0),
		"warnings":           []string{},
		"parameter_warnings": nil,
	}
	if len(warns) > 0 {
		out["warnings"] = []string{CodeInvalidParameters}
		out["parameter_warnings"] = warns
	}
	return out, nil
}

func (s *Sandbox) apiCreate(ctx context.Context, p map[string]any) (any, *apiError) {
	req, errs, _ := s.validate(p, true)
	if len(errs) > 0 {
		return nil, errParams(errs)
	}
	if s.insufficientBalance.Take() {
		return nil, errCode(http.StatusBadRequest, CodeInsufficientBalance)
	}
	s.writeMu.Lock()
	var id int64
	err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(order_id), ?) + 1 FROM dostavista_orders`, firstOrderID).Scan(&id)
	var o *wireOrder
	var cbID int64
	if err == nil {
		o = s.build(req, id)
		cbID, err = s.store(ctx, o, EventOrderCreated, true)
	}
	s.writeMu.Unlock()
	if err != nil {
		return nil, errCode(http.StatusInternalServerError, CodeUnexpectedError)
	}
	s.deliverQuiet(cbID)
	return map[string]any{"is_successful": true, "order": o}, nil
}

func (s *Sandbox) apiCancel(ctx context.Context, p map[string]any) (any, *apiError) {
	id, err := strconv.ParseInt(fmt.Sprint(p["order_id"]), 10, 64)
	if p["order_id"] == nil || err != nil {
		return nil, errParams(map[string]any{"order_id": []string{"required"}})
	}
	var cbID int64
	o, aerr := s.change(ctx, id, func(o *wireOrder) (string, *apiError) {
		switch deref(o.Status) {
		case StatusNew, StatusAvailable, StatusDelayed, StatusReactivated, StatusDraft:
			return StatusCanceled, nil
		}
		// The API refuses once the courier visited a point; the sandbox's
		// courier picks the parcel up as the order becomes active.
		return "", errCode(http.StatusBadRequest, CodeOrderCannotBeCanceled)
	}, &cbID)
	if aerr != nil {
		return nil, aerr
	}
	s.deliverQuiet(cbID)
	return map[string]any{"is_successful": true, "order": o}, nil
}

func (s *Sandbox) apiOrders(r *http.Request) (any, *apiError) {
	q := r.URL.Query()
	where := []string{"1 = 1"}
	var args []any
	if ids := q["order_id"]; len(ids) > 0 {
		var ph []string
		for _, v := range ids {
			for _, part := range strings.Split(v, ",") {
				n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
				if err != nil {
					return nil, errParams(map[string]any{"order_id": []string{"invalid_integer"}})
				}
				ph = append(ph, "?")
				args = append(args, n)
			}
		}
		where = append(where, "order_id IN ("+strings.Join(ph, ",")+")")
	}
	if st := q.Get("status"); st != "" {
		where = append(where, "status = ?")
		args = append(args, st)
	}
	count, offset := 10, 0
	if v := q.Get("count"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, errParams(map[string]any{"count": []string{"invalid_integer"}})
		}
		if n < 1 || n > 50 {
			return nil, errParams(map[string]any{"count": []string{"max_value"}})
		}
		count = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, errParams(map[string]any{"offset": []string{"invalid_integer"}})
		}
		offset = n
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(r.Context(), `SELECT COUNT(*) FROM dostavista_orders WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, errCode(http.StatusInternalServerError, CodeUnexpectedError)
	}
	rows, err := s.db.QueryContext(r.Context(), `SELECT body FROM dostavista_orders WHERE `+cond+` ORDER BY order_id DESC LIMIT ? OFFSET ?`,
		append(args, count, offset)...)
	bodies, err := sandboxdb.Collect(rows, err, sandboxdb.Column[string])
	if err != nil {
		return nil, errCode(http.StatusInternalServerError, CodeUnexpectedError)
	}
	orders := make([]json.RawMessage, 0, len(bodies)) // [] rather than null when empty
	for _, b := range bodies {
		orders = append(orders, json.RawMessage(b))
	}
	return map[string]any{"is_successful": true, "orders": orders, "next_page_id": nil, "orders_count": total}, nil
}

// ---------------------------------------------------------------- state

func (s *Sandbox) load(ctx context.Context, id int64) (*wireOrder, error) {
	var body string
	err := s.db.QueryRowContext(ctx, `SELECT body FROM dostavista_orders WHERE order_id = ?`, id).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var o wireOrder
	if err := json.Unmarshal([]byte(body), &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// store writes o (inserting it when insert) and queues its callback, in one
// transaction; the caller holds writeMu. It returns the callback id, 0 when
// no callback URL is set.
func (s *Sandbox) store(ctx context.Context, o *wireOrder, event string, insert bool) (_ int64, err error) {
	body, err := json.Marshal(o)
	if err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer sandboxdb.Rollback(tx, &err)
	now := s.now().Format(time.RFC3339Nano)
	if insert {
		_, err = tx.ExecContext(ctx, `INSERT INTO dostavista_orders (order_id, status, body, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			int64(o.OrderID), deref(o.Status), string(body), now, now)
	} else {
		_, err = tx.ExecContext(ctx, `UPDATE dostavista_orders SET status = ?, body = ?, updated_at = ? WHERE order_id = ?`,
			deref(o.Status), string(body), now, int64(o.OrderID))
	}
	if err != nil {
		return 0, err
	}
	cbID, err := s.queueCallback(ctx, tx, o, event)
	if err != nil {
		return 0, err
	}
	return cbID, tx.Commit()
}

// change applies decide's new status to an order under writeMu and queues
// the order_changed callback; *cbID receives its id.
func (s *Sandbox) change(ctx context.Context, id int64, decide func(*wireOrder) (string, *apiError), cbID *int64) (*wireOrder, *apiError) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	o, err := s.load(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, errParams(map[string]any{"order_id": []string{"invalid_order"}})
	}
	if err != nil {
		return nil, errCode(http.StatusInternalServerError, CodeUnexpectedError)
	}
	status, aerr := decide(o)
	if aerr != nil {
		return nil, aerr
	}
	s.apply(o, status)
	n, err := s.store(ctx, o, EventOrderChanged, false)
	if err != nil {
		return nil, errCode(http.StatusInternalServerError, CodeUnexpectedError)
	}
	*cbID = n
	return o, nil
}

// apply sets a status and what comes with it: a courier once the order is
// active (who picks the parcel up at the first point at once), visit times
// and the finish time when it completes.
func (s *Sandbox) apply(o *wireOrder, status string) {
	now := s.now()
	st := status
	o.Status = &st
	o.StatusDescription = &st
	switch status {
	case StatusActive:
		mid := "Сергеевич"
		o.Courier = &wireCourier{CourierID: 70001, Surname: "Иванов", Name: "Пётр", Middlename: &mid,
			Phone: "79990000001", Latitude: "55.7558260", Longitude: "37.6172999"}
		if len(o.Points) > 0 && o.Points[0].CourierVisitDatetime == nil {
			o.Points[0].CourierVisitDatetime = timePtr(now)
		}
	case StatusCompleted:
		for i := range o.Points {
			if o.Points[i].CourierVisitDatetime == nil {
				o.Points[i].CourierVisitDatetime = timePtr(now)
			}
		}
		o.FinishDatetime = timePtr(now)
	case StatusCanceled:
		o.FinishDatetime = timePtr(now)
	}
}

// nextStatus is the sandbox's happy path for AdvanceOrder.
var nextStatus = map[string]string{
	StatusNew:         StatusAvailable,
	StatusAvailable:   StatusActive,
	StatusReactivated: StatusActive,
	StatusDelayed:     StatusAvailable,
	StatusActive:      StatusCompleted,
}

// AdvanceOrder moves an order one step along new → available → active →
// completed, sends the order_changed callback and returns the new status.
func (s *Sandbox) AdvanceOrder(ctx context.Context, orderID int64) (string, error) {
	return s.advance(ctx, orderID, true)
}

// AdvanceOrderLost moves an order one step like AdvanceOrder, but its
// callback is lost on the way: it stays undelivered (with the reason), as
// when the shop's server was unreachable, until "Retry undelivered
// callbacks". The shop learns the status only by asking (its fetch job).
func (s *Sandbox) AdvanceOrderLost(ctx context.Context, orderID int64) (string, error) {
	return s.advance(ctx, orderID, false)
}

// FailOrder cancels an order on Dostavista's side (no courier could take
// it) and sends the order_changed callback.
func (s *Sandbox) FailOrder(ctx context.Context, orderID int64) error {
	return s.SetOrderStatus(ctx, orderID, StatusCanceled)
}

func (s *Sandbox) advance(ctx context.Context, orderID int64, deliver bool) (string, error) {
	var cbID int64
	var next string
	_, aerr := s.change(ctx, orderID, func(o *wireOrder) (string, *apiError) {
		n, ok := nextStatus[deref(o.Status)]
		if !ok {
			return "", errCode(http.StatusConflict, "final_status")
		}
		next = n
		return n, nil
	}, &cbID)
	if aerr != nil {
		return "", sandboxErr(orderID, aerr)
	}
	if !deliver {
		if cbID == 0 {
			return next, nil
		}
		_, err := s.db.ExecContext(ctx, `UPDATE dostavista_callbacks SET attempts = attempts + 1, last_error = ?, last_attempt_at = ? WHERE id = ?`,
			"lost on the way (sandbox switch)", s.now().Format(time.RFC3339Nano), cbID)
		return next, err
	}
	return next, s.deliver(ctx, cbID)
}

// SetOrderStatus sets any status on an order (delayed, reactivated,
// canceled by Dostavista…) and sends the order_changed callback.
func (s *Sandbox) SetOrderStatus(ctx context.Context, orderID int64, status string) error {
	var cbID int64
	_, aerr := s.change(ctx, orderID, func(*wireOrder) (string, *apiError) { return status, nil }, &cbID)
	if aerr != nil {
		return sandboxErr(orderID, aerr)
	}
	return s.deliver(ctx, cbID)
}

func sandboxErr(id int64, e *apiError) error {
	if len(e.codes) > 0 && e.codes[0] == CodeInvalidParameters {
		return fmt.Errorf("dostavista sandbox: order %d: %w", id, ErrNotFound)
	}
	return fmt.Errorf("dostavista sandbox: order %d: %s", id, strings.Join(e.codes, ", "))
}

// Order returns the sandbox's record of an order, as the API shows it.
func (s *Sandbox) Order(orderID int64) (*Order, error) {
	o, err := s.load(context.Background(), orderID)
	if err != nil {
		return nil, err
	}
	return o.order(), nil
}

// Orders returns the latest orders, newest first.
func (s *Sandbox) Orders(limit int) ([]*Order, error) {
	rows, err := s.db.Query(`SELECT body FROM dostavista_orders ORDER BY order_id DESC LIMIT ?`, limit)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (*Order, error) {
		var body string
		if err := r.Scan(&body); err != nil {
			return nil, err
		}
		var o wireOrder
		if err := json.Unmarshal([]byte(body), &o); err != nil {
			return nil, err
		}
		return o.order(), nil
	})
}

// ---------------------------------------------------------------- callbacks

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// queueCallback stores the signed callback body for o; it is fixed now so
// that a resend is byte-for-byte the same.
func (s *Sandbox) queueCallback(ctx context.Context, ex execer, o *wireOrder, event string) (int64, error) {
	u := s.CallbackURL()
	if u == "" {
		return 0, nil
	}
	body, err := json.Marshal(map[string]any{
		"event_datetime": s.now().Format(time.RFC3339),
		"event_type":     event,
		"order":          o,
	})
	if err != nil {
		return 0, err
	}
	res, err := ex.ExecContext(ctx, `INSERT INTO dostavista_callbacks (order_id, event_type, url, body, signature, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		int64(o.OrderID), event, u, string(body), Sign(s.cfg.CallbackSecret, body), s.now().Format(time.RFC3339Nano))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// deliverQuiet delivers a callback and ignores the outcome (it is recorded;
// ResendCallbacks retries).
func (s *Sandbox) deliverQuiet(id int64) {
	if id != 0 {
		_ = s.deliver(context.Background(), id)
	}
}

// deliver POSTs one stored callback and records the attempt.
func (s *Sandbox) deliver(ctx context.Context, id int64) error {
	if id == 0 {
		return nil
	}
	var u, body, sig string
	if err := s.db.QueryRowContext(ctx, `SELECT url, body, signature FROM dostavista_callbacks WHERE id = ?`, id).Scan(&u, &body, &sig); err != nil {
		return err
	}
	derr := s.post(ctx, u, []byte(body), sig)
	msg := ""
	if derr != nil {
		msg = derr.Error()
	}
	_, err := s.db.ExecContext(ctx, `UPDATE dostavista_callbacks SET attempts = attempts + 1, delivered = ?, last_error = ?, last_attempt_at = ? WHERE id = ?`,
		derr == nil, msg, s.now().Format(time.RFC3339Nano), id)
	if derr != nil {
		return derr
	}
	return err
}

func (s *Sandbox) post(ctx context.Context, u string, body []byte, sig string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SignatureHeader, sig)
	resp, err := s.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	b, err := httpbody.ReadAndClose(resp, 1024)
	if err != nil {
		return fmt.Errorf("read the merchant's answer: %w", err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("merchant answered HTTP %d %q", resp.StatusCode, wire.Snippet(b))
	}
	return nil
}

// ResendCallbacks retries every callback the merchant has not acknowledged
// yet, oldest first, and returns how many got through and the first
// failure (each is also recorded on its row).
func (s *Sandbox) ResendCallbacks(ctx context.Context) (int, error) {
	return s.outbox.ResendPending(ctx, s.deliver)
}

// ResendCallback sends an order's latest callback again, byte for byte (the
// duplicate a real service sends when an answer got lost).
func (s *Sandbox) ResendCallback(ctx context.Context, orderID int64) error {
	id, err := s.outbox.Latest(ctx, orderID)
	if errors.Is(err, sandboxkit.ErrNoNotification) {
		return fmt.Errorf("dostavista sandbox: order %d has no callbacks: %w", orderID, ErrNotFound)
	}
	if err != nil {
		return err
	}
	return s.deliver(ctx, id)
}

// SendCallback sends a correctly signed order_changed callback claiming
// status for the order, without changing the sandbox's state: for tests of
// stale or out-of-order callbacks.
func (s *Sandbox) SendCallback(ctx context.Context, orderID int64, status string) error {
	o, err := s.load(ctx, orderID)
	if err != nil {
		return err
	}
	s.apply(o, status)
	s.writeMu.Lock()
	id, err := s.queueCallback(ctx, s.db, o, EventOrderChanged)
	s.writeMu.Unlock()
	if err != nil {
		return err
	}
	if id == 0 {
		return errors.New("dostavista sandbox: no callback URL is set")
	}
	return s.deliver(ctx, id)
}

// Callbacks returns the callbacks of an order, oldest first.
func (s *Sandbox) Callbacks(orderID int64) ([]SandboxCallback, error) {
	rows, err := s.db.Query(`SELECT id, order_id, event_type, url, body, signature, attempts, delivered, last_error, created_at, last_attempt_at
		FROM dostavista_callbacks WHERE order_id = ? ORDER BY id`, orderID)
	return sandboxdb.Collect(rows, err, func(r sandboxdb.Scanner) (SandboxCallback, error) {
		var c SandboxCallback
		var created, last string
		if err := r.Scan(&c.ID, &c.OrderID, &c.EventType, &c.URL, &c.Body, &c.Signature, &c.Attempts, &c.Delivered, &c.LastError, &created, &last); err != nil {
			return SandboxCallback{}, err
		}
		c.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
		c.LastAttemptAt, _ = time.Parse(time.RFC3339Nano, last)
		return c, nil
	})
}

// ---------------------------------------------------------------- control page

type controlView struct {
	APIURL      string
	CallbackURL string
	Secret      string
	Switches    SandboxSwitches
	Orders      []controlRow
	Statuses    []string
	Error       string
}

type controlRow struct {
	*Order
	Sent, Pending int
	Final         bool
}

func (s *Sandbox) controlPage(w http.ResponseWriter, r *http.Request) {
	v := controlView{
		APIURL: s.APIURL(), CallbackURL: s.CallbackURL(), Secret: s.cfg.CallbackSecret, Switches: s.Switches(),
		Statuses: []string{StatusNew, StatusAvailable, StatusActive, StatusCompleted, StatusDelayed, StatusReactivated, StatusCanceled},
	}
	orders, err := s.Orders(100)
	if err != nil {
		v.Error = err.Error()
	}
	for _, o := range orders {
		row := controlRow{Order: o, Final: IsFinal(o.Status)}
		if row.Sent, row.Pending, err = s.outbox.Tally(r.Context(), o.OrderID); err != nil {
			v.Error = err.Error()
		}
		v.Orders = append(v.Orders, row)
	}
	sandboxkit.Render(w, http.StatusOK, controlTmpl, v)
}

// control applies one switch or helper from the control page; what a helper
// fails to send is recorded on its row, which the page shows.
func (s *Sandbox) control(r *http.Request) error {
	ctx := r.Context()
	id, _ := strconv.ParseInt(r.FormValue("order_id"), 10, 64)
	switch r.FormValue("action") {
	case "fail_next":
		s.FailNext()
	case "insufficient_balance":
		s.InsufficientBalanceNext()
	case "clear":
		s.failNext.Arm(false)
		s.insufficientBalance.Arm(false)
	case "latency":
		return sandboxkit.SetLatency(r.FormValue("ms"), s.SetLatency)
	case "callback_url":
		return s.SetCallbackURL(r.FormValue("url"))
	case "advance":
		_, _ = s.AdvanceOrder(ctx, id)
	case "advance_lost":
		_, _ = s.AdvanceOrderLost(ctx, id)
	case "fail":
		_ = s.FailOrder(ctx, id)
	case "set_status":
		_ = s.SetOrderStatus(ctx, id, r.FormValue("status"))
	case "resend":
		_ = s.ResendCallback(ctx, id)
	case "resend_pending":
		_, _ = s.ResendCallbacks(ctx)
	default:
		return sandboxkit.ErrUnknownAction
	}
	return nil
}

var controlTmpl = sandboxkit.Page("control", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dostavista sandbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}form{display:inline}</style></head>
<body data-testid="sandbox-dostavista-control">
<h1>Dostavista sandbox</h1>
<p>API: <code>{{.APIURL}}</code>, header <code>X-DV-Auth-Token</code>. Callbacks are signed with <code>X-DV-Signature</code> (secret <code>{{.Secret}}</code>).</p>
{{if .Error}}<p>{{.Error}}</p>{{end}}
<h2>Settings and switches</h2>
<p><form method="post" action="_control"><input type="hidden" name="action" value="callback_url">
Callback URL <input name="url" size="60" value="{{.CallbackURL}}"> <button data-testid="sandbox-callback-url">Save</button></form></p>
<p><form method="post" action="_control"><input type="hidden" name="action" value="fail_next">
<button data-testid="sandbox-fail-next">Fail next API call{{if .Switches.FailNext}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="insufficient_balance">
<button data-testid="sandbox-insufficient-balance">Insufficient balance on next order{{if .Switches.InsufficientBalanceNext}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="clear"><button>Clear switches</button></form></p>
<p>{{template "latency-form" .Switches.Latency}}</p>
<p>{{template "resend-pending" "Retry undelivered callbacks"}}</p>
<h2>Orders</h2>
<table data-testid="sandbox-orders">
<tr><th>order_id</th><th>Matter</th><th>Route</th><th>Price</th><th>Status</th><th>Callbacks sent / pending</th><th></th></tr>
{{range .Orders}}
<tr data-testid="sandbox-order-row">
<td>{{.OrderID}}</td><td>{{.Matter}}</td>
<td>{{range $i, $p := .Points}}{{if $i}} → {{end}}{{$p.Address}}{{if $p.ClientOrderID}} ({{$p.ClientOrderID}}){{end}}{{end}}</td>
<td>{{money .PaymentAmount}} ₽</td><td data-testid="sandbox-order-status">{{.Status}}</td><td>{{.Sent}} / {{.Pending}}</td>
<td>
{{if not .Final}}<form method="post" action="_control"><input type="hidden" name="action" value="advance"><input type="hidden" name="order_id" value="{{.OrderID}}"><button data-testid="sandbox-advance">Next status</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail"><input type="hidden" name="order_id" value="{{.OrderID}}"><button data-testid="sandbox-fail">Fail (cancelled by Dostavista)</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="advance_lost"><input type="hidden" name="order_id" value="{{.OrderID}}"><button data-testid="sandbox-advance-lost">Next status, callback lost</button></form>{{end}}
<form method="post" action="_control"><input type="hidden" name="action" value="set_status"><input type="hidden" name="order_id" value="{{.OrderID}}">
<select name="status">{{range $.Statuses}}<option>{{.}}</option>{{end}}</select><button>Set</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="resend"><input type="hidden" name="order_id" value="{{.OrderID}}"><button>Resend last callback</button></form>
</td></tr>
{{end}}
</table>
</body></html>`, template.FuncMap{"money": FormatMoney})

// trackPage is the page a point's tracking_url opens: where the order is,
// as Dostavista shows a recipient (the courier's first name, no phone).
func (s *Sandbox) trackPage(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var o *Order
	if err == nil {
		o, err = s.Order(id)
	}
	if err != nil {
		http.Error(w, "No such delivery.", http.StatusNotFound)
		return
	}
	sandboxkit.Render(w, http.StatusOK, trackTmpl, o)
}

var trackTmpl = sandboxkit.Page("track", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Dostavista delivery {{.OrderID}}</title></head>
<body data-testid="sandbox-dostavista-track"><h1>Delivery {{.OrderID}}</h1>
<p>Status: <strong data-testid="sandbox-track-status">{{.Status}}</strong></p>
{{if .Courier}}<p>Courier: {{.Courier.Name}}</p>{{end}}
</body></html>`, nil)
