package paypal

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestFormatAndParseAmount(t *testing.T) {
	tests := []struct {
		minor    int64
		currency string
		text     string
	}{
		{1234, "USD", "12.34"}, {5, "EUR", "0.05"}, {-1995, "USD", "-19.95"}, {1234, "JPY", "1234"}, {0, "USD", "0.00"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.minor, tt.currency); got != tt.text {
			t.Errorf("FormatAmount(%d, %s) = %q, want %q", tt.minor, tt.currency, got, tt.text)
		}
		if got, err := ParseAmount(tt.text, tt.currency); err != nil || got != tt.minor {
			t.Errorf("ParseAmount(%q, %s) = %d, %v; want %d", tt.text, tt.currency, got, err, tt.minor)
		}
	}
	for _, bad := range []string{"", "1.234", "abc", "1,00", "--1", "1e2", "."} {
		if _, err := ParseAmount(bad, "USD"); err == nil {
			t.Errorf("ParseAmount(%q) accepted", bad)
		}
	}
	if got, err := ParseAmount("12.50", "JPY"); err == nil {
		t.Errorf("ParseAmount(12.50 JPY) = %d, want an error", got)
	}
	if got, _ := ParseAmount("12.00", "JPY"); got != 12 {
		t.Errorf("ParseAmount(12.00 JPY) = %d, want 12", got)
	}
}

func TestNewPicksPayPalHosts(t *testing.T) {
	c := New(Config{BaseURL: SandboxIPNBaseURL})
	if c.cfg.CheckoutURL != SandboxCheckoutURL || c.cfg.NVPURL != SandboxNVPURL {
		t.Errorf("sandbox hosts: %+v", c.cfg)
	}
	c = New(Config{BaseURL: LiveIPNBaseURL + "/"})
	if c.cfg.CheckoutURL != LiveCheckoutURL || c.cfg.NVPURL != LiveNVPURL {
		t.Errorf("live hosts: %+v", c.cfg)
	}
	c = New(Config{BaseURL: "http://localhost:8080/sandbox/paypal"})
	if c.cfg.CheckoutURL != "http://localhost:8080/sandbox/paypal/cgi-bin/webscr" || c.cfg.NVPURL != "http://localhost:8080/sandbox/paypal/nvp" {
		t.Errorf("built-in sandbox: %+v", c.cfg)
	}
}

func TestCheckoutURL(t *testing.T) {
	c := New(Config{BaseURL: SandboxIPNBaseURL})
	got := c.CheckoutURL(CheckoutRequest{
		Business: "shop@example.com", Invoice: "ORD-1", Custom: "tenant=1", AmountMinor: 1234, Currency: "usd",
		ItemName: "Order ORD-1", ReturnURL: "https://shop/ok", CancelURL: "https://shop/cancel", NotifyURL: "https://shop/ipn",
	})
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme+"://"+u.Host+u.Path != SandboxCheckoutURL {
		t.Errorf("host = %s", got)
	}
	q := u.Query()
	want := map[string]string{
		"cmd": "_xclick", "business": "shop@example.com", "invoice": "ORD-1", "custom": "tenant=1",
		"amount": "12.34", "currency_code": "USD", "item_name": "Order ORD-1", "return": "https://shop/ok",
		"cancel_return": "https://shop/cancel", "notify_url": "https://shop/ipn", "charset": "utf-8",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
}

// sampleIPN is PayPal's published sample IPN message (IPN documentation).
const sampleIPN = "mc_gross=19.95&protection_eligibility=Eligible&address_status=confirmed&payer_id=LPLWNMTBWMFAY" +
	"&tax=0.00&address_street=1+Main+St&payment_date=20%3A12%3A59+Jan+13%2C+2009+PST&payment_status=Completed" +
	"&charset=windows-1252&address_zip=95131&first_name=Test&mc_fee=0.88&address_country_code=US" +
	"&address_name=Test+User&notify_version=2.6&custom=&payer_status=verified&address_country=United+States" +
	"&address_city=San+Jose&quantity=1&verify_sign=AtkOfCXbDm2hu0ZELryHFjY-Vb7PAUvS6nMXgysbElEn9v-1XcmSoGtf" +
	"&payer_email=gpmac_1231902590_per%40paypal.com&txn_id=61E67681CH3238416&payment_type=instant" +
	"&last_name=User&address_state=CA&receiver_email=gpmac_1231902686_biz%40paypal.com&payment_fee=0.88" +
	"&receiver_id=S8XGHLYDW9T3S&txn_type=express_checkout&item_name=&mc_currency=USD&item_number=" +
	"&residence_country=US&test_ipn=1&handling_amount=0.00&transaction_subject=&payment_gross=19.95&shipping=0.00"

func TestParseIPNSample(t *testing.T) {
	n, err := ParseIPN([]byte(sampleIPN))
	if err != nil {
		t.Fatal(err)
	}
	if n.TxnID != "61E67681CH3238416" || n.PaymentStatus != "Completed" || n.GrossMinor != 1995 || n.FeeMinor != 88 ||
		n.Currency != "USD" || n.ReceiverEmail != "gpmac_1231902686_biz@paypal.com" || n.PayerEmail != "gpmac_1231902590_per@paypal.com" ||
		!n.TestIPN || n.TxnType != "express_checkout" || n.PayerID != "LPLWNMTBWMFAY" {
		t.Fatalf("parsed %+v", n)
	}
	if want := time.Date(2009, 1, 14, 4, 12, 59, 0, time.UTC); !n.PaymentTime.Equal(want) {
		t.Errorf("PaymentTime = %v, want %v", n.PaymentTime, want)
	}
	if n.Stage(1995) != "completed" {
		t.Errorf("Stage = %q", n.Stage(1995))
	}
	if m := n.Mismatch("gpmac_1231902686_biz@paypal.com", 1995, "usd"); m != "" {
		t.Errorf("Mismatch on a matching IPN: %q", m)
	}
}

func TestParseIPNCharsets(t *testing.T) {
	n, err := ParseIPN([]byte("txn_id=X1&charset=windows-1252&first_name=Jos%E9&last_name=M%FCller&item_name=Caf%E9+%80+%96"))
	if err != nil {
		t.Fatal(err)
	}
	if got := n.Fields.Get("first_name") + " " + n.Fields.Get("last_name"); got != "José Müller" {
		t.Errorf("names = %q", got)
	}
	if n.ItemName != "Café € –" {
		t.Errorf("item = %q", n.ItemName)
	}
	n, _ = ParseIPN([]byte("txn_id=X2&charset=UTF-8&item_name=%D0%A7%D0%B0%D0%B9"))
	if n.ItemName != "Чай" {
		t.Errorf("utf-8 item = %q", n.ItemName)
	}
	n, _ = ParseIPN([]byte("txn_id=X3&charset=ISO-8859-1&item_name=%E9"))
	if n.ItemName != "é" {
		t.Errorf("latin-1 item = %q", n.ItemName)
	}
}

func TestParseIPNRefusesBadInput(t *testing.T) {
	for _, body := range []string{"", "foo=bar", "txn_id=1&mc_gross=abc&mc_currency=USD", "txn_id=1&mc_gross=1.234&mc_currency=USD", "%zz"} {
		if _, err := ParseIPN([]byte(body)); err == nil {
			t.Errorf("ParseIPN(%q) accepted", body)
		}
	}
}

func TestStage(t *testing.T) {
	tests := map[string]string{
		"Completed": "completed", "Pending": "processing", "Processed": "processing", "Created": "pending",
		"Denied": "failed", "Failed": "failed", "Refunded": "refunded", "Reversed": "refunded",
		"Canceled_Reversal": "completed", "Voided": "canceled", "Expired": "canceled", "completed": "completed",
		"Partially_Refunded": "partially_refunded", "Something_New": "",
	}
	for in, want := range tests {
		if got := Stage(in); got != want {
			t.Errorf("Stage(%q) = %q, want %q", in, got, want)
		}
	}
	refund := &IPN{PaymentStatus: "Refunded", GrossMinor: -500}
	if got := refund.Stage(2000); got != "partially_refunded" {
		t.Errorf("partial refund stage = %q", got)
	}
	refund.GrossMinor = -2000
	if got := refund.Stage(2000); got != "refunded" {
		t.Errorf("full refund stage = %q", got)
	}
}

func TestMismatch(t *testing.T) {
	n := &IPN{ReceiverEmail: "shop@x.test", GrossMinor: 1000, Currency: "USD"}
	tests := []struct {
		name, email, currency string
		amount                int64
		want                  string
	}{
		{"a matching IPN", "SHOP@x.test", "USD", 1000, ""},
		{"a wrong amount", "shop@x.test", "USD", 2000, "10.00 USD paid"},
		{"a wrong currency", "shop@x.test", "EUR", 1000, "currency USD"},
		{"a wrong receiver", "other@x.test", "USD", 1000, "not to the shop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := n.Mismatch(tt.email, tt.amount, tt.currency)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("Mismatch = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerifyIPNPostsTheOriginalBody(t *testing.T) {
	var gotBody, gotUA, gotType string
	answer := "VERIFIED"
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotUA, gotType = string(b), r.UserAgent(), r.Header.Get("Content-Type")
		if r.URL.Path != "/cgi-bin/webscr" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL})
	// A body whose re-encoding would differ: keep it byte for byte.
	raw := "b=2&a=1&name=J%c3%b6rg+%2B&empty="
	if err := c.VerifyIPN(context.Background(), []byte(raw)); err != nil {
		t.Fatal(err)
	}
	if gotBody != "cmd=_notify-validate&"+raw || gotUA == "" || gotType != "application/x-www-form-urlencoded" {
		t.Fatalf("posted %q (UA %q, type %q)", gotBody, gotUA, gotType)
	}
	answer = "INVALID"
	if err := c.VerifyIPN(context.Background(), []byte(raw)); !errors.Is(err, ErrInvalid) {
		t.Fatalf("INVALID: %v", err)
	}
	answer = "<html>maintenance</html>"
	if err := c.VerifyIPN(context.Background(), []byte(raw)); err == nil || errors.Is(err, ErrInvalid) {
		t.Fatalf("garbage answer: %v", err)
	}
	status, answer = 503, ""
	var pe *Error
	if err := c.VerifyIPN(context.Background(), []byte(raw)); !errors.As(err, &pe) || pe.HTTPStatus != 503 {
		t.Fatalf("503: %v", err)
	}
}

func TestErrorAndExplain(t *testing.T) {
	e := &Error{Code: "10009", ShortMessage: "Transaction refused", LongMessage: "The partial refund amount must be less than or equal to the remaining amount"}
	if !strings.HasPrefix(e.Error(), "paypal: 10009") {
		t.Errorf("Error() = %q", e.Error())
	}
	if !strings.Contains(Explain(e), "larger than what is left") {
		t.Errorf("Explain = %q", Explain(e))
	}
	if !strings.Contains(Explain(&Error{Code: "10002"}), "credentials") {
		t.Error("Explain(10002) does not mention credentials")
	}
	if !strings.Contains(Explain(ErrInvalid), "not genuine") {
		t.Error("Explain(ErrInvalid)")
	}
	if !strings.Contains(Explain(&Error{HTTPStatus: 500}), "internal problem") {
		t.Error("Explain(500)")
	}
}

// activityCSV is shaped like PayPal's activity download: BOM, every field
// quoted, thousands separators, columns PayPal adds that we ignore.
const activityCSV = "\ufeff\"Date\",\"Time\",\"TimeZone\",\"Name\",\"Type\",\"Status\",\"Currency\",\"Gross\",\"Fee\",\"Net\"," +
	"\"From Email Address\",\"To Email Address\",\"Transaction ID\",\"Shipping Address\",\"Item Title\",\"Invoice Number\",\"Reference Txn ID\"\r\n" +
	"\"01/13/2009\",\"20:12:59\",\"PST\",\"Test User\",\"Website Payment\",\"Completed\",\"USD\",\"1,234.56\",\"-36.10\",\"1,198.46\"," +
	"\"buyer@x.test\",\"shop@x.test\",\"61E67681CH3238416\",\"1 Main St, San Jose\",\"Tea\",\"ORD-1\",\"\"\r\n" +
	"\r\n" +
	"\"01/14/2009\",\"10:00:00\",\"PST\",\"Test User\",\"Payment Refund\",\"Completed\",\"USD\",\"-12.34\",\"0.36\",\"-11.98\"," +
	"\"shop@x.test\",\"buyer@x.test\",\"9XY12345AB678901C\",\"\",\"Tea\",\"ORD-1\",\"61E67681CH3238416\"\r\n" +
	"\"14/01/2009\",\"11:00:00\",\"CET\",\"Käufer\",\"Website Payment\",\"Completed\",\"EUR\",\"1.234,50\",\"-35,80\",\"1.198,70\"," +
	"\"k@x.test\",\"shop@x.test\",\"1AB23456CD789012E\",\"\",\"Tee\",\"ORD-2\",\"\"\r\n" +
	"\"14/01/2009\",\"11:00:00\",\"JST\",\"Buyer\",\"Website Payment\",\"Pending\",\"JPY\",\"12,345\",\"-400\",\"11,945\"," +
	"\"j@x.test\",\"shop@x.test\",\"2AB23456CD789012E\",\"\",\"Tea\",\"ORD-3\",\"\"\r\n"

func TestParseSettlementCSV(t *testing.T) {
	rows, err := ParseSettlementCSV(strings.NewReader(activityCSV))
	if err != nil {
		t.Fatal(err)
	}
	want := []Settlement{
		{TxnID: "61E67681CH3238416", Status: "Completed", GrossMinor: 123456, FeeMinor: -3610, NetMinor: 119846, Currency: "USD", Invoice: "ORD-1", Date: "01/13/2009", Type: "Website Payment"},
		{TxnID: "9XY12345AB678901C", Status: "Completed", GrossMinor: -1234, FeeMinor: 36, NetMinor: -1198, Currency: "USD", Invoice: "ORD-1", ReferenceTxnID: "61E67681CH3238416", Type: "Payment Refund"},
		{TxnID: "1AB23456CD789012E", Status: "Completed", GrossMinor: 123450, FeeMinor: -3580, NetMinor: 119870, Currency: "EUR", Invoice: "ORD-2"},
		{TxnID: "2AB23456CD789012E", Status: "Pending", GrossMinor: 12345, FeeMinor: -400, NetMinor: 11945, Currency: "JPY", Invoice: "ORD-3"},
	}
	if len(rows) != len(want) {
		t.Fatalf("got %d rows: %+v", len(rows), rows)
	}
	for i, w := range want {
		g := rows[i]
		if g.TxnID != w.TxnID || g.Status != w.Status || g.GrossMinor != w.GrossMinor || g.FeeMinor != w.FeeMinor ||
			g.NetMinor != w.NetMinor || g.Currency != w.Currency || g.Invoice != w.Invoice ||
			(w.ReferenceTxnID != "" && g.ReferenceTxnID != w.ReferenceTxnID) || (w.Date != "" && g.Date != w.Date) ||
			(w.Type != "" && g.Type != w.Type) {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestParseSettlementCSVOtherShapes(t *testing.T) {
	// Unquoted, other column names and order, no BOM.
	rows, err := ParseSettlementCSV(strings.NewReader("Txn ID,Amount,Currency Code,Transaction Status,Invoice ID\nAAA,10.5,usd,Completed,X\n"))
	if err != nil || len(rows) != 1 || rows[0].GrossMinor != 1050 || rows[0].Currency != "USD" || rows[0].Invoice != "X" {
		t.Fatalf("rows = %+v, %v", rows, err)
	}
	for _, bad := range []string{"", "Date,Gross\n1,2\n", "Transaction ID,Status\nA,Completed\n", "Transaction ID,Gross,Currency\nA,abc,USD\n"} {
		if _, err := ParseSettlementCSV(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzParseIPN(f *testing.F) {
	f.Add([]byte(sampleIPN))
	f.Add([]byte("txn_id=X1&charset=windows-1252&first_name=Jos%E9&mc_gross=-1.00&mc_currency=JPY"))
	f.Add([]byte("txn_type=subscr_signup"))
	f.Add([]byte("%zz&&=="))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := ParseIPN(body)
		if err != nil {
			return
		}
		if n.TxnID == "" && n.TxnType == "" {
			t.Fatalf("accepted an IPN without txn_id and txn_type: %q", body)
		}
		for k, vs := range n.Fields {
			for _, v := range append(vs, k) {
				if !utf8.ValidString(v) {
					t.Fatalf("field %q is not valid UTF-8", v)
				}
			}
		}
		// Amounts must survive a round trip through the wire format.
		if s := n.Fields.Get("mc_gross"); s != "" {
			if back, err := ParseAmount(FormatAmount(n.GrossMinor, n.Currency), n.Currency); err != nil || back != n.GrossMinor {
				t.Fatalf("mc_gross %q → %d does not round-trip", s, n.GrossMinor)
			}
		}
		_ = n.Stage(n.GrossMinor)
		_ = n.Mismatch("a@b", n.GrossMinor, n.Currency)
	})
}

func FuzzParseSettlementCSV(f *testing.F) {
	f.Add([]byte(activityCSV))
	f.Add([]byte("Transaction ID,Gross\nA,\"(1,234.50)\"\n"))
	f.Add([]byte("\ufeffTransaction ID;Gross\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := ParseSettlementCSV(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.TxnID == "" {
				t.Fatalf("a row without a transaction id: %+v", r)
			}
		}
	})
}
