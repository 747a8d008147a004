// Command orderdesk is the back office of a small cross-border shop: one binary on
// one SQLite file. `orderdesk` (or `orderdesk serve`) serves it; the other
// subcommands run the same code once from the shell.
package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"orderdesk/handlers"
	"orderdesk/jobs"
	"orderdesk/model"
	"orderdesk/providers/egress"
	"orderdesk/services/delivery"
	"orderdesk/services/messaging"
	"orderdesk/services/payments"
	"orderdesk/services/procurement"
)

// config is the process configuration: environment first, flags override.
type config struct {
	Addr, Data, BaseURL, SecretKey, DemoPassword, DefaultTenant string
	TrackRate                                                   float64
	SMTPSandbox                                                 string
	Sandboxes                                                   bool
	AllowPrivateEndpoints                                       bool
	// BackupKeep is how many daily backups the backup job keeps, as typed
	// (checked by backupKeep).
	BackupKeep string
	// envErrs collects the environment's values that do not parse, by flag
	// name (see setup.parse); nil drops them (tests that build a config).
	envErrs map[string]error
	// MetricsAddr is the address of the metrics' own listener; "" serves
	// them only at /metrics to a signed-in owner.
	MetricsAddr string
	// Pprof is the loopback address of the profiler (net/http/pprof); ""
	// serves none.
	Pprof string
}

// backupKeep is how many backups the daily backup job keeps.
func (c config) backupKeep() (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(c.BackupKeep))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("ORDERDESK_BACKUP_KEEP (--backup-keep) is %q: give how many daily backups to keep, 1 or more", c.BackupKeep)
	}
	return n, nil
}

// backupDir is where backups go unless told otherwise: the data folder's
// backups/.
func (c config) backupDir() string { return filepath.Join(c.Data, "backups") }

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// addConfigFlags registers the configuration flags on fs, defaulting to the env.
func addConfigFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.Addr, "addr", envOr("ORDERDESK_ADDR", ":8080"), "listen address (ORDERDESK_ADDR)")
	fs.StringVar(&c.Data, "data", envOr("ORDERDESK_DATA", "./data"), "data folder: database, key file, backups (ORDERDESK_DATA)")
	fs.StringVar(&c.BaseURL, "base-url", envOr("ORDERDESK_BASE_URL", "http://localhost:8080"), "public address of the bare host; tenants are its subdomains (ORDERDESK_BASE_URL)")
	fs.StringVar(&c.SecretKey, "secret-key", os.Getenv("ORDERDESK_SECRET_KEY"), "instance secret key, 64 hex characters; default: the key file in the data folder (ORDERDESK_SECRET_KEY)")
	fs.StringVar(&c.DemoPassword, "demo-password", os.Getenv("ORDERDESK_DEMO_PASSWORD"), "password of the demo users; default: random, printed once (ORDERDESK_DEMO_PASSWORD)")
	fs.BoolVar(&c.Sandboxes, "sandboxes", envOr("ORDERDESK_SANDBOXES", "on") != "off", "serve the providers' built-in sandboxes under /sandbox/ (ORDERDESK_SANDBOXES=off to turn them off in production)")
	fs.BoolVar(&c.AllowPrivateEndpoints, "allow-private-endpoints", os.Getenv("ORDERDESK_ALLOW_PRIVATE_ENDPOINTS") == "1",
		"let integrations call loopback and private-network addresses (ORDERDESK_ALLOW_PRIVATE_ENDPOINTS=1); the built-in sandboxes are always allowed")
	fs.StringVar(&c.BackupKeep, "backup-keep", envOr("ORDERDESK_BACKUP_KEEP", "7"), "how many daily backups the backup job keeps in the data folder's backups/ (ORDERDESK_BACKUP_KEEP)")
	fs.StringVar(&c.SMTPSandbox, "smtp-sandbox", envOr("ORDERDESK_SMTP_SANDBOX", "127.0.0.1:2525"), "address of the built-in e-mail sandbox (ORDERDESK_SMTP_SANDBOX)")
	fs.Float64Var(&c.TrackRate, "track-rate", envFloat(c.envErrs, "ORDERDESK_TRACK_RATE", "track-rate", 1), "public tracking requests per second per client address, bursts of 20 (ORDERDESK_TRACK_RATE)")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", os.Getenv("ORDERDESK_METRICS_ADDR"),
		"serve the Prometheus metrics without sign-in on this address of their own, e.g. 127.0.0.1:9090 (ORDERDESK_METRICS_ADDR); off when empty")
	fs.StringVar(&c.Pprof, "pprof", os.Getenv("ORDERDESK_PPROF"), "serve Go's profiler on this loopback address, e.g. 127.0.0.1:6060 (ORDERDESK_PPROF); off when empty")
	fs.StringVar(&c.DefaultTenant, "default-tenant", envOr("ORDERDESK_DEFAULT_TENANT", model.DemoTenantSlug), "tenant served on the bare host (ORDERDESK_DEFAULT_TENANT)")
}

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	slog.SetDefault(log)
	if err := run(os.Args[1:], os.Stdout, log); err != nil {
		fmt.Fprintln(os.Stderr, "orderdesk:", err)
		os.Exit(exitCode(err))
	}
}

// joinClose closes c and joins its error into *err; defer it with the
// command's named error result. A command that did its work but could not close
// the database fails: closing SQLite checkpoints the write-ahead log, and a
// failed checkpoint is worth knowing about.
func joinClose(err *error, c io.Closer) {
	if cerr := c.Close(); cerr != nil {
		*err = errors.Join(*err, cerr)
	}
}

// printOut writes a command's report to out, and fails the command when it
// cannot: a created user's one-time password that never reached the terminal
// must not pass for shown.
func printOut(out io.Writer, s string) error {
	if _, err := io.WriteString(out, s); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	return nil
}

// providerTimeout bounds one call to a provider from the jobs and the CLI,
// as the provider clients' own defaults do.
const providerTimeout = 30 * time.Second

// egressPolicy is which addresses provider calls may reach: public ones,
// the built-in sandboxes of this instance (under the base URL, and the
// e-mail sandbox's address when the sandboxes are on), and private ones only
// when the operator allows them.
func egressPolicy(c config, smtpAddr string) egress.Policy {
	p := egress.Policy{AllowPrivate: c.AllowPrivateEndpoints, Allowed: []string{strings.TrimSuffix(c.BaseURL, "/") + "/sandbox/"}}
	if c.Sandboxes && smtpAddr != "" {
		p.Allowed = append(p.Allowed, "smtp://"+smtpAddr)
	}
	return p
}

// prepareData creates the data folder, or tightens an existing one, to 0700:
// it holds the database, the key file and the sandboxes' state, none of which
// another user of the machine may read.
func prepareData(c config) error {
	if err := os.MkdirAll(c.Data, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(c.Data, 0o700); err != nil {
		return fmt.Errorf("make the data folder %s private: %w", c.Data, err)
	}
	return nil
}

// openStore opens and migrates the database in the data folder.
func openStore(ctx context.Context, c config) (*model.Store, []string, error) {
	if err := prepareData(c); err != nil {
		return nil, nil, err
	}
	db, err := model.Open(filepath.Join(c.Data, "orderdesk.db"))
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	keys, err := loadKey(c)
	if err != nil {
		return nil, nil, errors.Join(err, db.Close())
	}
	return model.NewStore(db, keys), applied, nil
}

// openSandboxDB opens the sandboxes' own database in the data folder: their
// state (payments, balances, tokens) is the outside world's, not the shop's.
func openSandboxDB(c config) (*sql.DB, error) {
	path := filepath.Join(c.Data, "sandbox.db")
	if err := model.PrepareFile(path); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_busy_timeout=10000&_foreign_keys=on")
	if err != nil {
		return nil, err
	}
	if err := db.Ping(); err != nil {
		return nil, errors.Join(err, db.Close())
	}
	return db, nil
}

// loadKey returns the instance secret key: ORDERDESK_SECRET_KEY (hex) when given,
// else the key file of the data folder, created with mode 0600 on first start.
func loadKey(c config) (*model.Keyring, error) {
	if c.SecretKey != "" {
		key, err := hex.DecodeString(c.SecretKey)
		if err != nil || len(key) < 32 {
			return nil, errors.New("ORDERDESK_SECRET_KEY must be at least 64 hex characters (32 bytes)")
		}
		return model.NewKeyring(key)
	}
	path := filepath.Join(c.Data, "secret.key")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		rand.Read(key)
		b = []byte(hex.EncodeToString(key))
		// O_EXCL: two processes starting at once cannot both write a key.
		f, ferr := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if ferr != nil {
			return nil, ferr
		}
		if _, werr := f.Write(append(b, '\n')); werr != nil {
			return nil, errors.Join(werr, f.Close())
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	} else if err := os.Chmod(path, 0o600); err != nil { // a key file copied in by hand may be readable by all
		return nil, fmt.Errorf("make the key file %s private: %w", path, err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return model.NewKeyring(key)
}

func cmdServe(args []string, out io.Writer, log *slog.Logger) error {
	s := newSetup("serve")
	if err := s.parse(args); err != nil {
		return err
	}
	tuneGC()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return serve(ctx, s.c, out, log)
}

// jobsStopWait is how long serve waits at shutdown for the jobs' runs under
// way: as long as a provider call may take, so that a run ends and records
// itself before the database closes.
const jobsStopWait = providerTimeout

// serve serves the back office and runs the background jobs (and extra ones,
// for tests) until ctx ends; then it stops taking requests, waits for the
// jobs' runs under way, and closes the database last.
func serve(ctx context.Context, c config, out io.Writer, log *slog.Logger, extra ...*jobs.Job) (err error) {
	keep, err := c.backupKeep()
	if err != nil {
		return err
	}
	store, applied, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer joinClose(&err, store.DB)
	for _, m := range applied {
		log.Info("migration applied", "version", m)
	}
	var sandboxes *handlers.Sandboxes
	smtpAddr := c.SMTPSandbox
	if c.Sandboxes {
		// Not ":=": the deferred close must join into the result, not into a
		// variable of this block.
		var sandboxDB *sql.DB
		if sandboxDB, err = openSandboxDB(c); err != nil {
			return err
		}
		defer joinClose(&err, sandboxDB)
		if sandboxes, err = handlers.NewSandboxes(sandboxDB, c.BaseURL, c.SMTPSandbox); err != nil {
			return fmt.Errorf("sandboxes: %w", err)
		}
		defer joinClose(&err, sandboxes)
		smtpAddr = sandboxes.SMTPAddr()
	}
	if err := seedDemo(ctx, store, c, out, smtpAddr); err != nil {
		return err
	}
	if sandboxes != nil {
		if err := sandboxes.ConnectDemoCallbacks(ctx, store, c.BaseURL); err != nil {
			return fmt.Errorf("sandboxes: %w", err)
		}
		// The demo's supplier ships a paid purchase by itself after a while,
		// with a track number, so that the parcel can be scanned in.
		sandboxes.Taobao.SetAutoAdvance(30*time.Second, 0)
	}
	policy := egressPolicy(c, smtpAddr)
	proc := &jobs.Procurement{Store: store, HTTPClient: policy.Client(providerTimeout)}
	pay := paymentFlow(store, c, log, policy)
	msg := messageFlow(store, c, log, policy)
	del := deliveryFlow(store, c, log, policy)
	ot := otFlow(store, c, log, policy)
	var sched *jobs.Scheduler // made below, after the app that shows its jobs
	app, err := handlers.New(store, handlers.Config{BaseURL: c.BaseURL, DefaultTenant: c.DefaultTenant, Logger: log,
		TrackRate: c.TrackRate, Sandboxes: sandboxes, Procurement: proc, Payments: pay, Delivery: del, OT: ot, Egress: policy,
		Jobs: func() []handlers.JobInfo {
			var out []handlers.JobInfo
			for _, j := range sched.Jobs() {
				if !j.Instance() { // the instance's jobs are its operator's (orderdesk jobs list)
					out = append(out, handlers.JobInfo{Name: j.Name, Interval: j.Interval})
				}
			}
			return out
		},
		RunJob: func(ctx context.Context, t *model.Tenant, name string, wait time.Duration) (*model.JobRun, error) {
			return sched.RunNow(ctx, t, name, wait)
		},
	})
	if err != nil {
		return err
	}
	sched = jobs.New(store, log, append(schedule(c, store, proc, pay, msg, del, ot, keep), extra...)...)
	sched.Observe(app.ObserveJobRun)
	sched.Start(ctx)
	// Deferred after the database's close, so run before it: no job writes
	// to a closed database, and every run records its end.
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), jobsStopWait)
		defer cancel()
		if serr := sched.Stop(stopCtx); serr != nil {
			err = errors.Join(err, serr)
		}
		log.Info("background jobs stopped")
	}()

	if c.MetricsAddr != "" {
		stopMetrics, err := startMetrics(c.MetricsAddr, app.MetricsHandler(), log)
		if err != nil {
			return err
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = errors.Join(err, stopMetrics(stopCtx))
		}()
	}
	if c.Pprof != "" {
		stopPprof, err := startPprof(c.Pprof, log)
		if err != nil {
			return err
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = errors.Join(err, stopPprof(stopCtx))
		}()
	}
	srv := &http.Server{
		Addr:              c.Addr,
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "addr", c.Addr, "base_url", c.BaseURL, "data", c.Data)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return srv.Shutdown(shutdownCtx)
}

// seedDemo creates the demo tenant on first start and prints how to sign in.
func seedDemo(ctx context.Context, store *model.Store, c config, out io.Writer, smtpAddr string) error {
	password := c.DemoPassword
	generated := password == ""
	if generated {
		b := make([]byte, 9)
		rand.Read(b)
		password = hex.EncodeToString(b)
	}
	created, err := store.SeedDemo(ctx, password)
	if err != nil {
		return fmt.Errorf("seed demo tenant: %w", err)
	}
	if created {
		for _, slug := range model.DemoTenants {
			t, err := store.FindTenantBySlug(ctx, slug)
			if err != nil {
				return err
			}
			for _, in := range handlers.DemoIntegrations(c.BaseURL, smtpAddr) {
				if _, err := store.CreateIntegration(ctx, t.ID, nil, in); err != nil {
					return fmt.Errorf("demo integration: %w", err)
				}
			}
			if err := store.SaveProcurementSettings(ctx, t.ID, handlers.DemoProcurementSettings(slug)); err != nil {
				return fmt.Errorf("demo procurement settings: %w", err)
			}
		}
	}
	var msg strings.Builder
	if !created {
		fmt.Fprintf(&msg, "Demo tenant %q exists; sign in at %s/admin/login as %s with the password printed at its first start.\n",
			model.DemoTenantSlug, c.BaseURL, model.DemoOwnerEmail)
		return printOut(out, msg.String())
	}
	tr, err := store.FindTenantBySlug(ctx, model.DemoTurkishSlug)
	if err != nil {
		return err
	}
	fmt.Fprintf(&msg, "\nCreated the demo tenant %q (and the Turkish %q at %s).\nSign in at %s/admin/login\n  e-mail:   %s\n  password: %s\n",
		model.DemoTenantSlug, model.DemoTurkishSlug, model.ShopURL(c.BaseURL, tr, c.DefaultTenant), c.BaseURL, model.DemoOwnerEmail, password)
	if generated {
		msg.WriteString("  (random; shown only this once. Set ORDERDESK_DEMO_PASSWORD to choose it.)\n")
	}
	msg.WriteString("\n")
	return printOut(out, msg.String())
}

// paymentFlow is the payment flow of the instance, for the server and the CLI
// alike: return URLs from the configured base URL, never from a request.
func paymentFlow(store *model.Store, c config, log *slog.Logger, policy egress.Policy) *payments.Service {
	return payments.New(payments.Config{Store: store, Log: log, CallbackBaseURL: c.BaseURL, HTTPClient: policy.Client(providerTimeout),
		ShopURL: func(t *model.Tenant) string { return model.ShopURL(c.BaseURL, t, c.DefaultTenant) }})
}

// deliveryFlow is the delivery flow of the instance, for the server and the
// CLI alike: carriers reach its webhooks at the configured base URL.
func deliveryFlow(store *model.Store, c config, log *slog.Logger, policy egress.Policy) *delivery.Service {
	return delivery.New(delivery.Config{Store: store, Log: log, CallbackBaseURL: c.BaseURL, HTTPClient: policy.Client(providerTimeout)})
}

// messageFlow is the customer messages' sender of the instance, for the
// server and the CLI alike: links from the configured base URL, provider
// calls through the egress policy.
func messageFlow(store *model.Store, c config, log *slog.Logger, policy egress.Policy) *messaging.Service {
	return messaging.New(messaging.Config{Store: store, Log: log, Egress: policy,
		ShopURL: func(t *model.Tenant) string { return model.ShopURL(c.BaseURL, t, c.DefaultTenant) }})
}

// otFlow is the OT Platform flow of the instance, for the server and the
// CLI alike: OT sends operators back to the shop's configured address.
func otFlow(store *model.Store, c config, log *slog.Logger, policy egress.Policy) *procurement.Service {
	return procurement.New(procurement.Config{Store: store, Log: log, HTTPClient: policy.Client(providerTimeout),
		ShopURL: func(t *model.Tenant) string { return model.ShopURL(c.BaseURL, t, c.DefaultTenant) }})
}

// schedule is every background job the server runs: one list for serve and
// the jobs commands. keep is how many daily backups to keep.
func schedule(c config, store *model.Store, proc *jobs.Procurement, pay *payments.Service, msg *messaging.Service, del *delivery.Service,
	ot *procurement.Service, keep int) []*jobs.Job {
	return append(append(append([]*jobs.Job{
		jobs.ExpireUnpaid(pay),
		jobs.PollPayments(pay, 3*time.Second, 30*time.Minute),
		jobs.Refunds(pay),
		jobs.SendMessages(msg),
		jobs.FetchCDEK(del),
		jobs.FetchDostavista(del),
	}, proc.Jobs()...), jobs.OTJobs(ot)...),
		jobs.Backup(store.DB, c.backupDir(), keep),
	)
}

// shopsFor lists the shops a CLI run covers: the one of --tenant, else every
// shop. With owns, only the shops that own the order or purchase asked for;
// each shop is asked about its own rows, so that no query reads several shops.
func shopsFor(ctx context.Context, store *model.Store, slug, what string, owns func(*model.Tenant) (bool, error)) ([]*model.Tenant, error) {
	var shops []*model.Tenant
	if slug != "" {
		t, err := store.FindTenantBySlug(ctx, slug)
		if err != nil {
			return nil, fmt.Errorf("tenant %q: %w", slug, err)
		}
		shops = []*model.Tenant{t}
	} else {
		var err error
		if shops, err = store.FindTenants(ctx); err != nil {
			return nil, err
		}
	}
	if owns == nil {
		return shops, nil
	}
	var out []*model.Tenant
	for _, t := range shops {
		ok, err := owns(t)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		if slug != "" {
			return nil, fmt.Errorf("%s is not in shop %s: %w", what, slug, model.ErrNotFound)
		}
		return nil, fmt.Errorf("%s is in no shop: %w", what, model.ErrNotFound)
	}
	return out, nil
}

// runForShops runs a job once for each shop in the foreground, printing a line
// per thing it did with the shop's slug first, and records each run in its
// shop like the scheduler does. A shop where the job is paused is skipped with
// a line; it fails when a shop's run failed or could not start.
func runForShops(ctx context.Context, out io.Writer, log *slog.Logger, store *model.Store, j *jobs.Job, shops []*model.Tenant) error {
	sched := jobs.New(store, log, j)
	var errs []error
	for _, t := range shops {
		run, err := sched.RunOnce(ctx, j, t)
		var lines strings.Builder // a shop's lines, printed when its run ends
		if run != nil {
			for _, m := range run.Messages {
				fmt.Fprintf(&lines, "%s: %s\n", t.Slug, m)
			}
			fmt.Fprintf(&lines, "%s: %s: %d processed, %d failed\n", t.Slug, j.Name, run.Processed, run.Failed)
		}
		switch {
		case errors.Is(err, jobs.ErrPaused), errors.Is(err, jobs.ErrInstancePaused):
			fmt.Fprintf(&lines, "%s: %s skipped: %v\n", t.Slug, j.Name, err)
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", t.Slug, err))
		}
		if _, werr := io.WriteString(out, lines.String()); werr != nil {
			return errors.Join(append(errs, werr)...)
		}
	}
	return errors.Join(errs...)
}

// cmdRunJob runs one background job once in the foreground, for every shop or
// the one of --tenant.
func cmdRunJob(args []string, out io.Writer, log *slog.Logger, name string, job func(*payments.Service) *jobs.Job) error {
	s := newSetup(name)
	slug := s.fs.String("tenant", "", "only this shop (slug); default: every shop")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		shops, err := shopsFor(ctx, store, *slug, "", nil)
		if err != nil {
			return err
		}
		// The same payment flow as the server, to ask providers before acting.
		return runForShops(ctx, out, log, store, job(paymentFlow(store, s.c, log, egressPolicy(s.c, s.c.SMTPSandbox))), shops)
	})
}

// cmdSendMessages runs the send-messages job once in the foreground, for
// every shop or the one of --tenant, a line per message. It records each run
// like the server does, and fails when a shop's run could not start (the
// server running it for that shop at that moment, say).
func cmdSendMessages(args []string, out io.Writer, log *slog.Logger) error {
	s := newSetup("messages send")
	slug := s.fs.String("tenant", "", "only this shop (slug); default: every shop")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		shops, err := shopsFor(ctx, store, *slug, "", nil)
		if err != nil {
			return err
		}
		return runForShops(ctx, out, log, store, jobs.SendMessages(messageFlow(store, s.c, log, egressPolicy(s.c, s.c.SMTPSandbox))), shops)
	})
}

// cmdSync runs one procurement job once in the foreground, for every shop (or
// the one of --tenant, or the one owning --order-id / --purchase-id), a line
// per order, as seed 000's artisan commands did. It exits non-zero when a
// shop's run could not run (no usable Taobao account, the job running
// elsewhere).
func cmdSync(what string, args []string, out io.Writer, log *slog.Logger) error {
	var orderID int64
	var purchaseID, slug string
	s := newSetup("sync " + what)
	s.fs.Int64Var(&orderID, "order-id", 0, "only this order")
	s.fs.Int64Var(&orderID, "order_id", 0, "only this order (seed 000's spelling)")
	s.fs.StringVar(&purchaseID, "purchase-id", "", "only this purchase (order-status)")
	s.fs.StringVar(&purchaseID, "purchase_id", "", "only this purchase (seed 000's spelling)")
	s.fs.StringVar(&slug, "tenant", "", "only this shop (slug); default: every shop")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		return syncShops(ctx, out, log, store, s.c, what, slug, orderID, purchaseID)
	})
}

// syncShops runs cmdSync's job for the shops it covers.
func syncShops(ctx context.Context, out io.Writer, log *slog.Logger, store *model.Store, c config, what, slug string, orderID int64, purchaseID string) error {
	proc := &jobs.Procurement{Store: store, HTTPClient: egressPolicy(c, c.SMTPSandbox).Client(providerTimeout)}
	var job *jobs.Job
	switch what {
	case "orders-to-taobao":
		job = &jobs.Job{Name: jobs.PushOrdersName, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
			return proc.PushOrders(ctx, t, r, orderID)
		}}
	case "pay":
		job = &jobs.Job{Name: jobs.PayPurchasesName, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
			return proc.PayPurchases(ctx, t, r, orderID)
		}}
	case "order-status":
		job = &jobs.Job{Name: jobs.SyncStatusName, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
			return proc.SyncStatuses(ctx, t, r, purchaseID, orderID)
		}}
	default:
		return fmt.Errorf("unknown command sync %s: use orders-to-taobao, pay or order-status", what)
	}
	var owns func(*model.Tenant) (bool, error)
	var asked string
	switch {
	case purchaseID != "":
		asked = "purchase " + purchaseID
		owns = func(t *model.Tenant) (bool, error) {
			list, err := store.FindPurchases(ctx, t.ID, model.PurchaseFilter{PurchaseID: purchaseID, Limit: 1})
			return len(list) > 0, err
		}
	case orderID != 0:
		asked, owns = "order "+strconv.FormatInt(orderID, 10), ownsOrder(ctx, store, orderID)
	}
	shops, err := shopsFor(ctx, store, slug, asked, owns)
	if err != nil {
		return err
	}
	return runForShops(ctx, out, log, store, job, shops)
}

// cmdOT runs the OT Platform work once in the foreground, like seed 000's
// artisan commands: export and sync for every shop (or the one of --tenant,
// or the one owning --order-id), a line per order with its OT order id;
// sessions lists the Taobao sessions OT holds for each shop with their end.
// It exits non-zero when a shop's run could not run (no OT integration for
// orders that need it, OT not answering the session list, the job running
// elsewhere).
func cmdOT(what string, args []string, out io.Writer, log *slog.Logger) error {
	var orderID int64
	var slug string
	s := newSetup("ot " + what)
	s.fs.Int64Var(&orderID, "order-id", 0, "only this order (export, sync)")
	s.fs.Int64Var(&orderID, "order_id", 0, "only this order (seed 000's spelling)")
	s.fs.StringVar(&slug, "tenant", "", "only this shop (slug); default: every shop")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		return otShops(ctx, out, log, store, s.c, what, slug, orderID)
	})
}

// otShops runs cmdOT's work for the shops it covers.
func otShops(ctx context.Context, out io.Writer, log *slog.Logger, store *model.Store, c config, what, slug string, orderID int64) error {
	svc := otFlow(store, c, log, egressPolicy(c, c.SMTPSandbox))
	var job *jobs.Job
	switch what {
	case "export":
		job = &jobs.Job{Name: jobs.OTExportName, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
			return jobs.OTExport(ctx, svc, t, r, orderID)
		}}
	case "sync":
		// From the shell there is no activities job: the sync follows the
		// activities under way first (an export started by ot export, say).
		job = &jobs.Job{Name: jobs.OTSyncName, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
			if err := jobs.OTFollow(ctx, svc, t, r, cliFollowReads); err != nil {
				return err
			}
			return jobs.OTSync(ctx, svc, t, r, orderID)
		}}
	case "sessions":
		shops, err := shopsFor(ctx, store, slug, "", nil)
		if err != nil {
			return err
		}
		return printSessions(ctx, out, store, svc, shops, slug != "")
	default:
		return fmt.Errorf("unknown command ot %s: use export, sync or sessions", what)
	}
	var owns func(*model.Tenant) (bool, error)
	var asked string
	if orderID != 0 {
		asked, owns = "order "+strconv.FormatInt(orderID, 10), ownsOrder(ctx, store, orderID)
	}
	shops, err := shopsFor(ctx, store, slug, asked, owns)
	if err != nil {
		return err
	}
	return runForShops(ctx, out, log, store, job, shops)
}

// ownsOrder tells whether a shop has the order: each shop is asked about its
// own rows (shopsFor).
func ownsOrder(ctx context.Context, store *model.Store, orderID int64) func(*model.Tenant) (bool, error) {
	return func(t *model.Tenant) (bool, error) {
		_, err := store.FindOrderByID(ctx, t.ID, orderID)
		if errors.Is(err, model.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
}

// cliFollowReads is how many times ot sync reads the activities under way
// before it syncs: an activity of the sandbox ends within three.
const cliFollowReads = 5

// printSessions prints each shop's Taobao sessions at OT with their end. A
// shop without an OT integration is said so, and fails the command only
// when it was the one asked for.
func printSessions(ctx context.Context, out io.Writer, store *model.Store, svc *procurement.Service, shops []*model.Tenant, asked bool) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	var errs []error
	now := store.Now()
	for _, t := range shops {
		rows, err := svc.Sessions(ctx, t)
		switch {
		case errors.Is(err, procurement.ErrNoOT) && !asked:
			if _, werr := fmt.Fprintf(w, "%s:\tno OT Platform integration\n", t.Slug); werr != nil {
				return werr
			}
			continue
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", t.Slug, err))
			if _, werr := fmt.Fprintf(w, "%s:\tOT's list could not be read: %v\n", t.Slug, err); werr != nil {
				return werr
			}
		}
		if len(rows) == 0 && err == nil {
			if _, werr := fmt.Fprintf(w, "%s:\tno Taobao session at OT: authorise one on Procurement → OT sessions\n", t.Slug); werr != nil {
				return werr
			}
		}
		for _, r := range rows {
			ends, state := "OT does not say", "active"
			if !r.ExpiresAt.IsZero() {
				ends = r.ExpiresAt.In(t.Location()).Format("2006-01-02 15:04 MST")
				if r.ExpiresEstimated {
					ends += " (estimated)"
				}
				switch d := r.ExpiresAt.Sub(now); {
				case d <= 0:
					state = "ended: authorise it again"
				default:
					state = "ends in " + d.Round(time.Minute).String()
				}
			}
			if r.Known != nil && r.Known.Status == model.AccountNeedsAuthorization {
				state = "needs authorization"
			}
			if _, werr := fmt.Fprintf(w, "%s:\t%s\tends %s\t%s\n", t.Slug, r.Login, ends, state); werr != nil {
				return werr
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// cmdJobs lists the background jobs, or pauses or resumes one for every shop of
// this installation: the instance operator's switch, which no page changes (a
// shop's own pause is on its jobs page).
func cmdJobs(what string, args []string, out io.Writer, log *slog.Logger) error {
	var name string
	// The job's name comes first (orderdesk jobs pause NAME --data …).
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	s := newSetup("jobs " + what)
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		return jobsCommand(ctx, out, log, store, s.c, what, name)
	})
}

// jobsCommand lists, pauses or resumes for cmdJobs.
func jobsCommand(ctx context.Context, out io.Writer, log *slog.Logger, store *model.Store, c config, what, name string) error {
	keep, err := c.backupKeep()
	if err != nil {
		return err
	}
	policy := egressPolicy(c, c.SMTPSandbox)
	all := schedule(c, store, &jobs.Procurement{Store: store}, paymentFlow(store, c, log, policy), messageFlow(store, c, log, policy),
		deliveryFlow(store, c, log, policy), otFlow(store, c, log, policy), keep)
	var names []string
	for _, j := range all {
		names = append(names, j.Name)
	}
	switch what {
	case "list":
		return listJobs(ctx, out, store, all)
	case "pause", "resume":
		if !slices.Contains(names, name) {
			return fmt.Errorf("jobs %s NAME: give one of %s", what, strings.Join(names, ", "))
		}
		if err := store.SetInstanceJobPaused(ctx, name, what == "pause"); err != nil {
			return err
		}
		msg := name + " runs again in every shop that has not paused it itself\n"
		if what == "pause" {
			msg = name + " is paused for every shop; 'orderdesk jobs resume " + name + "' lifts it\n"
		}
		_, err := io.WriteString(out, msg)
		return err
	}
	return fmt.Errorf("unknown command jobs %s: use list, pause NAME or resume NAME", what)
}

// listJobs prints each job with its interval and where it is paused.
func listJobs(ctx context.Context, out io.Writer, store *model.Store, all []*jobs.Job) error {
	shops, err := store.FindTenants(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	for _, j := range all {
		state := "runs"
		if paused, err := store.InstanceJobPaused(ctx, j.Name); err != nil {
			return err
		} else if paused {
			state = "paused for every shop"
		}
		if j.Instance() {
			last, err := lastInstanceRun(ctx, store, j.Name)
			if err != nil {
				return err
			}
			if _, err := fmt.Fprintf(w, "%s\tevery %s\t%s; once for the installation; %s\n", j.Name, j.Interval, strings.Replace(state, " for every shop", "", 1), last); err != nil {
				return err
			}
			continue
		}
		var pausedIn []string
		for _, t := range shops {
			paused, err := store.JobPaused(ctx, t.ID, j.Name)
			if err != nil {
				return err
			}
			if paused {
				pausedIn = append(pausedIn, t.Slug)
			}
		}
		if len(pausedIn) > 0 {
			state += "; paused by the shop in " + strings.Join(pausedIn, ", ")
		}
		if _, err := fmt.Fprintf(w, "%s\tevery %s\t%s\n", j.Name, j.Interval, state); err != nil {
			return err
		}
	}
	return w.Flush()
}

// cmdBulkOrders adds synthetic orders to a shop, for load tests.
func cmdBulkOrders(args []string, out io.Writer) error {
	s := newSetup("demo bulk-orders")
	slug := s.fs.String("tenant", model.DemoTenantSlug, "tenant slug")
	count := s.fs.Int("count", 100000, "number of orders to add")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		t, err := store.FindTenantBySlug(ctx, *slug)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", *slug, err)
		}
		start := time.Now()
		if err := store.SeedBulkOrders(ctx, t, *count); err != nil {
			return err
		}
		return printOut(out, fmt.Sprintf("added %d orders to %s in %s\n", *count, t.Slug, time.Since(start).Round(time.Millisecond)))
	})
}

// cmdMigrate applies the migrations the database lacks.
func cmdMigrate(args []string, out io.Writer) error {
	s := newSetup("migrate")
	return s.withStore(args, func(context.Context, *model.Store) error {
		var msg strings.Builder
		if len(s.applied) == 0 {
			msg.WriteString("database is up to date\n")
		}
		for _, m := range s.applied {
			msg.WriteString("applied " + m + "\n")
		}
		return printOut(out, msg.String())
	})
}

// cmdTenantCreate creates a shop.
func cmdTenantCreate(args []string, out io.Writer) error {
	var in model.NewTenant
	s := newSetup("tenant create")
	s.fs.StringVar(&in.Slug, "slug", "", "subdomain of the shop, e.g. shop2")
	s.fs.StringVar(&in.Name, "name", "", "name of the shop")
	s.fs.StringVar(&in.Currency, "currency", "USD", "ISO currency of the shop")
	s.fs.StringVar(&in.Language, "language", "en", "language of labels (en, tr)")
	s.fs.StringVar(&in.Timezone, "timezone", "UTC", "IANA time zone")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		t, err := store.CreateTenant(ctx, in)
		if err != nil {
			return err
		}
		return printOut(out, fmt.Sprintf("created tenant %s (%s), id %d\n", t.Slug, t.Name, t.ID))
	})
}

// cmdUserCreate creates a staff user of a shop, with a random password
// printed once unless one is given.
func cmdUserCreate(args []string, out io.Writer) error {
	var slug, email, name, role, password string
	s := newSetup("user create")
	s.fs.StringVar(&slug, "tenant", model.DemoTenantSlug, "tenant slug")
	s.fs.StringVar(&email, "email", "", "e-mail of the user")
	s.fs.StringVar(&name, "name", "", "name of the user")
	s.fs.StringVar(&role, "role", "staff", "owner, admin, staff or operator")
	s.fs.StringVar(&password, "password", os.Getenv("ORDERDESK_USER_PASSWORD"), "password; default: random, printed once (ORDERDESK_USER_PASSWORD)")
	return s.withStore(args, func(ctx context.Context, store *model.Store) error {
		t, err := store.FindTenantBySlug(ctx, slug)
		if err != nil {
			return fmt.Errorf("tenant %q: %w", slug, err)
		}
		generated := password == ""
		if generated {
			b := make([]byte, 9)
			rand.Read(b)
			password = hex.EncodeToString(b)
		}
		u, err := store.CreateUser(ctx, t.ID, model.NewUser{Email: email, Name: name, Role: model.Role(role), Password: password})
		if err != nil {
			return err
		}
		msg := fmt.Sprintf("created %s user %s in tenant %s, id %d\n", u.Role, u.Email, t.Slug, u.ID)
		if generated {
			msg += fmt.Sprintf("password: %s (shown only this once)\n", password)
		}
		return printOut(out, msg)
	})
}
