package httpbody

import (
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.HandlerFunc) *http.Response {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestReadAndClose(t *testing.T) {
	t.Run("the answer is read up to the limit", func(t *testing.T) {
		resp := get(t, func(w http.ResponseWriter, r *http.Request) { Write(w, []byte("0123456789")) })
		got, err := ReadAndClose(resp, 4)
		if err != nil || string(got) != "0123" {
			t.Fatalf("got %q, %v; want %q", got, err, "0123")
		}
	})

	t.Run("an answer cut short is an error, not a shorter answer", func(t *testing.T) {
		resp := get(t, func(w http.ResponseWriter, r *http.Request) {
			// Promise 100 bytes and send 10: the server then drops the connection.
			w.Header().Set("Content-Length", "100")
			Write(w, []byte("0123456789"))
		})
		got, err := ReadAndClose(resp, 1<<20)
		if !errors.Is(err, io.ErrUnexpectedEOF) || got != nil {
			t.Fatalf("got %q, %v; want no answer and io.ErrUnexpectedEOF", got, err)
		}
	})

	t.Run("a failed close after a complete read does not fail the call", func(t *testing.T) {
		resp := &http.Response{StatusCode: http.StatusOK, Body: failingClose{strings.NewReader(`{"ok":true}`)}}
		got, err := ReadAndClose(resp, 1<<20)
		if err != nil || string(got) != `{"ok":true}` {
			t.Fatalf("got %q, %v; want the whole answer and no error", got, err)
		}
	})
}

// failingClose is a body whose Close fails, which a real connection does too
// rarely to test with one.
type failingClose struct{ io.Reader }

func (failingClose) Close() error { return errors.New("close failed") }

func TestWriteJSON(t *testing.T) {
	t.Run("an answer has its status, type and json.Encoder's newline", func(t *testing.T) {
		resp := get(t, func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, http.StatusCreated, "application/json; charset=utf-8", map[string]any{"id": 7, "html": "<b>"})
		})
		body, err := ReadAndClose(resp, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusCreated || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			t.Errorf("got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if want := `{"html":"\u003cb\u003e","id":7}` + "\n"; string(body) != want {
			t.Errorf("got body %q, want %q", body, want)
		}
	})

	t.Run("a value that cannot be encoded is a 500 that says why, not half an answer", func(t *testing.T) {
		resp := get(t, func(w http.ResponseWriter, r *http.Request) {
			WriteJSON(w, http.StatusOK, "application/json", map[string]float64{"amount": math.Inf(1)})
		})
		body, err := ReadAndClose(resp, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "encode the answer") {
			t.Errorf("got %d %q, want 500 saying the answer could not be encoded", resp.StatusCode, body)
		}
	})
}
