package tinkoff

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
)

// These tests hold the sandbox to the wire shapes that public clients of
// T-Bank rely on (written from the bank's documentation and what
// github.com/nikita-vanyasin/tinkoff sends and decodes): JSON with the exact
// field types below, a Token over the root scalars, and notifications with
// DATA as a string that counts in the Token. They speak raw HTTP, not
// through our Client, so the sandbox cannot drift along with it.

// sdkToken is the token as such a client computes it: the values of the
// fields it lists (an empty value adds nothing), Password, sorted by key,
// concatenated, SHA-256 in lower-case hex.
func sdkToken(vals map[string]string, password string) string {
	v := map[string]string{"Password": password}
	for k, x := range vals {
		v[k] = x
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString(v[k])
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}

// sdkNotification is a notification decoded with the field types those
// clients declare: a numeric PaymentId, Amount and CardId, and DATA a string.
type sdkNotification struct {
	TerminalKey string `json:"TerminalKey"`
	OrderID     string `json:"OrderId"`
	Success     bool   `json:"Success"`
	Status      string `json:"Status"`
	PaymentID   uint64 `json:"PaymentId"`
	ErrorCode   string `json:"ErrorCode"`
	Amount      uint64 `json:"Amount"`
	CardID      uint64 `json:"CardId"`
	Pan         string `json:"Pan"`
	ExpDate     string `json:"ExpDate"`
	DATA        string `json:"DATA"`
	Token       string `json:"Token"`
}

func (e *env) postRaw(method string, body map[string]any, into any) {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.Post(e.sb.APIURL()+"/"+method, "application/json", bytes.NewReader(b))
	if err != nil {
		e.t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("%s: HTTP %d %s", method, resp.StatusCode, raw)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(into); err != nil {
		e.t.Fatalf("%s: the answer does not decode with the client's types: %v\n%s", method, err, raw)
	}
}

func TestTBankWireShapesOfAPublicClient(t *testing.T) {
	e := newEnv(t)
	notifyURL := e.rc.srv.URL + "/webhooks/tinkoff"

	// Init as the client sends it: Amount a number, DATA an object left out
	// of the Token, RedirectDueDate an empty string when not set.
	tokenVals := map[string]string{"OrderId": "ORD-1", "Amount": "150050", "Description": "Заказ 1",
		"RedirectDueDate": "", "NotificationURL": notifyURL, "SuccessURL": "https://shop.example/ok", "FailURL": "https://shop.example/fail",
		"TerminalKey": DemoTerminalKey}
	var initRes struct {
		TerminalKey string `json:"TerminalKey"`
		Success     bool   `json:"Success"`
		ErrorCode   string `json:"ErrorCode"`
		Amount      uint64 `json:"Amount"`
		OrderID     string `json:"OrderId"`
		Status      string `json:"Status"`
		PaymentID   string `json:"PaymentId"`
		PaymentURL  string `json:"PaymentURL"`
	}
	e.postRaw("Init", map[string]any{"TerminalKey": DemoTerminalKey, "OrderId": "ORD-1", "Amount": 150050,
		"Description": "Заказ 1", "DATA": map[string]string{"order": "1", "Email": "a@test.com"}, "RedirectDueDate": "",
		"NotificationURL": notifyURL, "SuccessURL": "https://shop.example/ok", "FailURL": "https://shop.example/fail",
		"Token": sdkToken(tokenVals, DemoPassword)}, &initRes)
	if !initRes.Success || initRes.ErrorCode != "0" || initRes.Amount != 150050 || initRes.PaymentID == "" || initRes.PaymentURL == "" {
		t.Fatalf("Init answered %+v", initRes)
	}

	// GetState and its answer: PaymentId a string both ways.
	var state struct {
		Success   bool   `json:"Success"`
		ErrorCode string `json:"ErrorCode"`
		Status    string `json:"Status"`
		PaymentID string `json:"PaymentId"`
		OrderID   string `json:"OrderId"`
	}
	e.postRaw("GetState", map[string]any{"TerminalKey": DemoTerminalKey, "PaymentId": initRes.PaymentID,
		"Token": sdkToken(map[string]string{"TerminalKey": DemoTerminalKey, "PaymentId": initRes.PaymentID}, DemoPassword)}, &state)
	if !state.Success || state.Status != StatusNew || state.PaymentID != initRes.PaymentID || state.OrderID != "ORD-1" {
		t.Fatalf("GetState answered %+v", state)
	}

	e.press(initRes.PaymentURL, "pay")
	e.rc.mu.Lock()
	raw := append([]string(nil), e.rc.raw...)
	e.rc.mu.Unlock()
	if len(raw) == 0 {
		t.Fatal("the shop got no notification")
	}
	for _, body := range raw {
		var fields map[string]json.RawMessage
		if err := json.Unmarshal([]byte(body), &fields); err != nil {
			t.Fatal(err)
		}
		if d := strings.TrimSpace(string(fields["DATA"])); !strings.HasPrefix(d, `"`) {
			t.Errorf("DATA is sent as %s, want a string holding the JSON object, as the bank sends it", d)
		}
		var n sdkNotification
		if err := json.Unmarshal([]byte(body), &n); err != nil {
			t.Fatalf("the notification does not decode with the client's types: %v\n%s", err, body)
		}
		var data map[string]string
		if err := json.Unmarshal([]byte(n.DATA), &data); err != nil || data["order"] != "1" || data["Email"] != "a@test.com" {
			t.Errorf("DATA %q does not hold what Init passed: %v", n.DATA, err)
		}
		// The client checks the Token over these values, DATA included.
		want := sdkToken(map[string]string{"TerminalKey": n.TerminalKey, "OrderId": n.OrderID, "Success": map[bool]string{true: "true", false: "false"}[n.Success],
			"Status": n.Status, "PaymentId": jsonUint(n.PaymentID), "ErrorCode": n.ErrorCode, "Amount": jsonUint(n.Amount),
			"CardId": jsonUint(n.CardID), "Pan": n.Pan, "ExpDate": n.ExpDate, "DATA": n.DATA}, DemoPassword)
		if n.Token != want {
			t.Errorf("%s notification's Token is not the one a client computes with DATA in it\n%s", n.Status, body)
		}
		if jsonUint(n.PaymentID) != initRes.PaymentID || n.Amount != 150050 || n.TerminalKey != DemoTerminalKey {
			t.Errorf("notification %+v", n)
		}
	}
	// And our own client reads the same notification, DATA and all.
	if got := e.rc.last(); got.DATA["order"] != "1" || got.Status != StatusConfirmed {
		t.Errorf("our client read %+v", got)
	}
}

func jsonUint(v uint64) string {
	b, _ := json.Marshal(v)
	return string(b)
}
