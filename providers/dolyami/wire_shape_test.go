package dolyami

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"orderdesk/providers/internal/wire"
)

// These tests hold the sandbox to the wire shapes that public clients of
// Dolyami rely on (written from the documentation in providers.md and what
// github.com/ValGoldun/dolyame sends and decodes): Basic auth without the
// base64 padding, amounts as decimal strings, info and cancel as a POST
// without a body, answers with amounts a decimal reads, and notifications
// to the notification_url the shop gave, query and all, including
// wait_for_commit. They speak raw HTTP, not through our Client.

// call sends one API call the way that client does and decodes the answer.
func (e *env) sdkCall(path string, body any, into any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(http.MethodPost, e.sb.APIURL()+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	// Unpadded, as base64.RawStdEncoding writes it.
	req.Header.Set("Authorization", "Basic "+base64.RawStdEncoding.EncodeToString([]byte(DemoLogin+":"+DemoPassword)))
	req.Header.Set("X-Correlation-ID", "8e3b3d4c-5a34-4c1e-9f0e-3d1f6f0b2a11")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK && into != nil {
		if err := json.Unmarshal(raw, into); err != nil {
			e.t.Fatalf("%s: the answer does not decode with the client's types: %v\n%s", path, err, raw)
		}
	}
	return resp.StatusCode
}

// decimal is an amount as a decimal-reading client takes it: a JSON number
// or a string holding one.
type decimal json.RawMessage

func (d *decimal) UnmarshalJSON(b []byte) error {
	*d = append((*d)[:0], b...)
	return nil
}

func (d decimal) minor(t *testing.T) int64 {
	t.Helper()
	v, err := wire.ParseMinor(strings.Trim(string(d), `"`))
	if err != nil {
		t.Fatalf("amount %s is not a decimal: %v", d, err)
	}
	return v
}

type sdkOrderAnswer struct {
	Status          string  `json:"status"`
	Amount          decimal `json:"amount"`
	ResidualAmount  decimal `json:"residual_amount"`
	Link            string  `json:"link"`
	PaymentSchedule []struct {
		Amount decimal `json:"amount"`
		Date   string  `json:"date"`
		Status string  `json:"status"`
	} `json:"payment_schedule"`
	RefundInfo *struct {
		TotalRefundedAmount decimal `json:"total_refunded_amount"`
	} `json:"refund_info"`
}

func TestDolyamiWireShapesOfAPublicClient(t *testing.T) {
	e := newEnv(t)
	if len(DemoLogin+":"+DemoPassword)%3 == 0 {
		t.Fatal("the demo credentials encode without padding: this test would not tell padded from unpadded")
	}
	notify := e.rc.srv.URL + "/webhooks/dolyami?order_id=ORD-W1"

	// Create as the client sends it: decimal strings, its empty fields kept.
	var created sdkOrderAnswer
	if code := e.sdkCall("/orders/create", map[string]any{
		"order": map[string]any{"id": "ORD-W1", "amount": "1500.5", "prepaid_amount": "0",
			"items": []map[string]any{{"name": "Чайник", "quantity": 2, "price": "500.25", "sku": "T-1"}, {"name": "Чашка", "quantity": 1, "price": "500", "sku": ""}}},
		"client_info":      map[string]any{"phone": "+79990000000", "email": "anna@example.test", "birthdate": "", "first_name": "Анна", "last_name": "", "middle_name": ""},
		"notification_url": notify, "fail_url": "https://shop.example/fail", "success_url": "https://shop.example/ok",
	}, &created); code != http.StatusOK {
		t.Fatalf("create with unpadded Basic auth: HTTP %d", code)
	}
	if created.Status != StatusNew || created.Amount.minor(t) != 150050 || created.Link == "" {
		t.Fatalf("create answered %+v", created)
	}

	// Info is a POST with no body at all.
	var info sdkOrderAnswer
	if code := e.sdkCall("/orders/ORD-W1/info", nil, &info); code != http.StatusOK || info.Status != StatusNew {
		t.Fatalf("info: HTTP %d %+v", code, info)
	}

	// The buyer pays; the shop, which has not committed, hears approved
	// and then wait_for_commit, at the URL it gave, query and all.
	e.press(created.Link, "pay")
	if got := e.rc.statuses(); !equal(got, []string{StatusApproved, StatusWaitForCommit}) {
		t.Fatalf("notifications %v, want approved, wait_for_commit", got)
	}
	if q := e.rc.lastQuery(); q.Get("order_id") != "ORD-W1" {
		t.Errorf("the notification came to ?%s, want the order_id the shop put in its notification_url", q.Encode())
	}
	if code := e.sdkCall("/orders/ORD-W1/info", nil, &info); code != http.StatusOK || info.Status != StatusWaitForCommit ||
		len(info.PaymentSchedule) == 0 || info.ResidualAmount.minor(t) >= 150050 {
		t.Fatalf("info after paying: HTTP %d %+v", code, info)
	}

	// Commit as the client sends it.
	var committed sdkOrderAnswer
	if code := e.sdkCall("/orders/ORD-W1/commit", map[string]any{"amount": "1500.5", "prepaid_amount": "0",
		"items": []map[string]any{{"name": "Чайник", "quantity": 2, "price": "500.25", "sku": "T-1"}, {"name": "Чашка", "quantity": 1, "price": "500", "sku": ""}}},
		&committed); code != http.StatusOK || committed.Status != StatusCommitted {
		t.Fatalf("commit: HTTP %d %+v", code, committed)
	}

	// A padded header is accepted as well, and a wrong password is not,
	// padded or not.
	for _, h := range []string{
		"Basic " + base64.RawStdEncoding.EncodeToString([]byte(DemoLogin+":wrong")),
		"Basic " + base64.StdEncoding.EncodeToString([]byte(DemoLogin+":wrong")),
		"Basic not base64!",
	} {
		req, _ := http.NewRequest(http.MethodPost, e.sb.APIURL()+"/orders/ORD-W1/info", nil)
		req.Header.Set("Authorization", h)
		req.Header.Set("X-Correlation-ID", "8e3b3d4c-5a34-4c1e-9f0e-3d1f6f0b2a12")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("Authorization %q: HTTP %d, want 401", h, resp.StatusCode)
		}
	}
	if c, err := e.client.Info(t.Context(), "ORD-W1"); err != nil || c.Status != StatusCompleted {
		t.Errorf("our client (padded auth): %+v, %v", c, err)
	}
}

// lastQuery is the query of the URL the last notification came to.
func (rc *receiver) lastQuery() url.Values {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.lastURL.Query()
}
