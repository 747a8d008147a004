// Package integrations is the one place where a shop's integrations meet
// their providers: creating and changing one checks its settings with the
// provider's own rules (a 400 naming the field and the shape it expects),
// "Test connection" makes the provider's cheapest real call and keeps the
// answer in words, and going live happens only when a test of the live keys
// at the live endpoint passes. Every call goes through the instance's egress
// policy, so an admin cannot make the server probe internal addresses.
//
// Handlers (pages and API) call it; it calls model/ to record and
// providers/ to call. Errors are explained by the provider the integration
// is of (Explain), never guessed from the error's type.
package integrations

import (
	"context"
	"errors"
	"maps"
	"strings"
	"time"

	"orderdesk/model"
	"orderdesk/providers/egress"
)

// TestTimeout bounds a connection test: a person is waiting for the answer.
const TestTimeout = 15 * time.Second

// Service creates, changes, tests and takes live a shop's integrations.
type Service struct {
	store *model.Store
	net   network
	// sandboxes are the addresses of the built-in sandboxes besides
	// SandboxPath: never a live endpoint.
	sandboxes []string
}

// New returns the service. policy decides which addresses the tests may
// reach; its client is built once here and kept (it holds the connections).
// sandboxes are the built-in sandboxes' addresses that are not under
// SandboxPath (the e-mail sandbox's smtp://host:port), refused as live
// endpoints.
func New(store *model.Store, policy egress.Policy, sandboxes ...string) *Service {
	return &Service{store: store, net: network{client: policy.Client(TestTimeout), policy: policy}, sandboxes: sandboxes}
}

// Create adds an integration after checking its settings with the
// provider's rules. One created live is refused at once with a sandbox as
// its live endpoint or the demo's keys (LiveRefusal, by the fields); else it
// is tested at its live endpoint first and refused (*model.ConflictError, in the test's words) unless the test
// passes.
func (s *Service) Create(ctx context.Context, tenantID int64, actor *model.User, in model.IntegrationInput) (*model.Integration, error) {
	if actor != nil && !actor.Role.CanManageUsers() {
		return nil, model.ErrForbidden
	}
	next, verr := model.DraftIntegration(nil, in)
	keys := in.Keys(model.IntegrationSecrets{})
	if err := s.validate(next, keys, verr); err != nil {
		return nil, err
	}
	if next.Status == model.IntegrationActive {
		if bad := s.LiveRefusal(next.Provider, next.APIEndpoint, keys); bad != nil {
			return nil, &model.ValidationError{Fields: bad}
		}
		res := s.run(ctx, next, keys, next.APIEndpoint)
		if !res.OK {
			return nil, notLive(next, res)
		}
		in.Tested = &res
	}
	return s.store.CreateIntegration(ctx, tenantID, actor, in)
}

// Update changes an integration (seed 001 step 3: {"status": "active",
// "api_key": …, "api_secret": …}). The settings it would have are checked
// with the provider's rules. A change that makes it live, or that gives a
// live integration other keys, another live endpoint or other settings, is
// refused by the fields with a sandbox as the live endpoint or the demo's
// keys (LiveRefusal); else it runs the connection test with those settings at the live endpoint first
// and is saved only when the test passes: otherwise nothing changes and the
// answer is a *model.ConflictError in the test's words. The passing test is
// saved as the integration's last test, in the same write, and only if the
// integration did not change meanwhile.
func (s *Service) Update(ctx context.Context, tenantID int64, actor *model.User, id int64, in model.IntegrationInput) (*model.Integration, error) {
	if actor != nil && !actor.Role.CanManageUsers() {
		return nil, model.ErrForbidden
	}
	cur, err := s.store.FindIntegrationByID(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	next, verr := model.DraftIntegration(cur, in)
	stored, err := s.store.OpenIntegrationSecrets(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	keys := in.Keys(stored)
	if err := s.validate(next, keys, verr); err != nil {
		return nil, err
	}
	if needsLiveTest(cur, next, in) {
		if bad := s.LiveRefusal(next.Provider, next.APIEndpoint, keys); bad != nil {
			return nil, &model.ValidationError{Fields: bad}
		}
		res := s.run(ctx, next, keys, next.APIEndpoint)
		if !res.OK {
			return nil, notLive(next, res)
		}
		in.Tested, in.UnchangedSince = &res, &cur.UpdatedAt
	}
	return s.store.UpdateIntegration(ctx, tenantID, actor, id, in)
}

// needsLiveTest reports whether a change leaves the integration live with
// settings that were not live before: going live, or new keys, live
// endpoint or config while live.
func needsLiveTest(cur, next *model.Integration, in model.IntegrationInput) bool {
	if next.Status != model.IntegrationActive {
		return false
	}
	newKeys := in.Keys(model.IntegrationSecrets{}) != model.IntegrationSecrets{}
	return cur.Status != model.IntegrationActive || newKeys || next.APIEndpoint != cur.APIEndpoint ||
		(in.Config != nil && !maps.Equal(in.Config, cur.Config))
}

func notLive(i *model.Integration, res model.IntegrationTestResult) error {
	return &model.ConflictError{Msg: "Not live: the test of the live keys at " + i.APIEndpoint + " did not pass. " + res.Message}
}

// Test makes the provider's cheapest authenticated call at the
// integration's current endpoint and records what came back, in words. An
// endpoint the egress policy refuses, or settings the provider's rules
// refuse, are recorded as a failed test without any request.
func (s *Service) Test(ctx context.Context, tenantID, id int64) (*model.Integration, error) {
	i, err := s.store.FindIntegrationByID(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	res := model.IntegrationTestResult{Message: "The integration is disabled: enable it in test or live mode first."}
	if i.Status != model.IntegrationDisabled {
		keys, err := s.store.OpenIntegrationSecrets(ctx, tenantID, id)
		if err != nil {
			return nil, err
		}
		res = s.run(ctx, i, keys, i.Endpoint())
	}
	if err := s.store.RecordIntegrationTest(ctx, tenantID, id, res.OK, res.Message); err != nil {
		return nil, err
	}
	return s.store.FindIntegrationByID(ctx, tenantID, id)
}

// run tests settings at one endpoint: the policy first, then the provider's
// rules, then the provider's call.
func (s *Service) run(ctx context.Context, i *model.Integration, keys model.IntegrationSecrets, endpoint string) model.IntegrationTestResult {
	ad, ok := adapterFor(i.Provider)
	if !ok {
		return model.IntegrationTestResult{Message: errNoAdapter(i.Provider).Error()}
	}
	if err := s.net.policy.CheckURL(endpoint); err != nil {
		return model.IntegrationTestResult{Message: "Not tested: " + err.Error()}
	}
	st := settings{provider: i.Provider, endpoint: endpoint, key: keys.APIKey, secret: keys.APISecret, config: i.Config}
	if pr := ad.check(st); pr != nil {
		return model.IntegrationTestResult{Message: "Not tested: the " + label(i.Provider) + " settings need a correction: " + pr.field + " " + pr.text + "."}
	}
	ctx, cancel := context.WithTimeout(ctx, TestTimeout)
	defer cancel()
	msg, err := ad.test(ctx, st, s.net)
	if err != nil {
		return model.IntegrationTestResult{Message: Explain(i.Provider, err)}
	}
	return model.IntegrationTestResult{OK: true, Message: msg}
}

// validate checks the settings an integration would have with the
// provider's own rules and the egress policy, at each of its endpoints,
// adding the problems to v (the shared rules' errors, nil when none): the
// answer is one *model.ValidationError naming every field, or nil.
func (s *Service) validate(i *model.Integration, keys model.IntegrationSecrets, v *model.ValidationError) error {
	if v == nil {
		v = &model.ValidationError{}
	}
	ad, ok := adapterFor(i.Provider)
	if !ok {
		return v.OrNil() // the shared rules already asked for a provider
	}
	st := settings{provider: i.Provider, key: keys.APIKey, secret: keys.APISecret, config: i.Config}
	checked := false
	for _, ep := range []struct{ field, url string }{{"test_endpoint", i.TestEndpoint}, {"api_endpoint", i.APIEndpoint}} {
		if _, bad := v.Fields[ep.field]; bad || ep.url == "" {
			continue
		}
		if err := s.net.policy.CheckURL(ep.url); err != nil {
			v.Add(ep.field, err.Error())
			continue
		}
		st.endpoint, checked = ep.url, true
		if pr := ad.check(st); pr != nil {
			v.Add(strings.Replace(pr.field, "endpoint", ep.field, 1), pr.text)
		}
	}
	if !checked {
		// No usable endpoint (a disabled integration may have none yet, or
		// they were refused above): the keys are still checked, against an
		// endpoint of the reserved .invalid domain that is never called.
		st.endpoint = "https://endpoint.invalid"
		if i.Provider == model.ProviderSMTP {
			st.endpoint = "smtp://endpoint.invalid:587"
		}
		if pr := ad.check(st); pr != nil && pr.field != "endpoint" {
			v.Add(pr.field, pr.text)
		}
	}
	return v.OrNil()
}

// Ready reports whether customers may be sent through an integration now:
// in test or live mode, and its settings at its current endpoint pass the
// provider's rules and the egress policy. It makes no call. Otherwise the
// error is a *model.ConflictError in words for the customer (see
// Misconfigured); the checkout offers only ready integrations.
func (s *Service) Ready(ctx context.Context, i *model.Integration) error {
	if !i.Usable() {
		return &model.ConflictError{Msg: "The shop does not take " + label(i.Provider) + " payments at the moment."}
	}
	ad, ok := adapterFor(i.Provider)
	if !ok {
		return Misconfigured(i)
	}
	keys, err := s.store.OpenIntegrationSecrets(ctx, i.TenantID, i.ID)
	if err != nil {
		return err
	}
	if err := s.net.policy.CheckURL(i.Endpoint()); err != nil {
		return Misconfigured(i)
	}
	st := settings{provider: i.Provider, endpoint: i.Endpoint(), key: keys.APIKey, secret: keys.APISecret, config: i.Config}
	if pr := ad.check(st); pr != nil {
		return Misconfigured(i)
	}
	return nil
}

// Misconfigured is the answer to a customer when an integration's settings
// cannot be used (gateway.New refused them, say): a *model.ConflictError
// (409) in words, never a 500. The details are for the shop's staff, who see
// them with "Test connection", not for the customer.
func Misconfigured(i *model.Integration) error {
	return &model.ConflictError{Msg: "The shop cannot take " + label(i.Provider) +
		" payments right now: its settings for " + label(i.Provider) + " need a correction. Choose another way to pay, or contact the shop."}
}

// Explain says in words what went wrong in a call to an integration of
// provider p, in that provider's words: the caller knows which provider it
// called. A refusal by the egress policy is explained as such.
func Explain(p model.ProviderType, err error) string {
	if err == nil {
		return ""
	}
	var refused *egress.Error
	if errors.As(err, &refused) {
		return "Not called: " + refused.Error()
	}
	ad, ok := adapterFor(p)
	if !ok {
		return errNoAdapter(p).Error()
	}
	return ad.explain(p, err)
}

// label is the provider's name for people.
func label(p model.ProviderType) string {
	if info, ok := p.Info(); ok {
		return info.Label
	}
	return string(p)
}
