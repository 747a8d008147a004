package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"orderdesk/jobs"
	"orderdesk/model"
)

// running is a server started by serve on a data folder, as `orderdesk serve`
// runs it, on a loopback port of its own.
type running struct {
	t    *testing.T
	url  string // http://127.0.0.1:port
	port string
	stop context.CancelFunc
	done chan error
}

// startServe runs serve on the data folder until the test ends (or stop).
func startServe(t *testing.T, data string, extra ...*jobs.Job) *running {
	t.Helper()
	model.PasswordCost = bcrypt.MinCost
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	c := config{Addr: "127.0.0.1:" + port, Data: data, BaseURL: "http://localhost:" + port, DemoPassword: "demo-password",
		DefaultTenant: model.DemoTenantSlug, TrackRate: 1, Sandboxes: true, SMTPSandbox: "127.0.0.1:0", BackupKeep: "7"}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, url: "http://127.0.0.1:" + port, port: port, stop: cancel, done: make(chan error, 1)}
	go func() { r.done <- serve(ctx, c, io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)), extra...) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(time.Minute):
			t.Error("serve did not end")
		}
	})
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		res, err := http.Get(r.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return r
			}
		}
	}
	t.Fatal("the server did not come up")
	return nil
}

// browser is a client of one shop of the running server, with its cookies,
// that does not follow redirects.
type browser struct {
	r    *running
	host string // "" for the default shop, else e.g. demo-tr.localhost
	http *http.Client
}

func (r *running) browser(host string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{r: r, host: host, http: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns the answer with its body read.
func (b *browser) do(method, path string, body io.Reader, header http.Header) (*http.Response, string) {
	b.r.t.Helper()
	req, err := http.NewRequest(method, b.r.url+path, body)
	if err != nil {
		b.r.t.Fatal(err)
	}
	if b.host != "" {
		req.Host = b.host + ":" + b.r.port
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.r.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		b.r.t.Fatal(err)
	}
	return res, string(raw)
}

func (b *browser) status(path string) int {
	b.r.t.Helper()
	res, _ := b.do("GET", path, nil, nil)
	return res.StatusCode
}

// TestServeWaitsForJobsBeforeClosingTheDatabase stops serve while a job runs:
// serve returns only after the run ended and recorded itself, so the database
// closes after it.
func TestServeWaitsForJobsBeforeClosingTheDatabase(t *testing.T) {
	data := t.TempDir()
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	blocking := &jobs.Job{Name: "blocking", Interval: time.Hour, Run: func(ctx context.Context, t *model.Tenant, r *jobs.Run) error {
		if t.Slug != model.DemoTenantSlug {
			return nil
		}
		once.Do(func() { close(started) })
		<-release
		r.Processed = 1
		return nil
	}}
	srv := startServe(t, data, blocking)
	select {
	case <-started:
	case <-time.After(20 * time.Second):
		t.Fatal("the job did not start")
	}
	srv.stop() // SIGTERM
	select {
	case err := <-srv.done:
		t.Fatalf("serve returned while a job was running: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-srv.done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
		srv.done <- nil // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not end after the job did")
	}
	store, _, err := openStore(context.Background(), config{Data: data})
	if err != nil {
		t.Fatal(err)
	}
	defer store.DB.Close()
	demo, _ := store.FindTenantBySlug(context.Background(), model.DemoTenantSlug)
	runs, err := store.FindJobRuns(context.Background(), demo.ID, "blocking", 5)
	if err != nil || len(runs) != 1 || runs[0].FinishedAt == nil || runs[0].Processed != 1 {
		t.Errorf("the job's run after serve ended: %+v, %v", runs, err)
	}

	// The daily backup ran at the first start, once for the installation.
	out, err := runCLI(t, "jobs", "list", "--data", data)
	if err != nil || !regexp.MustCompile(`backup\s+every 24h0m0s\s+runs; once for the installation; last run .* ok: backed up to `+regexp.QuoteMeta(filepath.Join(data, "backups"))).MatchString(out) {
		t.Errorf("jobs list: %v\n%s", err, out)
	}
}
