package handlers

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	"orderdesk/model"
)

// newSessionStore is the sessions' store of a server on a fresh database.
func newSessionStore(t *testing.T) (*splitStore, *model.DB) {
	t.Helper()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return &splitStore{read: sqlite3store.NewWithCleanupInterval(db.R, 0), write: sqlite3store.NewWithCleanupInterval(db.W, 0),
		db: db.R, kept: newKeptSessions()}, db
}

// A kept session is the stored one: what the server writes or deletes is what
// the next request finds, and a read that began before a write never puts
// back what the write replaced.
func TestAKeptSessionIsTheStoredOne(t *testing.T) {
	s, db := newSessionStore(t)
	ctx := context.Background()
	find := func(step, token string) string {
		t.Helper()
		b, ok, err := s.FindCtx(ctx, token)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if !ok {
			return "(none)"
		}
		return string(b)
	}
	expiry := time.Now().Add(time.Hour)
	if err := s.CommitCtx(ctx, "tok", []byte("signed in"), expiry); err != nil {
		t.Fatal(err)
	}
	if got := find("after sign-in", "tok"); got != "signed in" {
		t.Fatalf("after sign-in: %q", got)
	}
	// Kept: the row can go without the server seeing it at once...
	if _, err := db.W.Exec(`UPDATE sessions SET data = 'changed elsewhere' WHERE token = ?`, model.HashToken("tok")); err != nil {
		t.Fatal(err)
	}
	if got := find("kept", "tok"); got != "signed in" {
		t.Fatalf("kept: %q, want the session as this server last wrote it", got)
	}
	// ...but every write of this server is seen at once.
	if err := s.CommitCtx(ctx, "tok", []byte("cart changed"), expiry); err != nil {
		t.Fatal(err)
	}
	if got := find("after a change", "tok"); got != "cart changed" {
		t.Fatalf("after a change: %q", got)
	}
	if err := s.DeleteCtx(ctx, "tok"); err != nil {
		t.Fatal(err)
	}
	if got := find("after sign-out", "tok"); got != "(none)" {
		t.Fatalf("after sign-out the session is still found: %q", got)
	}

	// A read that began before a write is not kept.
	if err := s.CommitCtx(ctx, "tok2", []byte("v1"), expiry); err != nil {
		t.Fatal(err)
	}
	began := s.kept.readBegins()
	if err := s.CommitCtx(ctx, "tok2", []byte("v2"), expiry); err != nil {
		t.Fatal(err)
	}
	s.kept.read(model.HashToken("tok2"), keptSession{data: []byte("v1"), expiry: expiry, at: time.Now()}, began)
	if got := find("after a late read", "tok2"); got != "v2" {
		t.Fatalf("a read begun before a write put back %q, want v2", got)
	}

	// An ended session is not given, kept or not.
	if err := s.CommitCtx(ctx, "tok3", []byte("short"), time.Now().Add(50*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if got := find("after its end", "tok3"); got != "(none)" {
		t.Fatalf("a session past its expiry is found: %q", got)
	}
	// A kept session is read again after sessionKeptFor.
	s.kept.wrote(model.HashToken("tok2"), keptSession{data: []byte("v2"), expiry: expiry, at: time.Now().Add(-sessionKeptFor)}, false)
	if _, err := db.W.Exec(`UPDATE sessions SET data = 'v3' WHERE token = ?`, model.HashToken("tok2")); err != nil {
		t.Fatal(err)
	}
	if got := find("kept a minute", "tok2"); got != "v3" {
		t.Fatalf("a session kept for %v: %q, want it read again (v3)", sessionKeptFor, got)
	}
}

// A signed-in browser's session is written again, its idle deadline moved on,
// on its first request more than a minute after the last write, and not
// before: through scs as the server runs it, the stored row another writer
// moved back two minutes and the kept session's clock a minute on.
func TestASessionIsWrittenAgainAMinuteAfterItsLastWrite(t *testing.T) {
	s, db := newSessionStore(t)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	s.kept.now = func() time.Time { return time.Unix(0, now.Load()) }
	sm := scs.New()
	sm.Codec, sm.Store, sm.IdleTimeout = sessionCodec, s, 2*time.Hour
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sm.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/sign-in" {
				sm.Put(r.Context(), "user_id", int64(7))
			}
		})).ServeHTTP(w, r.WithContext(withSessionRead(r.Context())))
	}))
	defer srv.Close()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar}
	get := func(path string) {
		t.Helper()
		res, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	expiry := func() float64 {
		t.Helper()
		var e float64
		if err := db.R.QueryRow(`SELECT expiry FROM sessions`).Scan(&e); err != nil {
			t.Fatal(err)
		}
		return e
	}
	get("/sign-in")
	signedIn := expiry()
	time.Sleep(5 * time.Millisecond) // a write would store a later deadline
	get("/page")
	if got := expiry(); got != signedIn {
		t.Fatalf("a page within the minute wrote the session (expiry %v, then %v)", signedIn, got)
	}
	if _, err := db.W.Exec(`UPDATE sessions SET expiry = expiry - 2.0 / 1440`); err != nil {
		t.Fatal(err)
	}
	movedBack := expiry()
	now.Add(int64(sessionKeptFor))
	get("/page")
	if got := expiry(); (got-movedBack)*86400 < 60 {
		t.Errorf("a minute on, a page moved the deadline by %.0f s, want two minutes again", (got-movedBack)*86400)
	}
}
