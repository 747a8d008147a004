// Package procurement is the one place where buying through OT Platform's
// autobuy (seed 002) is orchestrated: an order of ours is added to OT on
// behalf of the shop's buyer account (AddOrder), paid there by the simulated
// payment (PostTransaction, then SalesPaymentReserve), and exported to
// Taobao as an OT background activity that we follow, answer and cancel;
// OT's news of each line (the Taobao order, the waybill, the statuses) is
// recorded on our order lines like a direct Taobao purchase's. Handlers,
// jobs and the CLI call it; it calls model (which records) and
// providers/otapi (which talks to OT). Direct Taobao purchases stay in
// jobs/procurement.go.
//
// Intent is recorded before each call that makes something at OT: an OT
// order row "adding" with the comment that carries our order number before
// AddOrder, "paying" before the simulated payment, an activity row
// "starting" before an activity is started. A rerun after a crash asks OT
// first (the order by its comment, what is paid of it), so an order of ours
// never becomes two OT orders and is never paid twice.
package procurement

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"orderdesk/model"
	"orderdesk/providers/otapi"
	"orderdesk/services/integrations"
)

// Config is what the service needs of its deployment.
type Config struct {
	Store *model.Store
	Log   *slog.Logger
	// HTTPClient is the client OT calls go through (the instance's egress
	// policy); nil for the client's default.
	HTTPClient *http.Client
	// ShopURL is a shop's own address, where OT sends the operator back
	// after a provider authorisation.
	ShopURL func(*model.Tenant) string
	// ClaimFor is how long a run holds an order's OT work against another
	// (default 2 minutes): longer than OT's answers take, short enough that
	// work a crash stopped is taken up again.
	ClaimFor time.Duration
	// Concurrency is how many orders a push works at once (default 4).
	Concurrency int
	// AfterAdd runs after OT answered AddOrder and before the answer is
	// recorded; tests use it to kill the process there.
	AfterAdd func(x *model.OTOrder, salesID string)
}

// Service orchestrates the OT flows.
type Service struct {
	store *model.Store
	log   *slog.Logger
	cfg   Config

	// ops keeps an operator session per integration version, so that runs
	// and pages (an activity's card asks every 2 s) do not sign in for every
	// call; one OT says expired is dropped and opened again.
	mu  sync.Mutex
	ops map[string]string
}

// New makes the service.
func New(cfg Config) *Service {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.ClaimFor <= 0 {
		cfg.ClaimFor = 2 * time.Minute
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	return &Service{store: cfg.Store, log: cfg.Log, cfg: cfg, ops: map[string]string{}}
}

// ErrNoOT means the shop cannot buy through OT: no OT integration in test
// or live mode.
var ErrNoOT = &model.ConflictError{Msg: "The shop has no OT Platform integration in test or live mode: add one under Integrations."}

// Report is what a run did: a line per order, counted.
type Report struct {
	mu                sync.Mutex
	Processed, Failed int
	Lines             []string
}

func (r *Report) add(ok bool, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ok {
		r.Processed++
	} else {
		r.Failed++
	}
	r.Lines = append(r.Lines, fmt.Sprintf(format, args...))
}

func (r *Report) note(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Lines = append(r.Lines, fmt.Sprintf(format, args...))
}

// conn is one shop's connection to OT for a run: the client of its
// integration, its settings, and the sessions opened on the way.
type conn struct {
	s   *Service
	t   *model.Tenant
	in  *model.Integration
	c   *otapi.Client
	set model.ProcurementSettings

	mu          sync.Mutex
	op, buyer   string
	opKey       string // the integration version whose operator session op is
	provider    string // the provider session exports run with, once chosen
	providerErr error
}

// connect opens the shop's connection to OT (no call is made yet).
func (s *Service) connect(ctx context.Context, t *model.Tenant) (*conn, error) {
	in, err := s.store.UsableIntegration(ctx, t.ID, model.ProviderOTAPI)
	if errors.Is(err, model.ErrNotFound) {
		return nil, ErrNoOT
	} else if err != nil {
		return nil, err
	}
	sec, err := s.store.OpenIntegrationSecrets(ctx, t.ID, in.ID)
	if err != nil {
		return nil, err
	}
	cfg, err := integrations.OTAPIConfig(in.Endpoint(), sec.APIKey, sec.APISecret, in.Config, s.cfg.HTTPClient)
	if err != nil {
		return nil, &model.ConflictError{Msg: err.Error() + " (Integrations)."}
	}
	cfg.Now = s.store.Now
	set, err := s.store.FindProcurementSettings(ctx, t.ID)
	if err != nil {
		return nil, err
	}
	key := fmt.Sprintf("%d/%s/%d", in.ID, in.Status, in.UpdatedAt.UnixNano())
	s.mu.Lock()
	op := s.ops[key]
	s.mu.Unlock()
	return &conn{s: s, t: t, in: in, c: otapi.New(cfg), set: set, op: op, opKey: key}, nil
}

// keepOperator remembers the connection's operator session for the next
// connection to the same integration ("" forgets it).
func (c *conn) keepOperator(session string) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if session == "" {
		delete(c.s.ops, c.opKey)
		return
	}
	c.s.ops[c.opKey] = session
}

// isExpired reports whether OT says the session a call used has ended.
func isExpired(err error) bool {
	var e *otapi.Error
	return errors.As(err, &e) && e.Code == otapi.CodeSessionExpired
}

// asOperator runs fn with an operator session, signing in again once when
// OT says the session expired.
func (c *conn) asOperator(ctx context.Context, fn func(session string) error) error {
	for try := 0; ; try++ {
		c.mu.Lock()
		sess := c.op
		c.mu.Unlock()
		if sess == "" {
			var err error
			if sess, err = c.c.AuthenticateInstanceOperator(ctx); err != nil {
				return err
			}
			c.mu.Lock()
			c.op = sess
			c.mu.Unlock()
			c.keepOperator(sess)
		}
		err := fn(sess)
		if !isExpired(err) || try > 0 {
			return err
		}
		c.mu.Lock()
		if c.op == sess {
			c.op = ""
		}
		c.mu.Unlock()
		c.keepOperator("")
	}
}

// asBuyer runs fn with the buyer's session (AddOrder and CancelSalesOrder
// act on the buyer's behalf), signing in again once when it expired.
func (c *conn) asBuyer(ctx context.Context, fn func(session string) error) error {
	if missing := c.set.OTMissing(); len(missing) > 0 {
		return &model.ConflictError{Msg: "The OT settings lack " + strings.Join(missing, ", ") + ": see Settings → Procurement."}
	}
	for try := 0; ; try++ {
		c.mu.Lock()
		sess := c.buyer
		c.mu.Unlock()
		if sess == "" {
			password, err := c.s.store.OpenOTBuyerPassword(ctx, c.t.ID)
			if err != nil {
				return err
			}
			if sess, err = c.c.Authenticate(ctx, c.set.OTBuyerLogin, password, false); err != nil {
				return err
			}
			c.mu.Lock()
			c.buyer = sess
			c.mu.Unlock()
		}
		err := fn(sess)
		if !isExpired(err) || try > 0 {
			return err
		}
		c.mu.Lock()
		if c.buyer == sess {
			c.buyer = ""
		}
		c.mu.Unlock()
	}
}

// explain says an error of the OT flow in words for a shop assistant.
func explain(err error) string {
	var ce *model.ConflictError
	if errors.As(err, &ce) {
		return ce.Msg
	}
	var oe *otapi.Error
	if errors.As(err, &oe) || errors.Is(err, context.DeadlineExceeded) {
		return otapi.Explain(err)
	}
	var ne interface{ Timeout() bool }
	if errors.As(err, &ne) {
		return otapi.Explain(err)
	}
	return err.Error()
}

// temporary reports whether the same call may succeed later unchanged (the
// next run retries it without a person).
func temporary(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var oe *otapi.Error
	if errors.As(err, &oe) {
		return oe.Temporary() || oe.Code == otapi.CodeSessionExpired
	}
	var ce *model.ConflictError
	if errors.As(err, &ce) {
		return false
	}
	// A network failure: OT did not answer.
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne)
}
