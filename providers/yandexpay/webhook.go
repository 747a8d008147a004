package yandexpay

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// Errors of webhook verification. Compare with errors.Is.
var (
	// ErrBadSignature means the body is not a JWT signed by a key of the
	// provider's JWKS (or is not a JWT at all).
	ErrBadSignature = errors.New("yandexpay: bad webhook signature")
	// ErrExpired means the JWT is past its exp (or has none).
	ErrExpired = errors.New("yandexpay: webhook token expired")
	// ErrMerchantMismatch means the token is genuine but for another merchant.
	ErrMerchantMismatch = errors.New("yandexpay: webhook for another merchant")
	// ErrUnknownKey means no key with the token's kid exists in the JWKS.
	ErrUnknownKey = errors.New("yandexpay: unknown signing key")
)

// clockSkew is how far past exp a token is still accepted, because the
// provider's clock and ours are never exactly equal.
const clockSkew = time.Minute

// WebhookEvent is a verified webhook payload.
type WebhookEvent struct {
	MerchantID string
	// Event is ORDER_STATUS_UPDATED, OPERATION_STATUS_UPDATED, …
	Event string
	// EventTime is the moment of the event (zero if it could not be parsed;
	// RawEventTime keeps the text).
	EventTime    time.Time
	RawEventTime string
	Order        WebhookOrder
	// Operation is set for OPERATION_STATUS_UPDATED events [U: shape assumed
	// to be the operation object of the API].
	Operation *Operation
}

// WebhookOrder is the order part of a webhook.
type WebhookOrder struct {
	OrderID       string
	PaymentStatus PaymentStatus
}

// KeySource finds the public key that signed a token, by its kid.
type KeySource interface {
	Key(ctx context.Context, kid string) (*ecdsa.PublicKey, error)
}

// StaticKeys is a fixed KeySource (kid → key), handy in tests.
type StaticKeys map[string]*ecdsa.PublicKey

// Key implements KeySource.
func (s StaticKeys) Key(_ context.Context, kid string) (*ecdsa.PublicKey, error) {
	if k, ok := s[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

// JWK is one key of a JSON Web Key Set (only EC P-256 keys are used here).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
}

// JWKS is a JSON Web Key Set document.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// PublicKey decodes an EC P-256 JWK.
func (k JWK) PublicKey() (*ecdsa.PublicKey, error) {
	if k.Kty != "EC" || (k.Crv != "" && k.Crv != "P-256") {
		return nil, fmt.Errorf("yandexpay: key %q is %s/%s, not EC P-256", k.Kid, k.Kty, k.Crv)
	}
	x, err1 := b64url(k.X)
	y, err2 := b64url(k.Y)
	if err1 != nil || err2 != nil || len(x) > 32 || len(y) > 32 {
		return nil, fmt.Errorf("yandexpay: key %q has bad coordinates", k.Kid)
	}
	pt := make([]byte, 65)
	pt[0] = 4
	copy(pt[1+32-len(x):33], x)
	copy(pt[33+32-len(y):], y)
	return ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt)
}

// NewJWK encodes an EC P-256 public key as a JWK with the given kid.
func NewJWK(kid string, pub *ecdsa.PublicKey) (JWK, error) {
	b, err := pub.Bytes()
	if err != nil || len(b) != 65 {
		return JWK{}, fmt.Errorf("yandexpay: not a P-256 key: %v", err)
	}
	enc := base64.RawURLEncoding
	return JWK{Kty: "EC", Crv: "P-256", Kid: kid, Alg: "ES256", Use: "sig",
		X: enc.EncodeToString(b[1:33]), Y: enc.EncodeToString(b[33:])}, nil
}

// JWKSCache fetches the provider's JWKS from URL and keeps the keys. A kid it
// has not seen makes it fetch again (keys rotate), but not more often than
// every MinRefresh, so forged kids cannot make us hammer the provider.
type JWKSCache struct {
	// URL is the JWKS address, e.g. JWKSURL(baseURL).
	URL string
	// HTTPClient is optional (default: 10 s timeout).
	HTTPClient *http.Client
	// TTL is how long fetched keys are trusted without refetching (default 1 h).
	TTL time.Duration
	// MinRefresh is the least time between two fetches (default 10 s).
	MinRefresh time.Duration

	mu      sync.Mutex
	keys    map[string]*ecdsa.PublicKey
	fetched time.Time
}

// NewJWKSCache returns a cache for the JWKS at url.
func NewJWKSCache(url string, hc *http.Client) *JWKSCache {
	return &JWKSCache{URL: url, HTTPClient: hc}
}

// Key implements KeySource.
func (c *JWKSCache) Key(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ttl, minRefresh := c.TTL, c.MinRefresh
	if ttl <= 0 {
		ttl = time.Hour
	}
	if minRefresh <= 0 {
		minRefresh = 10 * time.Second
	}
	age := time.Since(c.fetched)
	if k, ok := c.keys[kid]; ok && age < ttl {
		return k, nil
	}
	if c.keys == nil || age >= minRefresh {
		if err := c.refresh(ctx); err != nil {
			// A stale key is better than none while the provider is down.
			if k, ok := c.keys[kid]; ok {
				return k, nil
			}
			return nil, err
		}
	}
	if k, ok := c.keys[kid]; ok {
		return k, nil
	}
	return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
}

func (c *JWKSCache) refresh(ctx context.Context) error {
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	if err != nil {
		return fmt.Errorf("yandexpay: jwks: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("yandexpay: jwks: %w", err)
	}
	raw, err := httpbody.ReadAndClose(resp, 1<<20)
	if err != nil {
		return fmt.Errorf("yandexpay: jwks: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("yandexpay: jwks: HTTP %d", resp.StatusCode)
	}
	var set JWKS
	if err := json.Unmarshal(raw, &set); err != nil {
		return fmt.Errorf("yandexpay: jwks: %w", err)
	}
	keys := map[string]*ecdsa.PublicKey{}
	for _, k := range set.Keys {
		if pub, err := k.PublicKey(); err == nil {
			keys[k.Kid] = pub
		}
	}
	c.keys = keys
	c.fetched = time.Now()
	return nil
}

// jwtHeader is the protected header. Yandex documents iat and exp in the
// header; standard JWTs carry them as claims. Both places are read [U].
type jwtHeader struct {
	Alg string          `json:"alg"`
	Kid string          `json:"kid"`
	Typ string          `json:"typ"`
	Iat json.RawMessage `json:"iat"`
	Exp json.RawMessage `json:"exp"`
}

type wirePayload struct {
	MerchantID string `json:"merchantId"`
	Event      string `json:"event"`
	EventTime  string `json:"eventTime"`
	Order      *struct {
		OrderID       string        `json:"orderId"`
		PaymentStatus PaymentStatus `json:"paymentStatus"`
	} `json:"order"`
	Operation *wireOperation  `json:"operation"`
	Exp       json.RawMessage `json:"exp"`
}

func b64url(s string) ([]byte, error) {
	// Tolerate padding: base64url in JWS has none, but some encoders add it.
	return base64.RawURLEncoding.Strict().DecodeString(strings.TrimRight(s, "="))
}

// splitES256 checks the shape of a compact ES256 JWS and returns its header,
// payload and the raw r||s signature.
func splitES256(token string) (h jwtHeader, payload, sig []byte, signed string, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return h, nil, nil, "", fmt.Errorf("%w: not a compact JWT", ErrBadSignature)
	}
	hb, err := b64url(parts[0])
	if err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: header encoding", ErrBadSignature)
	}
	if err := json.Unmarshal(hb, &h); err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: header JSON", ErrBadSignature)
	}
	// Only ES256: accepting the token's own choice would let "none" or HS256
	// with the public key as secret through.
	if h.Alg != "ES256" {
		return h, nil, nil, "", fmt.Errorf("%w: alg %q", ErrBadSignature, h.Alg)
	}
	payload, err = b64url(parts[1])
	if err != nil {
		return h, nil, nil, "", fmt.Errorf("%w: payload encoding", ErrBadSignature)
	}
	sig, err = b64url(parts[2])
	if err != nil || len(sig) != 64 {
		return h, nil, nil, "", fmt.Errorf("%w: signature must be 64 bytes r||s", ErrBadSignature)
	}
	return h, payload, sig, parts[0] + "." + parts[1], nil
}

// verifyES256 checks sig (r||s) over signed with pub.
func verifyES256(pub *ecdsa.PublicKey, signed string, sig []byte) bool {
	sum := sha256.Sum256([]byte(signed))
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, sum[:], r, s)
}

// numericDate reads a JWT NumericDate (a JSON number, possibly fractional;
// a numeric string is tolerated).
func numericDate(raw json.RawMessage) (time.Time, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, false
	}
	s := strings.Trim(string(raw), `"`)
	intPart, _, _ := strings.Cut(s, ".")
	var n int64
	if _, err := fmt.Sscanf(intPart, "%d", &n); err != nil {
		return time.Time{}, false
	}
	return time.Unix(n, 0), true
}

// ParseWebhook verifies a webhook body (a compact JWT signed ES256 by a key
// of keys), checks that it has not expired and, when merchantID is not empty,
// that it is for this merchant, and returns the event. Errors wrap
// ErrBadSignature, ErrExpired, ErrMerchantMismatch or ErrUnknownKey.
//
// Answer the webhook with HTTP 200 (body `{"status":"success"}`) once the
// event is recorded; any other answer makes Yandex Pay retry with a fresh JWT.
func ParseWebhook(ctx context.Context, body []byte, keys KeySource, merchantID string) (*WebhookEvent, error) {
	return parseWebhookAt(ctx, body, keys, merchantID, time.Now())
}

func parseWebhookAt(ctx context.Context, body []byte, keys KeySource, merchantID string, now time.Time) (*WebhookEvent, error) {
	token := strings.TrimSpace(string(body))
	h, payload, sig, signed, err := splitES256(token)
	if err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, fmt.Errorf("%w: no key source", ErrBadSignature)
	}
	pub, err := keys.Key(ctx, h.Kid)
	if err != nil {
		if errors.Is(err, ErrUnknownKey) {
			return nil, fmt.Errorf("%w: %w", ErrBadSignature, err)
		}
		return nil, err
	}
	if !verifyES256(pub, signed, sig) {
		return nil, ErrBadSignature
	}
	var p wirePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, fmt.Errorf("%w: payload is not JSON", ErrBadSignature)
	}
	exp, ok := numericDate(h.Exp)
	if pe, pok := numericDate(p.Exp); pok && (!ok || pe.Before(exp)) {
		exp, ok = pe, true
	}
	// A token without exp could be replayed forever: refuse it.
	if !ok {
		return nil, fmt.Errorf("%w: token has no exp", ErrExpired)
	}
	if now.After(exp.Add(clockSkew)) {
		return nil, fmt.Errorf("%w at %s", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	if merchantID != "" && p.MerchantID != merchantID {
		return nil, fmt.Errorf("%w: %q", ErrMerchantMismatch, p.MerchantID)
	}
	ev := &WebhookEvent{MerchantID: p.MerchantID, Event: p.Event, RawEventTime: p.EventTime}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999-07:00", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, p.EventTime); err == nil {
			ev.EventTime = t
			break
		}
	}
	if p.Order != nil {
		ev.Order = WebhookOrder{OrderID: p.Order.OrderID, PaymentStatus: p.Order.PaymentStatus}
	}
	if p.Operation != nil {
		op := p.Operation.toOperation()
		ev.Operation = &op
		if ev.Order.OrderID == "" {
			ev.Order.OrderID = p.Operation.OrderID
		}
	}
	return ev, nil
}

// WebhookOK is the body to answer a processed webhook with.
const WebhookOK = `{"status":"success"}`
