package sandboxkit

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mattn/go-sqlite3"
)

func openDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.Join(t.TempDir(), "sandbox.db")+"?_busy_timeout=10000")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

func TestSwitches(t *testing.T) {
	t.Run("a one-shot switch acts on the next call only", func(t *testing.T) {
		var o Once[int]
		o.Arm(2)
		if o.Armed() != 2 || o.Take() != 2 || o.Take() != 0 || o.Armed() != 0 {
			t.Error("the switch did not act exactly once")
		}
	})

	t.Run("a counted switch acts on the next n calls", func(t *testing.T) {
		var c Count
		c.Arm(2)
		c.Add()
		got := []bool{c.Take(), c.Take(), c.Take(), c.Take()}
		if !got[0] || !got[1] || !got[2] || got[3] || c.Armed() != 0 {
			t.Errorf("takes = %v", got)
		}
	})

	t.Run("the latency delays the answer, and a caller who leaves gets none", func(t *testing.T) {
		var b Board
		b.SetBaseURL("http://127.0.0.1:1/sandbox/x/")
		b.SetLatency(30 * time.Millisecond)
		if b.BaseURL() != "http://127.0.0.1:1/sandbox/x" {
			t.Errorf("BaseURL = %q, want it without the trailing slash", b.BaseURL())
		}
		start := time.Now()
		if !b.Wait(httptest.NewRequest(http.MethodGet, "/", nil)) || time.Since(start) < 30*time.Millisecond {
			t.Error("the answer was not delayed")
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if Wait(ctx, time.Hour) {
			t.Error("Wait answered a caller that had gone")
		}
	})

	t.Run("stored switches survive in the table and act once", func(t *testing.T) {
		db := openDB(t)
		if _, err := db.Exec(`CREATE TABLE x_settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		s := Stored{DB: db, Table: "x_settings"}
		if err := errors.Join(s.Arm("fail_next"), s.SetLatency(7*time.Millisecond), s.Set("mode", "lost")); err != nil {
			t.Fatal(err)
		}
		again := Stored{DB: db, Table: "x_settings"} // as a CLI run sees it
		if again.Latency() != 7*time.Millisecond || !again.On("fail_next") {
			t.Errorf("latency %v, fail_next %v", again.Latency(), again.On("fail_next"))
		}
		if !again.TakeFlag("fail_next") || s.TakeFlag("fail_next") {
			t.Error("the one-shot switch did not act exactly once")
		}
		if v, err := s.TakeValue("mode"); v != "lost" || err != nil {
			t.Errorf("TakeValue = %q, %v", v, err)
		}
		if v, err := s.TakeValue("mode"); v != "" || err != nil {
			t.Errorf("TakeValue after it was taken = %q, %v", v, err)
		}
	})
}

func TestPages(t *testing.T) {
	t.Run("a Pay is a Decline when the switch says so", func(t *testing.T) {
		post := func(action string) *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/pay/1", strings.NewReader(url.Values{"action": {action}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}
		taken := 0
		decline := func() bool { taken++; return true }
		if got := Choice(post("pay"), decline); got != Decline || taken != 1 {
			t.Errorf("pay with the switch = %q (taken %d)", got, taken)
		}
		if got := Choice(post("abandon"), decline); got != Abandon || taken != 1 {
			t.Errorf("abandon = %q; the switch must be kept for a Pay (taken %d)", got, taken)
		}
		if got := Choice(post("refund"), decline); got != "" {
			t.Errorf("an unknown button = %q", got)
		}
	})

	t.Run("a page uses the shared forms and renders whole", func(t *testing.T) {
		tmpl := Page("p", `<p>{{rubles .Amount}}</p><form>{{template "pay-buttons" (buttons "Pay" "No" "Leave")}}</form>{{template "latency-form" .Latency}}`, nil)
		w := httptest.NewRecorder()
		Render(w, http.StatusConflict, tmpl, struct {
			Amount  int64
			Latency time.Duration
		}{-150050, 5 * time.Millisecond})
		body := w.Body.String()
		for _, want := range []string{"-1\u00a0500,50\u00a0₽", `data-testid="sandbox-decline">No</button>`, `value="5"> ms`} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %q:\n%s", want, body)
			}
		}
		if w.Code != http.StatusConflict || w.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("got %d %q", w.Code, w.Header().Get("Content-Type"))
		}
		w = httptest.NewRecorder()
		Render(w, http.StatusOK, tmpl, struct{}{})
		if w.Code != http.StatusInternalServerError || strings.Contains(w.Body.String(), "<p>") {
			t.Errorf("a page that fails to render: %d %q", w.Code, w.Body.String())
		}
	})

	t.Run("a control action goes back to the page or says what is wrong", func(t *testing.T) {
		for _, tt := range []struct {
			err    error
			status int
			body   string
		}{
			{nil, http.StatusSeeOther, ""},
			{SetLatency("-1", func(time.Duration) {}), http.StatusBadRequest, "latency must be a whole number"},
			{NoSuch("no such channel"), http.StatusNotFound, "no such channel"},
			{errors.New("disk I/O error"), http.StatusInternalServerError, "disk I/O error"},
		} {
			w := httptest.NewRecorder()
			Control(w, httptest.NewRequest(http.MethodPost, "/_control", nil), func(*http.Request) error { return tt.err })
			if w.Code != tt.status || !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("%v: got %d %q", tt.err, w.Code, w.Body.String())
			}
			if tt.err == nil && w.Header().Get("Location") != "./" {
				t.Errorf("Location = %q, want the control page relative to the mount", w.Header().Get("Location"))
			}
		}
	})
}

func TestOutbox(t *testing.T) {
	db := openDB(t)
	if _, err := db.Exec(`CREATE TABLE x_notes (id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL, url TEXT NOT NULL,
		body TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, delivered INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '')`); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(AddColumn(db, "x_notes", "last_attempt_at", "TEXT NOT NULL DEFAULT ''"),
		AddColumn(db, "x_notes", "last_attempt_at", "TEXT NOT NULL DEFAULT ''")); err != nil {
		t.Fatalf("adding the column to an older table, twice: %v", err)
	}
	var mu sync.Mutex
	up := true
	var got []string
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		b := make([]byte, 64)
		n, _ := r.Body.Read(b)
		got = append(got, r.Header.Get("Content-Type")+" "+string(b[:n]))
		if !up {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		}
	}))
	defer shop.Close()
	o := &Outbox{DB: db, Table: "x_notes", Key: "order_id", Now: time.Now}
	for _, body := range []string{`{"n":1}`, `{"n":2}`} {
		if _, err := db.Exec(`INSERT INTO x_notes (order_id, url, body) VALUES ('A', ?, ?)`, shop.URL, body); err != nil {
			t.Fatal(err)
		}
	}
	send := func(ctx context.Context, u string, body []byte) error {
		return Post(ctx, shop.Client(), u, JSON(), body, Accept200)
	}
	deliver := func(ctx context.Context, id int64) error { return o.Deliver(ctx, id, send) }
	ctx := context.Background()

	up = false
	err := deliver(ctx, 1)
	var lastErr string
	var attempts, delivered int
	if qerr := db.QueryRow(`SELECT last_error, attempts, delivered FROM x_notes WHERE id = 1`).Scan(&lastErr, &attempts, &delivered); qerr != nil {
		t.Fatal(qerr)
	}
	if err == nil || !strings.Contains(lastErr, "503") || attempts != 1 || delivered != 0 {
		t.Errorf("a refused notification: %v; recorded %q, %d attempts, delivered %d", err, lastErr, attempts, delivered)
	}

	up = true
	if n, err := o.ResendPending(ctx, deliver); n != 2 || err != nil {
		t.Errorf("ResendPending = %d, %v; want both notifications sent", n, err)
	}
	if ids, err := o.Pending(ctx); len(ids) != 0 || err != nil {
		t.Errorf("still pending: %v, %v", ids, err)
	}
	if id, err := o.Latest(ctx, "A"); id != 2 || err != nil {
		t.Errorf("Latest = %d, %v", id, err)
	}
	if _, err := o.Latest(ctx, "B"); !errors.Is(err, ErrNoNotification) {
		t.Errorf("Latest of a record with none = %v", err)
	}
	up = false
	if err := deliver(ctx, 2); err == nil {
		t.Fatal("a resend the shop refused reported no error")
	}
	if err := db.QueryRow(`SELECT delivered FROM x_notes WHERE id = 2`).Scan(&delivered); err != nil || delivered != 1 {
		t.Errorf("a notification the shop got is pending again after a failed resend: %d, %v", delivered, err)
	}
	if len(got) != 4 || got[1] != `application/json {"n":1}` {
		t.Errorf("the shop got %q", got)
	}
}
