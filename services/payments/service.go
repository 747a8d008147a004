// Package payments is the one place where a payment flow that spans the store
// and a payment provider is orchestrated: start a payment (closing the order's
// other open payments at their providers first), apply a provider's
// notification, ask a provider for a payment's state, refund, expire unpaid
// orders and poll open payments. Handlers, jobs and the CLI call it; it calls
// model (which records) and providers/gateway (which talks to the provider).
//
// Money moves only after its intent is recorded: a payment row before the
// provider's create call, a refund reservation before the provider's refund
// call (with the reservation's number as the idempotency key). A crash between
// the provider's answer and our commit leaves a row that the next run settles
// by asking the provider, never a second charge or refund.
package payments

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"orderdesk/model"
	"orderdesk/providers/gateway"
)

// Config is what the service needs of its deployment.
type Config struct {
	Store *model.Store
	Log   *slog.Logger
	// CallbackBaseURL is where providers reach this server's webhooks.
	CallbackBaseURL string
	// ShopURL is a shop's public address (the instance's base URL with the
	// shop's subdomain): return URLs given to providers are built from it,
	// never from a request's Host header.
	ShopURL func(t *model.Tenant) string
	// HTTPClient is the client provider calls go through (the instance's
	// egress policy); nil for each provider's default.
	HTTPClient *http.Client
}

// Service orchestrates the payment flows.
type Service struct {
	store *model.Store
	log   *slog.Logger
	cfg   Config

	mu       sync.Mutex
	gateways map[string]gateway.Gateway // one per integration version
	// orders makes the pay-again clicks of one order take turns (PayAgain).
	orders orderLocks
}

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Service{store: cfg.Store, log: cfg.Log, cfg: cfg, gateways: map[string]gateway.Gateway{}}
}

// MisconfiguredError says that an integration's settings do not let a payment
// be made; it is a conflict (409). Its words are for the customer, who sees
// them; what exactly is wrong (Detail) is for the shop's staff, who see it
// with "Test connection" and in the log.
type MisconfiguredError struct {
	Provider model.ProviderType
	Detail   string
}

func (e *MisconfiguredError) Error() string {
	return "The shop cannot take " + providerLabel(e.Provider) + " payments right now: its settings for them need a correction. Choose another way to pay, or contact the shop."
}

// Unwrap makes it a conflict.
func (e *MisconfiguredError) Unwrap() error { return model.ErrConflict }

func providerLabel(p model.ProviderType) string {
	if info, ok := p.Info(); ok {
		return info.Label
	}
	return string(p)
}

// gatewayFor returns the gateway of an integration at its current endpoint. A
// gateway keeps state worth keeping (Yandex Pay's signing keys), so one is kept
// per integration version.
func (s *Service) gatewayFor(ctx context.Context, in *model.Integration) (gateway.Gateway, error) {
	key := fmt.Sprintf("%d/%s/%d", in.ID, in.Status, in.UpdatedAt.UnixNano())
	s.mu.Lock()
	g, ok := s.gateways[key]
	s.mu.Unlock()
	if ok {
		return g, nil
	}
	sec, err := s.store.OpenIntegrationSecrets(ctx, in.TenantID, in.ID)
	if err != nil {
		return nil, fmt.Errorf("open the secrets of integration %d: %w", in.ID, err)
	}
	g, err = gateway.New(gateway.Config{Provider: string(in.Provider), Endpoint: in.Endpoint(), APIKey: sec.APIKey,
		APISecret: sec.APISecret, Settings: in.Config, HTTPClient: s.cfg.HTTPClient})
	if err != nil {
		s.log.Warn("payment integration misconfigured", "integration", in.ID, "provider", in.Provider, "err", gateway.Explain(err))
		return nil, &MisconfiguredError{Provider: in.Provider, Detail: gateway.Explain(err)}
	}
	s.mu.Lock()
	s.gateways[key] = g
	s.mu.Unlock()
	return g, nil
}

// Usable reports whether an integration can take payments in the shop's
// currency with its settings as they are: the checkout offers only these.
func (s *Service) Usable(ctx context.Context, t *model.Tenant, in *model.Integration) bool {
	if !in.Usable() || !in.Provider.IsPayment() || !gateway.Accepts(string(in.Provider), t.Currency) {
		return false
	}
	_, err := s.gatewayFor(ctx, in)
	return err == nil
}

// webhookURL is where the provider of an integration sends its notifications.
func (s *Service) webhookURL(in *model.Integration) string {
	return strings.TrimSuffix(s.cfg.CallbackBaseURL, "/") + "/webhooks/" + string(in.Provider) + "/" + strconv.FormatInt(in.ID, 10)
}

// shopURL is the shop's public address, from the configuration only.
func (s *Service) shopURL(t *model.Tenant) string {
	if s.cfg.ShopURL == nil {
		return ""
	}
	return strings.TrimSuffix(s.cfg.ShopURL(t), "/")
}

// record keeps an event of a call we made; an event that cannot be written is
// an error of the flow (the record is how a person follows the money).
func (s *Service) record(ctx context.Context, p *model.Payment, kind, body, result string) error {
	if _, err := s.store.RecordPaymentEvent(ctx, model.PaymentEvent{TenantID: p.TenantID, PaymentID: p.ID, IntegrationID: p.IntegrationID,
		Direction: "out", Kind: kind, Body: body, Verified: true, Result: result}); err != nil {
		return fmt.Errorf("record the %s call of %s: %w", kind, p.Number, err)
	}
	return nil
}

// providerActor names the provider as the actor of a change it reported.
func providerActor(p model.ProviderType) model.Actor { return model.Actor("provider:" + string(p)) }
