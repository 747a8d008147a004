package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"orderdesk/model"
	"orderdesk/providers/tinkoff"
)

// `orderdesk bench` (make bench) measures the server the way the issue 12
// targets are stated: N synthetic orders in a temporary data folder, the real
// binary serving them, and wrk hammering each page with 64 connections for
// ten seconds. It prints one table: requests per second, the ratio to
// /healthz of the same run (the machine's speed cancels out), p50 and p99, and
// the server's peak resident memory. It is not in `orderdesk help`: it is a
// tool for whoever changes the hot paths, not for running a shop.

// benchTarget is one line of the table: a page, how to ask for it, and the
// ratio to /healthz it must reach (0 for none).
type benchTarget struct {
	Name      string
	Path      string
	Cookie    bool   // send the signed-in staff session
	Script    string // a wrk Lua script (the webhook's POST)
	MinRatio  float64
	ratio     float64
	rps       float64
	p50, p99  time.Duration
	non2xx    int64
	errs      string
	profileTo string
	ran       bool // measured in this run (--only skips pages)
}

// benchResult is what wrk said of one run.
type benchResult struct {
	rps      float64
	p50, p99 time.Duration
	non2xx   int64
	errs     string
}

func cmdBench(args []string, out io.Writer) (err error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	defOrders := 100_000
	if v := os.Getenv("BENCH_ORDERS"); v != "" {
		n, perr := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
		if perr != nil || n < 1 {
			return fmt.Errorf("BENCH_ORDERS is %q: give a number of orders, e.g. 1000000", v)
		}
		defOrders = n
	}
	orders := fs.Int("orders", defOrders, "synthetic orders to seed (BENCH_ORDERS)")
	duration := fs.Duration("duration", 10*time.Second, "how long wrk hammers each page")
	conns := fs.Int("connections", 64, "wrk connections")
	threads := fs.Int("threads", 2, "wrk threads")
	keep := fs.Bool("keep", false, "keep the temporary data folder (its path is printed)")
	profile := fs.String("profile", "", "folder to write a CPU profile of the server per page into (net/http/pprof)")
	only := fs.String("only", "", "run only the pages whose name contains this (and /healthz)")
	reuse := fs.String("data", "", "a data folder seeded by an earlier --keep run, to use instead of seeding a new one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	wrk, err := exec.LookPath("wrk")
	if err != nil {
		return errors.New("wrk is not installed: on Debian or Ubuntu, `sudo apt-get install wrk`; elsewhere see https://github.com/wg/wrk")
	}
	dir := *reuse
	if dir == "" {
		if dir, err = os.MkdirTemp("", "orderdesk-bench-"); err != nil {
			return err
		}
	} else {
		*keep = true
	}
	if *keep {
		if err := printOut(out, "data folder: "+dir+"\n"); err != nil {
			return err
		}
	} else {
		defer func() { err = errors.Join(err, os.RemoveAll(dir)) }()
	}
	// The demo's integrations hold the server's address (their sandboxes
	// live under it), so a data folder is served on the port it was seeded
	// for.
	portFile := filepath.Join(dir, "ports")
	var port, smtpPort string
	if b, rerr := os.ReadFile(portFile); rerr == nil && len(strings.Fields(string(b))) == 2 {
		f := strings.Fields(string(b))
		port, smtpPort = f[0], f[1]
	} else {
		if port, err = freePort(); err != nil {
			return err
		}
		if smtpPort, err = freePort(); err != nil {
			return err
		}
		if err := os.WriteFile(portFile, []byte(port+" "+smtpPort+"\n"), 0o600); err != nil {
			return err
		}
	}
	c := config{Data: filepath.Join(dir, "data"), Addr: "127.0.0.1:" + port, BaseURL: "http://127.0.0.1:" + port,
		DemoPassword: "bench-password-1", DefaultTenant: model.DemoTenantSlug, SMTPSandbox: "127.0.0.1:" + smtpPort}
	ctx := context.Background()

	if err := printOut(out, fmt.Sprintf("load average before: %s\n", loadAverage())); err != nil {
		return err
	}
	if *reuse == "" {
		cpuBefore := cpuTime()
		seedTook, err := benchSeed(ctx, c, *orders)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		// The CPU time says what the seed costs on a machine others share.
		if err := printOut(out, fmt.Sprintf("seeded %d orders in %s (CPU %s)\n", *orders, seedTook.Round(time.Millisecond),
			(cpuTime()-cpuBefore).Round(time.Millisecond))); err != nil {
			return err
		}
	}

	var pprofAddr string
	if *profile != "" {
		if err := os.MkdirAll(*profile, 0o755); err != nil {
			return err
		}
		pp, err := freePort()
		if err != nil {
			return err
		}
		pprofAddr = "127.0.0.1:" + pp
	}
	srv, err := startBenchServer(c, dir, pprofAddr)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, srv.stop()) }()

	fx, err := benchFixtures(ctx, c)
	if err != nil {
		return fmt.Errorf("prepare the pages: %w", err)
	}
	// A reused data folder has the orders it was seeded with: the table says
	// how many there are.
	if err := withReadStore(ctx, c, func(s *model.Store, t *model.Tenant) error {
		return s.DB.R.QueryRowContext(ctx, `SELECT count(*) FROM orders WHERE tenant_id = ?`, t.ID).Scan(orders)
	}); err != nil {
		return err
	}
	targets := []*benchTarget{
		{Name: "/healthz", Path: "/healthz"},
		{Name: "/track/{n}", Path: "/track/" + fx.number, MinRatio: 0.35},
		{Name: "/api/orders/track/{n}/", Path: "/api/orders/track/" + fx.number + "/", MinRatio: 0.35},
		{Name: "/shop", Path: "/shop", MinRatio: 0.35},
		{Name: "/admin/ (signed in)", Path: "/admin/", Cookie: true, MinRatio: 0.15},
		{Name: "/admin/orders?status=confirmed", Path: "/admin/orders?status=confirmed", Cookie: true, MinRatio: 0.15},
		{Name: "/admin/orders", Path: "/admin/orders", Cookie: true},
		{Name: "/admin/orders/{id}", Path: "/admin/orders/" + strconv.FormatInt(fx.orderID, 10), Cookie: true, MinRatio: 0.15},
		{Name: "webhook replay (T-Bank CONFIRMED)", Path: fx.webhookPath, Script: fx.webhookScript},
	}
	for _, t := range targets {
		if *only != "" && t.Name != "/healthz" && !strings.Contains(t.Name, *only) {
			continue
		}
		args := []string{"-t", strconv.Itoa(*threads), "-c", strconv.Itoa(*conns), "-d", duration.String(), "--latency"}
		if t.Cookie {
			args = append(args, "-H", "Cookie: "+fx.cookie)
		}
		if t.Script != "" {
			args = append(args, "-s", t.Script)
		}
		args = append(args, c.BaseURL+t.Path)
		var prof chan error
		if pprofAddr != "" {
			t.profileTo = filepath.Join(*profile, profileName(t.Name)+".pprof")
			prof = make(chan error, 1)
			go func(to string) { prof <- fetchProfile(pprofAddr, to, *duration-time.Second) }(t.profileTo)
		}
		r, err := runWrk(wrk, args)
		if err != nil {
			return fmt.Errorf("%s: %w", t.Name, err)
		}
		if prof != nil {
			if err := <-prof; err != nil {
				return fmt.Errorf("%s: profile: %w", t.Name, err)
			}
		}
		t.rps, t.p50, t.p99, t.non2xx, t.errs, t.ran = r.rps, r.p50, r.p99, r.non2xx, r.errs, true
	}
	rss, err := srv.peakRSS()
	if err != nil {
		return err
	}
	base := targets[0].rps
	var table strings.Builder
	fmt.Fprintf(&table, "\n%d orders, wrk -t%d -c%d -d%s, load average after: %s\n\n", *orders, *threads, *conns, duration, loadAverage())
	tw := tabwriter.NewWriter(&table, 0, 0, 2, ' ', 0)
	if _, err := fmt.Fprintln(tw, "page\treq/s\tratio\ttarget\tp50\tp99\tnon-2xx\terrors\t"); err != nil {
		return err
	}
	for _, t := range targets {
		if !t.ran {
			continue
		}
		if base > 0 {
			t.ratio = t.rps / base
		}
		target := ""
		if t.MinRatio > 0 {
			mark := "ok"
			if t.ratio < t.MinRatio || t.p99 >= 50*time.Millisecond {
				mark = "MISSED"
			}
			target = fmt.Sprintf("≥ %.2f %s", t.MinRatio, mark)
		}
		if _, err := fmt.Fprintf(tw, "%s\t%.0f\t%.3f\t%s\t%s\t%s\t%d\t%s\t\n", t.Name, t.rps, t.ratio, target, fmtDur(t.p50), fmtDur(t.p99), t.non2xx, t.errs); err != nil {
			return err
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(&table, "\npeak RSS of the server (VmHWM): %.1f MB (target < 150 MB)\n", float64(rss)/1024)
	if *profile != "" {
		fmt.Fprintf(&table, "CPU profiles in %s: go tool pprof -top bin/orderdesk %s/<page>.pprof\n", *profile, *profile)
	}
	return printOut(out, table.String())
}

// benchSeed creates the demo shops as a first start does and adds n orders
// to the demo shop; it returns how long the orders took.
func benchSeed(ctx context.Context, c config, n int) (took time.Duration, err error) {
	store, _, err := openStore(ctx, c)
	if err != nil {
		return 0, err
	}
	defer joinClose(&err, store.DB)
	if err := seedDemo(ctx, store, c, io.Discard, c.SMTPSandbox); err != nil {
		return 0, err
	}
	t, err := store.FindTenantBySlug(ctx, model.DemoTenantSlug)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	if err := store.SeedBulkOrders(ctx, t, n); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

// benchServer is the server under test, a process of its own so that its
// memory is its own.
type benchServer struct {
	cmd  *exec.Cmd
	done chan error
	log  string
}

func startBenchServer(c config, dir, pprofAddr string) (*benchServer, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "server.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "serve")
	cmd.Env = append(os.Environ(),
		"ORDERDESK_DATA="+c.Data, "ORDERDESK_ADDR="+c.Addr, "ORDERDESK_BASE_URL="+c.BaseURL,
		"ORDERDESK_DEMO_PASSWORD="+c.DemoPassword, "ORDERDESK_SMTP_SANDBOX="+c.SMTPSandbox,
		// wrk comes from one address: the per-address limit of the public
		// tracking pages would measure the limiter's 429s.
		"ORDERDESK_TRACK_RATE=1000000000",
		"ORDERDESK_PPROF="+pprofAddr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(err, logFile.Close())
	}
	s := &benchServer{cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() { s.done <- errors.Join(cmd.Wait(), logFile.Close()) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		res, err := http.Get(c.BaseURL + "/readyz")
		if err == nil {
			// Not ready yet is no error: the loop asks again.
			if _, rerr := readBody(res); rerr == nil && res.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case werr := <-s.done:
			return nil, fmt.Errorf("the server ended before it was ready (%v); see %s", werr, logPath)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.Join(fmt.Errorf("the server was not ready within a minute; see %s", logPath), s.stop())
		}
	}
}

// peakRSS is the server's peak resident memory so far, in kB.
func (s *benchServer) peakRSS() (kb int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w (it is read from /proc, on Linux)", err)
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.Join(errors.New("no VmHWM in /proc/PID/status"), sc.Err())
}

// stop ends the server as a supervisor would (SIGTERM) and waits for it.
func (s *benchServer) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	select {
	case err := <-s.done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("the server stopped with %v; see %s", err, s.log)
		}
		return err
	case <-time.After(60 * time.Second):
		return errors.Join(errors.New("the server did not stop within a minute"), s.cmd.Process.Kill())
	}
}

// benchPages is what the pages under test need: an order to track and show,
// a staff session, and a T-Bank notification that was applied already.
type benchPages struct {
	number        string
	orderID       int64
	cookie        string
	webhookPath   string
	webhookScript string
}

var csrfInputRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func benchFixtures(ctx context.Context, c config) (*benchPages, error) {
	fx := &benchPages{}
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	hc := &http.Client{Jar: jar, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	// A shipped order from the middle of the table: its track page has the
	// whole story.
	if err := withReadStore(ctx, c, func(s *model.Store, t *model.Tenant) error {
		return s.DB.R.QueryRowContext(ctx, `SELECT id, number FROM orders WHERE tenant_id = ? AND status = 'shipped'
			AND id >= (SELECT (min(id) + max(id)) / 2 FROM orders WHERE tenant_id = ?) ORDER BY id LIMIT 1`, t.ID, t.ID).Scan(&fx.orderID, &fx.number)
	}); err != nil {
		return nil, fmt.Errorf("find an order: %w", err)
	}

	// Sign in as the demo owner through the form.
	body, err := benchGet(hc, c.BaseURL+"/admin/login")
	if err != nil {
		return nil, err
	}
	m := csrfInputRe.FindStringSubmatch(body)
	if m == nil {
		return nil, errors.New("no CSRF token on the sign-in page")
	}
	res, err := hc.PostForm(c.BaseURL+"/admin/login", url.Values{"_csrf": {m[1]}, "email": {model.DemoOwnerEmail}, "password": {c.DemoPassword}})
	if err != nil {
		return nil, err
	}
	if _, err := readBody(res); err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/admin/" {
		return nil, fmt.Errorf("sign-in: %s to %q", res.Status, res.Header.Get("Location"))
	}
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return nil, err
	}
	for _, ck := range jar.Cookies(u) {
		if ck.Name == "orderdesk_session" {
			fx.cookie = ck.Name + "=" + ck.Value
		}
	}
	if fx.cookie == "" {
		return nil, errors.New("sign-in set no session cookie")
	}

	// A customer pays a pending order with T-Bank (the sandbox), and the
	// bank's CONFIRMED arrives once: the replays wrk sends are duplicates the
	// shop must answer without applying them again.
	var pending string
	if err := withReadStore(ctx, c, func(s *model.Store, t *model.Tenant) error {
		return s.DB.R.QueryRowContext(ctx, `SELECT number FROM orders WHERE tenant_id = ? AND status = 'pending' ORDER BY id DESC LIMIT 1`, t.ID).Scan(&pending)
	}); err != nil {
		return nil, fmt.Errorf("find a pending order: %w", err)
	}
	guestJar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	guest := &http.Client{Jar: guestJar, Timeout: time.Minute}
	var tok struct {
		Token string `json:"csrf_token"`
	}
	if err := benchJSON(guest, "GET", c.BaseURL+"/api/auth/csrf/", "", nil, &tok); err != nil {
		return nil, err
	}
	var created struct {
		Success bool   `json:"success"`
		Message string `json:"message"`
		Payment struct {
			Number string `json:"payment_number"`
		} `json:"payment"`
		TransactionID string `json:"transaction_id"`
	}
	if err := benchJSON(guest, "POST", c.BaseURL+"/api/payments/create/", tok.Token,
		map[string]any{"order_number": pending, "provider": "tinkoff"}, &created); err != nil {
		return nil, fmt.Errorf("start a T-Bank payment: %w", err)
	}
	if !created.Success || created.Payment.Number == "" || created.TransactionID == "" {
		return nil, fmt.Errorf("start a T-Bank payment: %s", created.Message)
	}
	var amount, integrationID int64
	if err := withReadStore(ctx, c, func(s *model.Store, t *model.Tenant) error {
		return s.DB.R.QueryRowContext(ctx, `SELECT amount, integration_id FROM payments WHERE tenant_id = ? AND number = ?`,
			t.ID, created.Payment.Number).Scan(&amount, &integrationID)
	}); err != nil {
		return nil, fmt.Errorf("read the payment: %w", err)
	}
	params := map[string]any{"TerminalKey": tinkoff.DemoTerminalKey, "OrderId": created.Payment.Number, "Success": true, "Status": "CONFIRMED",
		"PaymentId": json.Number(created.TransactionID), "ErrorCode": "0", "Amount": amount}
	params["Token"] = tinkoff.Token(params, tinkoff.DemoPassword)
	notification, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	fx.webhookPath = fmt.Sprintf("/webhooks/tinkoff/%d", integrationID)
	res, err = http.Post(c.BaseURL+fx.webhookPath, "application/json", strings.NewReader(string(notification)))
	if err != nil {
		return nil, err
	}
	reply, err := readBody(res)
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK || string(reply) != "OK" {
		return nil, fmt.Errorf("the first CONFIRMED was answered %s %q", res.Status, reply)
	}
	var paid string
	if err := withReadStore(ctx, c, func(s *model.Store, t *model.Tenant) error {
		return s.DB.R.QueryRowContext(ctx, `SELECT payment_status FROM orders WHERE tenant_id = ? AND number = ?`, t.ID, pending).Scan(&paid)
	}); err != nil {
		return nil, err
	}
	if paid != string(model.PayPaid) {
		return nil, fmt.Errorf("the order is %s after the bank's CONFIRMED, not paid", paid)
	}
	fx.webhookScript = filepath.Join(c.Data, "webhook.lua")
	script := fmt.Sprintf("wrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\nwrk.body = [==[%s]==]\n", notification)
	if err := os.WriteFile(fx.webhookScript, []byte(script), 0o600); err != nil {
		return nil, err
	}
	return fx, nil
}

// withReadStore opens the bench's database beside the running server, for a
// look at its rows.
func withReadStore(ctx context.Context, c config, fn func(*model.Store, *model.Tenant) error) (err error) {
	store, _, err := openStore(ctx, c)
	if err != nil {
		return err
	}
	defer joinClose(&err, store.DB)
	t, err := store.FindTenantBySlug(ctx, model.DemoTenantSlug)
	if err != nil {
		return err
	}
	return fn(store, t)
}

func benchGet(hc *http.Client, u string) (string, error) {
	res, err := hc.Get(u)
	if err != nil {
		return "", err
	}
	b, err := readBody(res)
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return string(b), nil
}

func benchJSON(hc *http.Client, method, u, csrf string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, err := readBody(res)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %s: %s", method, u, res.Status, b)
	}
	return nil
}

var (
	wrkRPSRe     = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkLatencyRe = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([0-9.]+)(us|ms|s)\s*$`)
	wrkNon2xxRe  = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocketRe  = regexp.MustCompile(`Socket errors:\s+(.*)`)
)

// runWrk runs wrk and reads its summary.
func runWrk(wrk string, args []string) (benchResult, error) {
	var r benchResult
	outb, err := exec.Command(wrk, args...).CombinedOutput()
	if err != nil {
		return r, fmt.Errorf("wrk: %w: %s", err, outb)
	}
	out := string(outb)
	m := wrkRPSRe.FindStringSubmatch(out)
	if m == nil {
		return r, fmt.Errorf("no Requests/sec in wrk's answer: %s", out)
	}
	if r.rps, err = strconv.ParseFloat(m[1], 64); err != nil {
		return r, err
	}
	for _, m := range wrkLatencyRe.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return r, err
		}
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[3]]
		d := time.Duration(v * float64(unit))
		if m[1] == "50" {
			r.p50 = d
		} else {
			r.p99 = d
		}
	}
	if m := wrkNon2xxRe.FindStringSubmatch(out); m != nil {
		if r.non2xx, err = strconv.ParseInt(m[1], 10, 64); err != nil {
			return r, err
		}
	}
	if m := wrkSocketRe.FindStringSubmatch(out); m != nil {
		r.errs = strings.TrimSpace(m[1])
	}
	return r, nil
}

// fetchProfile saves a CPU profile of the server taken over d.
func fetchProfile(pprofAddr, to string, d time.Duration) (err error) {
	secs := max(1, int(d/time.Second))
	res, err := (&http.Client{Timeout: d + 30*time.Second}).Get(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", pprofAddr, secs))
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, res.Body.Close()) }()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: %s", res.Status)
	}
	f, err := os.Create(to)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, res.Body)
	return errors.Join(err, f.Close())
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

func profileName(page string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(page), "-"), "-")
}

// freePort is a loopback port nobody listens on now.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, errors.Join(err, l.Close())
}

// loadAverage is the machine's 1, 5 and 15 minute load: other programs'
// work skews a run, so the table says how busy the machine was.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%dµs", d/time.Microsecond)
	}
}

// cpuTime is the CPU time this process has used so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// readBody reads a response's body to its end and closes it.
func readBody(res *http.Response) ([]byte, error) {
	b, err := io.ReadAll(res.Body)
	return b, errors.Join(err, res.Body.Close())
}
