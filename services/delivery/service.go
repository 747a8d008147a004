// Package delivery is the one place where an order's second leg is
// orchestrated with a carrier: register a shipment (CDEK, Dostavista), follow
// it (the fetch jobs), and apply what the carrier tells (CDEK's webhooks,
// re-read from CDEK; Dostavista's signed callbacks). Handlers, jobs and the
// CLI call it; it calls model (which records, and does what a shipment means
// for its order) and the carriers' clients in providers/.
//
// A registration records its intent before the carrier is called: a
// shipment row "registering" with our reference (the order number, CDEK's
// number/im_number and Dostavista's client_order_id) and a claim. A second
// click meets the claim; a retry, or the fetch job after a crash, looks the
// shipment up at the carrier by the reference before registering it again,
// so an order is never shipped twice.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"orderdesk/model"
	"orderdesk/providers/cdek"
	"orderdesk/providers/dostavista"
)

// Config is what the service needs of its deployment.
type Config struct {
	Store *model.Store
	Log   *slog.Logger
	// CallbackBaseURL is where carriers reach this server's webhooks.
	CallbackBaseURL string
	// HTTPClient is the client carrier calls go through (the instance's
	// egress policy); nil for each client's default.
	HTTPClient *http.Client
	// ClaimFor is how long a registration holds its shipment against a
	// second one (default 2 minutes): longer than a carrier's answer takes,
	// short enough that a registration stopped by a crash is taken up again.
	ClaimFor time.Duration
}

// Service orchestrates the delivery flows.
type Service struct {
	store *model.Store
	log   *slog.Logger
	cfg   Config

	mu   sync.Mutex
	cdek map[string]*cdek.Client // one per integration version: it keeps its OAuth token
}

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ClaimFor <= 0 {
		cfg.ClaimFor = 2 * time.Minute
	}
	return &Service{store: cfg.Store, log: cfg.Log, cfg: cfg, cdek: map[string]*cdek.Client{}}
}

// Reporter is what a background run reports into (jobs.Run).
type Reporter interface {
	Logf(format string, args ...any)
}

// carrier is what the flows need of one carrier's API, for one integration.
type carrier interface {
	// prepare readies the integration before its first registration
	// (CDEK's webhook subscription); a failure is logged, not fatal.
	prepare(ctx context.Context) error
	// register places the shipment of a claimed order.
	register(ctx context.Context, c *model.ShipmentClaim) (model.ShipmentState, error)
	// lookup finds a shipment at the carrier by our reference; found is
	// false when the carrier has none (or only a refused one).
	lookup(ctx context.Context, sh *model.Shipment) (st model.ShipmentState, found bool, err error)
	// state reads a registered shipment by the carrier's id.
	state(ctx context.Context, sh *model.Shipment) (model.ShipmentState, error)
	// explain says an error of this carrier in words for a shop assistant.
	explain(err error) string
}

// refusal is a shipment the flow refuses before calling the carrier (a
// missing sender address, a phone the carrier cannot take), in words.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// carrierFor returns the API of a carrier's integration at its current
// endpoint.
func (s *Service) carrierFor(ctx context.Context, in *model.Integration) (carrier, error) {
	sec, err := s.store.OpenIntegrationSecrets(ctx, in.TenantID, in.ID)
	if err != nil {
		return nil, fmt.Errorf("open the secrets of integration %d: %w", in.ID, err)
	}
	switch in.Provider {
	case model.ProviderCDEK:
		cfg := cdek.Config{BaseURL: in.Endpoint(), ClientID: sec.APIKey, ClientSecret: sec.APISecret, HTTPClient: s.cfg.HTTPClient}
		if err := cdek.Validate(cfg); err != nil {
			return nil, misconfigured(in, err.Error())
		}
		key := fmt.Sprintf("%d/%s/%d", in.ID, in.Status, in.UpdatedAt.UnixNano())
		s.mu.Lock()
		c, ok := s.cdek[key]
		if !ok {
			c = cdek.New(cfg)
			s.cdek[key] = c
		}
		s.mu.Unlock()
		return &cdekCarrier{svc: s, in: in, c: c}, nil
	case model.ProviderDostavista:
		cfg := dostavista.Config{BaseURL: in.Endpoint(), AuthToken: sec.APIKey, HTTPClient: s.cfg.HTTPClient}
		if err := dostavista.Validate(cfg); err != nil {
			return nil, misconfigured(in, err.Error())
		}
		return &dostavistaCarrier{c: dostavista.New(cfg), now: s.store.Now}, nil
	}
	return nil, fmt.Errorf("integration %d (%s) is not a carrier", in.ID, in.Provider)
}

func misconfigured(in *model.Integration, detail string) error {
	return &model.ConflictError{Msg: "The shop's " + model.CarrierLabel(carrierOf(in.Provider)) + " integration needs a correction (" +
		detail + "): see Integrations."}
}

func carrierOf(p model.ProviderType) string {
	if p == model.ProviderDostavista {
		return model.CarrierDostavista
	}
	return model.CarrierCDEK
}

// webhookURL is where the carrier of an integration sends its news.
func (s *Service) webhookURL(in *model.Integration) string {
	return strings.TrimSuffix(s.cfg.CallbackBaseURL, "/") + "/webhooks/" + string(in.Provider) + "/" + strconv.FormatInt(in.ID, 10)
}

// providerActor names the carrier as the actor of a change it reported.
func providerActor(carrier string) model.Actor { return model.Actor("carrier:" + carrier) }

// CreateShipment registers the order's shipment with the carrier of its
// shipping method, for "Create shipment" and "Retry" on the order page and
// the Ready to ship view. The intent is recorded first; a shipment whose
// earlier registration failed or stopped is looked up at the carrier by our
// reference before it is registered again. A carrier's refusal is recorded
// on the shipment in words and returned as a conflict with those words; a
// manual carrier is refused (staff type its track in the status form).
func (s *Service) CreateShipment(ctx context.Context, t *model.Tenant, orderID int64, actor model.Actor) (*model.Shipment, error) {
	// A registration, once begun, is finished and recorded even when the
	// person who asked closes the tab; the clients bound each call.
	ctx = context.WithoutCancel(ctx)
	o, err := s.store.FindOrderByID(ctx, t.ID, orderID)
	if err != nil {
		return nil, err
	}
	var method string
	if o.ShippingMethodID != 0 {
		m, err := s.store.FindShippingMethodByID(ctx, t.ID, o.ShippingMethodID)
		if err != nil && !errors.Is(err, model.ErrNotFound) {
			return nil, err
		}
		if m != nil {
			method = m.Carrier
		}
	}
	provider, ok := model.CarrierProvider(method)
	if !ok {
		return nil, &model.ConflictError{Msg: "Order " + o.Number + " goes by " + model.CarrierLabel(method) +
			", a carrier without an integration: hand the parcel over and enter its tracking number with the status Shipped."}
	}
	in, err := s.store.UsableIntegration(ctx, t.ID, provider)
	if errors.Is(err, model.ErrNotFound) {
		return nil, &model.ConflictError{Msg: "The shop has no " + model.CarrierLabel(method) + " integration in test or live mode: add one under Integrations."}
	} else if err != nil {
		return nil, err
	}
	api, err := s.carrierFor(ctx, in)
	if err != nil {
		return nil, err
	}
	claim, err := s.store.BeginShipment(ctx, t, orderID, in, actor, s.store.Now().Add(s.cfg.ClaimFor))
	if err != nil {
		return nil, err
	}
	return s.register(ctx, t, api, claim, actor)
}

// register does the carrier's part of a claimed registration.
func (s *Service) register(ctx context.Context, t *model.Tenant, api carrier, claim *model.ShipmentClaim, actor model.Actor) (*model.Shipment, error) {
	sh := claim.Shipment
	if claim.Resumed {
		st, found, err := api.lookup(ctx, sh)
		if err != nil {
			return s.refuse(ctx, t, sh, "It could not be checked whether "+model.CarrierLabel(sh.Carrier)+" has this shipment already: "+api.explain(err), actor)
		}
		if found {
			return s.apply(ctx, t, sh, st, actor)
		}
	}
	if err := api.prepare(ctx); err != nil {
		// The fetch job follows the shipment anyway; the webhooks only make
		// the news come sooner.
		s.log.Warn("carrier webhook subscription", "carrier", sh.Carrier, "tenant", t.Slug, "err", err)
	}
	st, err := api.register(ctx, claim)
	var r *refusal
	switch {
	case errors.As(err, &r):
		return s.refuse(ctx, t, sh, r.msg, actor)
	case err != nil:
		// Refused, or no answer: either way a retry looks the shipment up
		// by our reference before registering it again.
		s.log.Warn("carrier registration", "carrier", sh.Carrier, "tenant", t.Slug, "order", sh.OrderNumber, "err", err)
		return s.refuse(ctx, t, sh, api.explain(err), actor)
	}
	return s.apply(ctx, t, sh, st, actor)
}

// refuse records a failed registration and returns it as a conflict in the
// carrier's words.
func (s *Service) refuse(ctx context.Context, t *model.Tenant, sh *model.Shipment, why string, actor model.Actor) (*model.Shipment, error) {
	if err := s.store.RecordShipmentRefused(ctx, t, sh.ID, why, actor); err != nil {
		return nil, err
	}
	fresh, err := s.store.FindShipmentByID(ctx, t.ID, sh.ID)
	if err != nil {
		return nil, err
	}
	return fresh, &model.ConflictError{Msg: model.CarrierLabel(sh.Carrier) + " did not take the shipment of order " + sh.OrderNumber + ": " + why}
}

// apply records a carrier's state of a shipment; a refusal in it comes back
// as a conflict in the carrier's words.
func (s *Service) apply(ctx context.Context, t *model.Tenant, sh *model.Shipment, st model.ShipmentState, actor model.Actor) (*model.Shipment, error) {
	if st.Error != "" {
		return s.refuse(ctx, t, sh, st.Error, actor)
	}
	res, err := s.store.ApplyShipmentState(ctx, t, sh.ID, st, actor, nil)
	if err != nil {
		return nil, err
	}
	return res.Shipment, nil
}

// Refresh asks the carrier about a shipment and applies what it says: a
// registered one by the carrier's id; one whose registration stopped (its
// claim ran out) by our reference, failed when the carrier has none. A
// registration in progress, and a refused one, are left alone. A carrier
// that cannot be asked is a conflict in its words.
func (s *Service) Refresh(ctx context.Context, t *model.Tenant, sh *model.Shipment) (*model.Shipment, error) {
	if sh.Manual() || !sh.Status.Following() {
		return sh, nil
	}
	in, err := s.store.FindIntegrationByID(ctx, t.ID, sh.IntegrationID)
	if err != nil {
		return nil, err
	}
	api, err := s.carrierFor(ctx, in)
	if err != nil {
		return nil, err
	}
	actor := providerActor(sh.Carrier)
	if sh.CarrierOrderID == "" {
		if sh.ClaimedUntil != nil && sh.ClaimedUntil.After(s.store.Now()) {
			return sh, nil
		}
		st, found, err := api.lookup(ctx, sh)
		if err != nil {
			return nil, &model.ConflictError{Msg: model.CarrierLabel(sh.Carrier) + " could not be asked about " + sh.Reference + ": " + api.explain(err)}
		}
		if !found {
			fresh, err := s.refuse(ctx, t, sh, "The registration was interrupted before "+model.CarrierLabel(sh.Carrier)+" took it: press Retry.", actor)
			var conflict *model.ConflictError
			if errors.As(err, &conflict) {
				return fresh, nil
			}
			return fresh, err
		}
		return s.applyNews(ctx, t, sh, st, actor)
	}
	st, err := api.state(ctx, sh)
	if err != nil {
		return nil, &model.ConflictError{Msg: model.CarrierLabel(sh.Carrier) + " could not be asked about " + sh.Reference + ": " + api.explain(err)}
	}
	return s.applyNews(ctx, t, sh, st, actor)
}

// applyNews records news the shop asked for; a refusal in it is news, not an
// error of the caller.
func (s *Service) applyNews(ctx context.Context, t *model.Tenant, sh *model.Shipment, st model.ShipmentState, actor model.Actor) (*model.Shipment, error) {
	res, err := s.store.ApplyShipmentState(ctx, t, sh.ID, st, actor, nil)
	if err != nil {
		return nil, err
	}
	return res.Shipment, nil
}

// Follow is the fetch job of a carrier for one shop (seed 004's
// FetchCdekOrderInfo, FetchDostavistaOrderInfo): it asks the carrier about
// the shop's shipments still under way (waiting for a track or a courier, in
// transit, or a registration that stopped) and applies what it says. It
// returns how many it asked about and how many could not be asked.
func (s *Service) Follow(ctx context.Context, t *model.Tenant, carrierName string, run Reporter) (processed, failed int, err error) {
	list, err := s.store.FindShipmentsToFollow(ctx, t.ID, carrierName, 200)
	if err != nil {
		return 0, 0, err
	}
	for _, sh := range list {
		fresh, err := s.Refresh(ctx, t, sh)
		if err != nil {
			failed++
			run.Logf("%s: %v", sh.OrderNumber, err)
			continue
		}
		processed++
		if fresh.Status != sh.Status || fresh.TrackNumber != sh.TrackNumber {
			line := sh.OrderNumber + ": " + sh.Status.Label() + " → " + fresh.Status.Label()
			if fresh.TrackNumber != "" {
				line += ", track " + fresh.TrackNumber
			}
			if fresh.LastError != "" {
				line += ": " + fresh.LastError
			}
			run.Logf("%s", line)
		}
	}
	return processed, failed, nil
}

// BulkResult is the outcome of one order of a bulk "Create shipments".
type BulkResult struct {
	OrderID  int64
	Number   string
	Shipment *model.Shipment // nil when none was made
	Err      error           // why not, in words
}

// CreateShipments registers the shipments of several orders, one by one,
// each with its own outcome (the Ready to ship view's bulk action).
func (s *Service) CreateShipments(ctx context.Context, t *model.Tenant, orderIDs []int64, actor model.Actor) ([]BulkResult, error) {
	var out []BulkResult
	for _, id := range orderIDs {
		o, err := s.store.FindOrderByID(ctx, t.ID, id)
		if errors.Is(err, model.ErrNotFound) {
			continue // another shop's id, or a stale list: nothing of it is told
		} else if err != nil {
			return out, err
		}
		sh, err := s.CreateShipment(ctx, t, id, actor)
		var conflict *model.ConflictError
		var validation *model.ValidationError
		if err != nil && !errors.As(err, &conflict) && !errors.As(err, &validation) && !errors.Is(err, model.ErrConflict) {
			return out, err
		}
		out = append(out, BulkResult{OrderID: id, Number: o.Number, Shipment: sh, Err: err})
	}
	return out, nil
}
