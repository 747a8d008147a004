package handlers

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/providers/egress"
)

// admissionServer serves /hold (holds its turn until released), /stream
// (writes its answer, then holds on), /call (calls the provider at
// providerURL), /quick and POST /form, with one view at a time.
type admissionServer struct {
	*httptest.Server
	holding, released chan struct{}
	release           sync.Once
	mu                sync.Mutex
	served            []string
}

func newAdmissionServer(t *testing.T, providerURL string) *admissionServer {
	t.Helper()
	s := &admissionServer{holding: make(chan struct{}, 8), released: make(chan struct{})}
	e := echo.New()
	g := e.Group("", newAdmission(1).middleware)
	note := func(c echo.Context) {
		s.mu.Lock()
		s.served = append(s.served, c.Request().URL.RequestURI())
		s.mu.Unlock()
	}
	g.GET("/hold", func(c echo.Context) error {
		s.holding <- struct{}{}
		<-s.released
		note(c)
		return c.String(http.StatusOK, "held")
	})
	g.GET("/stream", func(c echo.Context) error {
		c.Response().WriteHeader(http.StatusOK)
		c.Response().Flush()
		s.holding <- struct{}{}
		<-s.released
		note(c)
		return nil
	})
	client := egress.Policy{Allowed: []string{providerURL}}.Client(time.Minute)
	g.GET("/call", func(c echo.Context) error {
		s.holding <- struct{}{}
		res, err := client.Do(mustRequest(t, c.Request().Context(), providerURL))
		if err != nil {
			return err
		}
		note(c)
		return res.Body.Close()
	})
	g.GET("/quick", func(c echo.Context) error { note(c); return c.String(http.StatusOK, "quick") })
	g.POST("/form", func(c echo.Context) error { note(c); return c.String(http.StatusOK, "posted") })
	s.Server = httptest.NewServer(e)
	t.Cleanup(func() { s.letGo(); s.Close() }) // a failed test leaves no view holding on
	return s
}

// letGo lets the holding views finish.
func (s *admissionServer) letGo() { s.release.Do(func() { close(s.released) }) }

func mustRequest(t *testing.T, ctx context.Context, url string) *http.Request {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Error(err)
	}
	return r
}

// get fetches path in the background; done closes when it answered.
func (s *admissionServer) get(t *testing.T, method, path string) (done chan struct{}) {
	done = make(chan struct{})
	go func() {
		defer close(done)
		var res *http.Response
		var err error
		if method == http.MethodPost {
			res, err = http.Post(s.URL+path, "application/x-www-form-urlencoded", strings.NewReader("a=1"))
		} else {
			res, err = http.DefaultClient.Do(mustRequest(t, context.Background(), s.URL+path))
		}
		if err != nil {
			t.Error(err)
			return
		}
		res.Body.Close()
	}()
	return done
}

func answers(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no answer in 10 s", what)
	}
}

func waitsTurn(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("%s answered while another view held the only turn", what)
	case <-time.After(100 * time.Millisecond):
	}
}

// Page views take turns, in the order they came; forms do not wait for a
// turn.
func TestPageViewsTakeTurnsInTheOrderTheyCame(t *testing.T) {
	s := newAdmissionServer(t, "http://127.0.0.1:1/")
	held := s.get(t, http.MethodGet, "/hold")
	<-s.holding
	var waiting []chan struct{}
	for i := range 3 {
		waiting = append(waiting, s.get(t, http.MethodGet, "/quick?n="+string(rune('1'+i))))
		waitsTurn(t, waiting[i], "a page view")
	}
	answers(t, s.get(t, http.MethodPost, "/form"), "a form sent while a view held the turn")
	s.letGo()
	answers(t, held, "the view holding the turn")
	for _, w := range waiting {
		answers(t, w, "a waiting view")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if got, want := strings.Join(s.served, " "), "/form /hold /quick?n=1 /quick?n=2 /quick?n=3"; got != want {
		t.Errorf("served in the order %s, want %s", got, want)
	}
}

// A turn is given back once the answer starts (a slow reader or a long
// export holds none) and while the view waits on a provider.
func TestATurnIsGivenBackWhenTheAnswerStartsAndDuringAProviderCall(t *testing.T) {
	provider := make(chan struct{})
	var answered sync.Once
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-provider }))
	defer slow.Close()
	defer answered.Do(func() { close(provider) })
	s := newAdmissionServer(t, slow.URL+"/")

	streaming := s.get(t, http.MethodGet, "/stream")
	<-s.holding
	answers(t, s.get(t, http.MethodGet, "/quick"), "a view while another streams its answer")

	calling := s.get(t, http.MethodGet, "/call")
	<-s.holding
	answers(t, s.get(t, http.MethodGet, "/quick"), "a view while another waits on a provider")
	answered.Do(func() { close(provider) })
	answers(t, calling, "the view that called the provider")
	s.letGo()
	answers(t, streaming, "the streaming view")
}
