package kuveyt

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestHashKnownAnswers(t *testing.T) {
	// Self-computed vectors from providers.md (computed from the stated
	// algorithm, not published by Kuveyt).
	hp := HashPassword("Api123")
	if hp != "c77dFssAnYSy6O2MJo+5tMYtGVc=" {
		t.Fatalf("HashPassword(Api123) = %q", hp)
	}
	if got := PayGateHash("496", "ORD1", "100", "https://ok", "https://fail", "apiuser1", hp); got != "I6J9UV9Jyu8pCIAfIbymPi+lAHY=" {
		t.Fatalf("PayGateHash = %q", got)
	}
	// Provision: the same construction without the URLs, checked against a
	// direct computation.
	sum := sha1.Sum([]byte("496" + "ORD1" + "100" + "apiuser1" + hp))
	if got, want := ProvisionHash("496", "ORD1", "100", "apiuser1", hp), base64.StdEncoding.EncodeToString(sum[:]); got != want {
		t.Fatalf("ProvisionHash = %q, want %q", got, want)
	}
}

func TestISO88599(t *testing.T) {
	in := "ğüşıöçĞÜŞİÖÇ aZ€"
	want := []byte{0xF0, 0xFC, 0xFE, 0xFD, 0xF6, 0xE7, 0xD0, 0xDC, 0xDE, 0xDD, 0xD6, 0xC7, ' ', 'a', 'Z', '?'}
	if got := iso88599(in); !bytes.Equal(got, want) {
		t.Fatalf("iso88599 = % x, want % x", got, want)
	}
	if got := decodeISO88599(want[:12]); got != "ğüşıöçĞÜŞİÖÇ" {
		t.Fatalf("decode = %q", got)
	}
	// A Turkish password hashes its Latin-5 bytes, not its UTF-8 bytes.
	sum := sha1.Sum([]byte{0xFE, 'f', 'r', 'e'})
	if HashPassword("Şfre") == HashPassword("Sfre") || HashPassword("şfre") != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatal("Turkish letters are not hashed as ISO-8859-9")
	}
}

// bankFailSample is an AuthenticationResponse as Kuveyt's gate posted it to
// a FailUrl (published in a public integration's README), URL-encoded with
// lower-case hex and '+' for spaces as .NET's UrlEncode writes it.
const bankFailSample = "%3c%3fxml+version%3d%221.0%22+encoding%3d%22utf-8%22%3f%3e%3cVPosTransactionResponseContract+" +
	"xmlns%3axsd%3d%22http%3a%2f%2fwww.w3.org%2f2001%2fXMLSchema%22+xmlns%3axsi%3d%22http%3a%2f%2fwww.w3.org%2f2001%2fXMLSchema-instance%22%3e" +
	"%3cIsEnrolled%3etrue%3c%2fIsEnrolled%3e%3cIsVirtual%3efalse%3c%2fIsVirtual%3e%3cResponseCode%3eCommonThreedControlsReturnedFail%3c%2fResponseCode%3e" +
	"%3cResponseMessage%3e%c4%b0%c5%9flem+ger%c3%a7ekle%c5%9ftirilemedi.%3c%2fResponseMessage%3e%3cOrderId%3e0%3c%2fOrderId%3e" +
	"%3cTransactionTime%3e0001-01-01T00%3a00%3a00%3c%2fTransactionTime%3e%3cMerchantOrderId%3edb926ff3-a12a-4a2c-88d5-7c15ce3c6494%3c%2fMerchantOrderId%3e" +
	"%3cReferenceId%3e13144df6b8ad4bfb97c78236f1e610d9%3c%2fReferenceId%3e%3cMerchantId%3e57902%3c%2fMerchantId%3e%3cBusinessKey%3e0%3c%2fBusinessKey%3e" +
	"%3c%2fVPosTransactionResponseContract%3e"

const successXML = `<?xml version="1.0" encoding="utf-8"?><VPosTransactionResponseContract><VPosMessage><OrderId>100234</OrderId>` +
	`<MerchantOrderId>ORD-1</MerchantOrderId><Amount>12345</Amount><CurrencyCode>949</CurrencyCode><InstallmentCount>0</InstallmentCount>` +
	`<HashData>x+y/z=</HashData></VPosMessage><IsEnrolled>true</IsEnrolled><ResponseCode>00</ResponseCode><ResponseMessage>Kart doğrulandı.</ResponseMessage>` +
	`<OrderId>100234</OrderId><MerchantOrderId>ORD-1</MerchantOrderId><HashData>abc+def=</HashData><MD>bWQrdmFsdWU=</MD><BusinessKey>0</BusinessKey></VPosTransactionResponseContract>`

func TestParseAuthenticationResponse(t *testing.T) {
	t.Run("the bank's published failure answer", func(t *testing.T) {
		a, err := ParseAuthenticationResponse(bankFailSample)
		if err != nil {
			t.Fatal(err)
		}
		if a.OK() || a.ResponseCode != "CommonThreedControlsReturnedFail" || a.ResponseMessage != "İşlem gerçekleştirilemedi." ||
			a.MerchantOrderID != "db926ff3-a12a-4a2c-88d5-7c15ce3c6494" || a.OrderID != "" || a.MD != "" || !a.IsEnrolled {
			t.Fatalf("parsed %+v", a)
		}
		if !strings.Contains(Explain(&Error{Code: a.ResponseCode}), "3D Secure") {
			t.Fatal("Explain does not mention 3D Secure")
		}
	})
	t.Run("a success, URL-encoded with '+' in the data", func(t *testing.T) {
		a, err := ParseAuthenticationResponse(url.QueryEscape(successXML))
		if err != nil {
			t.Fatal(err)
		}
		if !a.OK() || a.MD != "bWQrdmFsdWU=" || a.AmountMinor != 12345 || a.OrderID != "100234" || a.MerchantOrderID != "ORD-1" ||
			a.CurrencyCode != "949" || a.HashData != "abc+def=" {
			t.Fatalf("parsed %+v", a)
		}
	})
	t.Run("already decoded XML keeps its '+' signs", func(t *testing.T) {
		a, err := ParseAuthenticationResponse(successXML)
		if err != nil || a.MD != "bWQrdmFsdWU=" {
			t.Fatalf("parsed %+v, %v", a, err)
		}
	})
	t.Run("an ISO-8859-9 answer", func(t *testing.T) {
		x := append([]byte(`<?xml version="1.0" encoding="ISO-8859-9"?><VPosTransactionResponseContract><ResponseCode>05</ResponseCode><ResponseMessage>`),
			iso88599("İşlem onaylanmadı")...)
		x = append(x, []byte(`</ResponseMessage></VPosTransactionResponseContract>`)...)
		a, err := ParseAuthenticationResponse(url.QueryEscape(string(x)))
		if err != nil || a.ResponseMessage != "İşlem onaylanmadı" || a.ResponseCode != "05" {
			t.Fatalf("parsed %+v, %v", a, err)
		}
	})
	for _, bad := range []string{"", "%zz", "not xml", url.QueryEscape("<a><b></a>"), url.QueryEscape("<X><Foo>1</Foo></X>"),
		url.QueryEscape(`<R><ResponseCode>00</ResponseCode><VPosMessage><Amount>-5</Amount></VPosMessage></R>`)} {
		if _, err := ParseAuthenticationResponse(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := map[string]int64{"100": 100, "12345": 12345, "1.00": 100, "1,5": 150, "": 0, "0": 0}
	for in, want := range tests {
		if got, err := parseAmount(in); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"-1", "1.005", "abc", "+3"} {
		if _, err := parseAmount(bad); err == nil {
			t.Errorf("parseAmount(%q) accepted", bad)
		}
	}
}

func TestPayGateSendsTheDocumentedMessage(t *testing.T) {
	var got vposMessage
	var ctype, path string
	answer := "<html><body onload=\"document.forms[0].submit()\"><form action=\"https://acs.example/\"></form></body></html>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ctype = r.URL.Path, r.Header.Get("Content-Type")
		b, _ := io.ReadAll(r.Body)
		if err := xml.Unmarshal(b, &got); err != nil {
			t.Errorf("request is not XML: %v\n%s", err, b)
		}
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL + "/", MerchantID: "496", CustomerID: "400235", UserName: "apiuser1", Password: "Api123"})
	html, err := c.PayGate(context.Background(), PayGateRequest{
		MerchantOrderID: "ORD1", AmountMinor: 100, OkURL: "https://ok", FailURL: "https://fail",
		Card:  Card{Number: "4033 6025 6202 0327", HolderName: "Test Kart", ExpMonth: 1, ExpYear: 2030, CVV: "861"},
		Email: "a@b.test", Phone: "+90 555 123 45 67", ClientIP: "10.0.0.1",
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(html) != answer || path != "/Home/ThreeDModelPayGate" || !strings.HasPrefix(ctype, "application/xml") {
		t.Fatalf("html %q path %q type %q", html, path, ctype)
	}
	want := vposMessage{APIVersion: "TDV2.0.0", OkURL: "https://ok", FailURL: "https://fail", HashData: "I6J9UV9Jyu8pCIAfIbymPi+lAHY=",
		MerchantID: "496", CustomerID: "400235", UserName: "apiuser1", CardNumber: "4033602562020327", CardExpireDateYear: "30",
		CardExpireDateMonth: "01", CardCVV2: "861", CardHolderName: "Test Kart", CardType: "Visa", BatchID: "0",
		TransactionType: "Sale", InstallmentCount: "0", Amount: "100", DisplayAmount: "100", CurrencyCode: "0949",
		MerchantOrderID: "ORD1", TransactionSecurity: "3"}
	g := got
	g.XMLName, g.DeviceData, g.CardHolderData = xml.Name{}, nil, nil
	if g != want {
		t.Fatalf("message =\n%+v\nwant\n%+v", g, want)
	}
	if got.DeviceData == nil || got.DeviceData.ClientIP != "10.0.0.1" || got.CardHolderData == nil ||
		got.CardHolderData.Email != "a@b.test" || got.CardHolderData.MobilePhone.Subscriber != "5551234567" {
		t.Fatalf("device/holder data = %+v %+v", got.DeviceData, got.CardHolderData)
	}
}

func TestPayGateAndProvisionRefusals(t *testing.T) {
	answer := ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	c := New(Config{BaseURL: srv.URL, MerchantID: "496", CustomerID: "400235", UserName: "apiuser1", Password: "x"})
	req := PayGateRequest{MerchantOrderID: "O", AmountMinor: 1, OkURL: "o", FailURL: "f", Card: Card{Number: "4033602562020327", ExpMonth: 1, ExpYear: 30}}
	answer = `<?xml version="1.0" encoding="utf-8"?><VPosTransactionResponseContract><ResponseCode>HashDataError</ResponseCode><ResponseMessage>Şifrelenen veriler (Hashdata) uyuşmamaktadır.</ResponseMessage></VPosTransactionResponseContract>`
	_, err := c.PayGate(context.Background(), req)
	var ke *Error
	if !errors.As(err, &ke) || ke.Code != "HashDataError" || !strings.HasPrefix(err.Error(), "kuveyt: ") || !strings.Contains(Explain(err), "HashData") {
		t.Fatalf("PayGate refusal: %v", err)
	}
	answer = `<VPosTransactionResponseContract><ResponseCode>51</ResponseCode><ResponseMessage>Yetersiz bakiye.</ResponseMessage></VPosTransactionResponseContract>`
	_, err = c.Provision(context.Background(), ProvisionRequest{MerchantOrderID: "O", AmountMinor: 1, MD: "m"})
	if !errors.As(err, &ke) || ke.Code != "51" || Explain(err) != "The card has insufficient funds." {
		t.Fatalf("Provision 51: %v / %q", err, Explain(err))
	}
	answer = `<VPosTransactionResponseContract><ResponseCode>00</ResponseCode><ProvisionNumber>123456</ProvisionNumber><RRN>000011112222</RRN><Stan>654321</Stan><OrderId>99</OrderId><MerchantOrderId>O</MerchantOrderId><VPosMessage><Amount>1</Amount></VPosMessage></VPosTransactionResponseContract>`
	p, err := c.Provision(context.Background(), ProvisionRequest{MerchantOrderID: "O", AmountMinor: 1, MD: "m"})
	if err != nil || p.ProvisionNumber != "123456" || p.RRN != "000011112222" || p.Stan != "654321" || p.OrderID != "99" || p.AmountMinor != 1 {
		t.Fatalf("Provision 00: %+v, %v", p, err)
	}
	if _, err := c.Provision(context.Background(), ProvisionRequest{MerchantOrderID: "O", AmountMinor: 1}); err == nil {
		t.Fatal("Provision without MD accepted")
	}
	for _, bad := range []PayGateRequest{
		{MerchantOrderID: "O", AmountMinor: 1, OkURL: "o", FailURL: "f", Card: Card{Number: "12", ExpMonth: 1, ExpYear: 30}},
		{MerchantOrderID: "O", AmountMinor: 1, OkURL: "o", FailURL: "f", Card: Card{Number: "4033602562020327", ExpMonth: 13, ExpYear: 30}},
		{MerchantOrderID: "O", AmountMinor: 0, OkURL: "o", FailURL: "f", Card: Card{Number: "4033602562020327", ExpMonth: 1, ExpYear: 30}},
	} {
		if _, err := c.PayGate(context.Background(), bad); err == nil {
			t.Errorf("PayGate accepted %+v", bad)
		}
	}
}

func TestExplain(t *testing.T) {
	tests := map[string]string{
		"51": "insufficient funds", "05": "declined", "MetaDataNotFound": "3D Secure session", "ApiUserNotDefined": "API user",
		"54": "expired", "XYZ": "declined the payment",
	}
	for code, want := range tests {
		if got := Explain(&Error{Code: code}); !strings.Contains(got, want) {
			t.Errorf("Explain(%s) = %q, want it to contain %q", code, got, want)
		}
	}
	if !strings.Contains(Explain(&Error{Code: "HTTP 500", HTTPStatus: 500}), "problem") {
		t.Error("Explain(500)")
	}
	if !strings.Contains(Explain(errors.New("dial tcp: refused")), "could not be reached") {
		t.Error("Explain(network)")
	}
}

func FuzzParseAuthenticationResponse(f *testing.F) {
	f.Add(bankFailSample)
	f.Add(url.QueryEscape(successXML))
	f.Add(successXML)
	f.Add("%3c")
	f.Add(`<?xml version="1.0" encoding="ISO-8859-9"?><A><ResponseCode>00</ResponseCode></A>`)
	f.Fuzz(func(t *testing.T, v string) {
		a, err := ParseAuthenticationResponse(v)
		if err != nil {
			return
		}
		if a.ResponseCode == "" || a.AmountMinor < 0 {
			t.Fatalf("accepted %q as %+v", v, a)
		}
		if a.OK() != (a.ResponseCode == "00") {
			t.Fatal("OK disagrees with ResponseCode")
		}
	})
}
