package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"orderdesk/providers/kuveyt"
)

// kuveytGateway: the shopper types the card on the shop's page; Create
// (with req.Card) calls PayGate and returns the bank's auto-posting page in
// Created.HTML (OkUrl = ReturnURL, FailUrl = FailURL: the app's pages).
// After 3-D Secure the bank makes the browser POST AuthenticationResponse to
// one of them; CompleteKuveyt (Complete3DS) reads it and calls Provision,
// which is what takes the money. Notification only reads that form post
// (for its EventID and reference); it does not call the bank. State:
// ErrNoStatusQuery; Cancel: ErrCancelUnsupported (nothing to close: no
// money is taken until the app calls Provision); Refund:
// ErrRefundUnsupported (refunds are made in the bank's merchant panel).
//
// Endpoint: the gate's base (https://boatest.kuveytturk.com.tr/boa.virtualpos.services),
// with or without "/Home/ThreeDModelPayGate". APIKey is
// "MerchantID:CustomerID:UserName" (or Settings merchant_id, customer_id,
// user_name), APISecret the API password.
//
// Ref is the MerchantOrderId (= Reference). EventID is
// MerchantOrderId:bank OrderId:ResponseCode, so a re-posted answer (back
// button, refresh) is recognised before Provision is tried again. Stages:
// a 3-D Secure answer other than "00" is failed (the card holder failed or
// cancelled 3-D Secure: the bank reports both as
// CommonThreedControlsReturnedFail, so an abandoned 3-D Secure page is
// failed, not canceled); Provision "00" completed; a Provision refusal
// ("51" insufficient funds…) failed with the bank's reason.
// kuveytKeyShape is the expected shape of a kuveyt api_key.
const kuveytKeyShape = `must be "MerchantId:CustomerId:UserName" as the bank issued them, e.g. 496:400235:apiuser1 (or the settings merchant_id, customer_id and user_name)`

type kuveytGateway struct {
	c *kuveyt.Client
}

func newKuveyt(cfg Config) (Gateway, error) {
	merchant, customer, user := cfg.setting("merchant_id"), cfg.setting("customer_id"), cfg.setting("user_name")
	fromKey := cfg.APIKey != ""
	if fromKey {
		parts := strings.Split(cfg.APIKey, ":")
		if len(parts) != 3 || strings.TrimSpace(parts[0]) == "" || strings.TrimSpace(parts[1]) == "" || strings.TrimSpace(parts[2]) == "" {
			return nil, &FieldError{Provider: Kuveyt, Field: "api_key", Problem: kuveytKeyShape}
		}
		merchant, customer, user = strings.TrimSpace(parts[0]), strings.TrimSpace(parts[1]), strings.TrimSpace(parts[2])
	}
	if merchant == "" || customer == "" || user == "" {
		return nil, &FieldError{Provider: Kuveyt, Field: "api_key", Problem: "is missing; it " + kuveytKeyShape}
	}
	// The bank issues the merchant and customer ids as numbers; a key of
	// three words ("test:api:key") is a placeholder, not the bank's.
	for _, id := range []struct{ setting, value string }{{"merchant_id", merchant}, {"customer_id", customer}} {
		if isDigits(id.value) {
			continue
		}
		if fromKey {
			return nil, &FieldError{Provider: Kuveyt, Field: "api_key", Problem: kuveytKeyShape + "; the merchant id and the customer id are numbers"}
		}
		return nil, &FieldError{Provider: Kuveyt, Field: "settings." + id.setting, Problem: "must be the number the bank issued, e.g. 496 (merchant) or 400235 (customer)"}
	}
	if cfg.APISecret == "" {
		return nil, &FieldError{Provider: Kuveyt, Field: "api_secret", Problem: "is missing (the API user's password)"}
	}
	base := endpointRoot(cfg)
	for _, s := range []string{"/Home/ThreeDModelPayGate", "/Home/ThreeDModelProvisionGate", "/Home"} {
		base = strings.TrimSuffix(base, s)
	}
	return &kuveytGateway{c: kuveyt.New(kuveyt.Config{BaseURL: base, MerchantID: merchant, CustomerID: customer,
		UserName: user, Password: cfg.APISecret, HTTPClient: cfg.HTTPClient})}, nil
}

func (g *kuveytGateway) Provider() string { return Kuveyt }

// kuveytCurrencies maps ISO codes to the bank's four-digit numeric codes.
var kuveytCurrencies = map[string]string{"TRY": "0949", "USD": "0840", "EUR": "0978", "GBP": "0826"}

// kuveytISO is the reverse of kuveytCurrencies; the bank answers codes
// without the leading zero ("949").
func kuveytISO(code string) string {
	code = strings.TrimLeft(strings.TrimSpace(code), "0")
	for iso, c := range kuveytCurrencies {
		if strings.TrimLeft(c, "0") == code {
			return iso
		}
	}
	return ""
}

func (g *kuveytGateway) Create(ctx context.Context, req CreateRequest) (*Created, error) {
	if err := checkCreate(req); err != nil {
		return nil, wrap(Kuveyt, "create", err)
	}
	cur := strings.ToUpper(cmpStr(strings.TrimSpace(req.Currency), "TRY"))
	code, ok := kuveytCurrencies[cur]
	if !ok {
		return nil, wrap(Kuveyt, "create", badRequest("Kuveyt Türk takes TRY, USD, EUR or GBP, not %s", cur))
	}
	if req.Card == nil {
		return nil, wrap(Kuveyt, "create", badRequest("Kuveyt Türk needs the card the customer typed on the shop's page"))
	}
	if req.ReturnURL == "" || req.FailURL == "" {
		return nil, wrap(Kuveyt, "create", badRequest("Kuveyt Türk needs both the success and the failure return URLs"))
	}
	html, err := g.c.PayGate(ctx, kuveyt.PayGateRequest{
		MerchantOrderID: req.Reference, AmountMinor: req.AmountMinor, CurrencyCode: code,
		OkURL: req.ReturnURL, FailURL: req.FailURL,
		Card: kuveyt.Card{Number: req.Card.Number, HolderName: req.Card.Holder, ExpMonth: req.Card.ExpMonth,
			ExpYear: req.Card.ExpYear, CVV: req.Card.CVV},
		Email: req.Customer.Email, Phone: req.Customer.Phone, ClientIP: req.ClientIP,
	})
	if err != nil {
		return nil, wrap(Kuveyt, "create", err)
	}
	// The page carries the 3-D Secure session (MD): it goes to the
	// browser, not to the event log.
	return &Created{Ref: req.Reference, HTML: html, Stage: StagePending,
		Raw: fmt.Sprintf("3-D Secure page received from the bank (%d bytes)", len(html))}, nil
}

func (g *kuveytGateway) State(ctx context.Context, ref string) (*State, error) {
	return nil, wrap(Kuveyt, "state", ErrNoStatusQuery)
}

// Cancel is not needed and not possible: the bank takes the money only when
// CompleteKuveyt calls Provision, so a payment the app gives up on is never
// charged.
func (g *kuveytGateway) Cancel(ctx context.Context, ref string) (*State, error) {
	return nil, wrap(Kuveyt, "cancel", ErrCancelUnsupported)
}

func (g *kuveytGateway) Refund(ctx context.Context, req RefundRequest) (*State, error) {
	return nil, wrap(Kuveyt, "refund", ErrRefundUnsupported)
}

// authValue takes the AuthenticationResponse out of the posted form body;
// a body that is the bare value is accepted too.
func authValue(body []byte) string {
	s := strings.TrimSpace(string(body))
	if vals, err := url.ParseQuery(s); err == nil && vals.Has("AuthenticationResponse") {
		return vals.Get("AuthenticationResponse")
	}
	return s
}

// Notification reads the bank's 3-D Secure answer the browser posted to
// the app's OkUrl/FailUrl page. It cannot be verified by itself: Stage is
// failed for a failed 3-D Secure and "" for a passed one, which only
// CompleteKuveyt turns into money. Reply is empty: render the shop's page.
func (g *kuveytGateway) Notification(ctx context.Context, body []byte, header http.Header) (*Notification, error) {
	a, err := kuveyt.ParseAuthenticationResponse(authValue(body))
	if err != nil {
		return nil, wrap(Kuveyt, "notification", badSignature(err))
	}
	n := &Notification{
		Ref: a.MerchantOrderID, Reference: a.MerchantOrderID, AmountMinor: a.AmountMinor, Currency: kuveytISO(a.CurrencyCode),
		ProviderStatus: a.ResponseCode, ReceiverOK: true,
		EventID: "kuveyt:" + a.MerchantOrderID + ":" + a.OrderID + ":" + a.ResponseCode,
		Raw:     kuveytAuthRaw(a),
	}
	if !a.OK() {
		n.Stage = StageFailed
		n.Reason = kuveyt.Explain(&kuveyt.Error{Code: a.ResponseCode, Message: a.ResponseMessage})
	}
	return n, nil
}

// kuveytAuthRaw is the answer for the event log, without the MD (the
// single-use key to the 3-D Secure session).
func kuveytAuthRaw(a *kuveyt.AuthResponse) string {
	return rawJSON(map[string]any{"ResponseCode": a.ResponseCode, "ResponseMessage": a.ResponseMessage,
		"MerchantOrderId": a.MerchantOrderID, "OrderId": a.OrderID, "Amount": a.AmountMinor, "CurrencyCode": a.CurrencyCode})
}

// Complete3DS implements ThreeDS.
func (g *kuveytGateway) Complete3DS(ctx context.Context, authResponse, expectedReference string, amountMinor int64) (*State, error) {
	a, err := kuveyt.ParseAuthenticationResponse(authValue([]byte(authResponse)))
	if err != nil {
		return nil, wrap(Kuveyt, "3ds", badSignature(err))
	}
	if amountMinor <= 0 {
		return nil, wrap(Kuveyt, "3ds", badRequest("the payment's amount is needed to complete it"))
	}
	if a.MerchantOrderID != expectedReference {
		return nil, wrap(Kuveyt, "3ds", badSignature(fmt.Errorf("the bank's answer is for order %q, not %q", a.MerchantOrderID, expectedReference)))
	}
	s := &State{Ref: expectedReference, AmountMinor: amountMinor, Currency: kuveytISO(a.CurrencyCode),
		ProviderStatus: a.ResponseCode, Final: true, Raw: kuveytAuthRaw(a)}
	if !a.OK() {
		// A decline in the 3-D Secure answer is not provisioned, so the bank
		// never confirms it: anybody could post one. It is not a fact about the
		// payment, only what the page says.
		return nil, &UnverifiedError{Provider: Kuveyt, Code: a.ResponseCode,
			Reason: kuveyt.Explain(&kuveyt.Error{Code: a.ResponseCode, Message: a.ResponseMessage})}
	}
	code := ""
	if a.CurrencyCode != "" {
		code = fmt.Sprintf("%04s", strings.TrimSpace(a.CurrencyCode))
	}
	// Our reference and our amount, not the answer's: the bank checks them
	// against the 3-D Secure session and takes only what we asked.
	p, err := g.c.Provision(ctx, kuveyt.ProvisionRequest{MerchantOrderID: expectedReference, AmountMinor: amountMinor,
		MD: a.MD, CurrencyCode: code, InstallmentCount: a.InstallmentCount})
	var ke *kuveyt.Error
	switch {
	case err == nil:
		s.Stage, s.ProviderStatus = StageCompleted, p.ResponseCode
		if p.AmountMinor != 0 {
			s.AmountMinor = p.AmountMinor
		}
		s.Raw = rawJSON(p)
		return s, nil
	case errors.As(err, &ke) && (ke.Code == "MetaDataNotFound" || ke.Code == "EmptyMDException"):
		// No open 3-D Secure session for this order and amount: a re-posted
		// (already used) or forged answer. Nothing was taken by it.
		return nil, wrap(Kuveyt, "3ds", badSignature(err))
	case errors.As(err, &ke) && ke.HTTPStatus == http.StatusOK && isDigits(ke.Code):
		// The card's bank refused to take the money ("51" insufficient
		// funds…): ISO 8583 codes are digits; the gate's word codes
		// (HashDataError…) are the shop's settings, not the card.
		s.Stage, s.ProviderStatus, s.Reason = StageFailed, ke.Code, kuveyt.Explain(ke)
		s.Raw = rawJSON(map[string]any{"ResponseCode": ke.Code, "ResponseMessage": ke.Message, "MerchantOrderId": expectedReference})
		return s, nil
	}
	// The shop's settings are wrong, or the outcome is unknown (the bank
	// did not answer): the app must not call the payment failed.
	return nil, wrap(Kuveyt, "3ds", err)
}

// UnverifiedError is an answer brought by the customer's browser that says the
// payment failed, but that the provider cannot confirm (a Kuveyt Türk 3-D
// Secure decline, which is never provisioned). Record it and change nothing:
// the payment stays open, and a genuine approval that follows is still taken.
type UnverifiedError struct {
	Provider string
	Code     string // the provider's code as the answer gives it
	Reason   string // what the answer says, in words
}

// Error says what the answer claimed and that it was not believed.
func (e *UnverifiedError) Error() string {
	return "gateway: " + e.Provider + ": an unconfirmed answer says the payment failed (" + e.Code + "): " + e.Reason
}

// Test provisions a 3-D Secure session that does not exist: the bank checks
// the API user and the hash first, so "no such session" means the settings
// are right, and nothing can be charged.
func (g *kuveytGateway) Test(ctx context.Context) (string, error) {
	_, err := g.c.Provision(ctx, kuveyt.ProvisionRequest{MerchantOrderID: "ORDERDESK-CONNECTION-TEST", AmountMinor: 1,
		MD: "orderdesk-connection-test"})
	var ke *kuveyt.Error
	if errors.As(err, &ke) && (ke.Code == "MetaDataNotFound" || ke.Code == "EmptyMDException") {
		return "Kuveyt Türk accepted the merchant id, customer id, user name and password (a provision of a test 3-D Secure session answered: no such session).", nil
	}
	if err == nil {
		return "", wrap(Kuveyt, "test", errors.New("kuveyt: the bank provisioned a test session that should not exist"))
	}
	return "", wrap(Kuveyt, "test", err)
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
