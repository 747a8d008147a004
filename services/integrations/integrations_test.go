package integrations_test

import (
	"context"
	"crypto/rand"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"orderdesk/model"
	"orderdesk/providers/egress"
	"orderdesk/services/integrations"
)

// newService is the service on a real, migrated temp-file database with one
// shop, under a policy that allows nothing internal. Nothing here calls a
// provider: creating in test mode makes no call.
func newService(t *testing.T) (*integrations.Service, *model.Store, *model.Tenant) {
	t.Helper()
	ctx := context.Background()
	db, err := model.Open(filepath.Join(t.TempDir(), "orderdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	keys, err := model.NewKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	store := model.NewStore(db, keys)
	shop, err := store.CreateTenant(ctx, model.NewTenant{Slug: "shop", Name: "Shop"})
	if err != nil {
		t.Fatal(err)
	}
	return integrations.New(store, egress.Policy{}), store, shop
}

func ptr[T any](v T) *T { return &v }

// Each provider's own rules decide, by field, with the shape expected.
func TestCreateChecksEachProvidersRules(t *testing.T) {
	svc, store, shop := newService(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name          string
		provider      model.ProviderType
		key, secret   string
		endpoint      string
		config        map[string]string
		field, saying string // "" when accepted
	}{
		{"kuveyt takes the bank's three ids", model.ProviderKuveyt, "496:400235:apiuser1", "Api123", "https://boatest.kuveytturk.com.tr/boa.virtualpos.services", nil, "", ""},
		{"kuveyt refuses seed 001's placeholder", model.ProviderKuveyt, "test-api-key", "test-api-secret", "https://test-api.kuveyt.com/payment", nil, "api_key", "MerchantId:CustomerId:UserName"},
		{"kuveyt needs the password", model.ProviderKuveyt, "496:400235:apiuser1", "", "https://boatest.kuveytturk.com.tr/x", nil, "api_secret", "password"},
		{"tinkoff needs the terminal password", model.ProviderTinkoff, "1700000000000DEMO", "", "https://securepay.tinkoff.ru/v2", nil, "api_secret", "terminal password"},
		{"tinkoff's pay type is O or T", model.ProviderTinkoff, "1700000000000DEMO", "pw", "https://securepay.tinkoff.ru/v2", map[string]string{"pay_type": "X"}, "config", "pay_type"},
		{"paypal's key is the business e-mail", model.ProviderPayPal, "test-api-key", "", "https://ipnpb.paypal.com", nil, "api_key", "e-mail"},
		{"taobao's app key is a number", model.ProviderTaobao, "my-app", "secret", "https://api.taobao.global/rest", nil, "api_key", "digits"},
		{"taobao takes a numeric app key", model.ProviderTaobao, "500123", "secret", "https://api.taobao.global/rest", nil, "", ""},
		{"cdek needs the secure password", model.ProviderCDEK, "account", "", "https://api.cdek.ru/v2", nil, "api_secret", "secure password"},
		{"cdek refuses a key pasted with a space", model.ProviderCDEK, "client id", "password", "https://api.cdek.ru/v2", nil, "api_key", "spaces"},
		{"dostavista takes its token", model.ProviderDostavista, "token-123", "", "https://robotapi.dostavista.ru/api/business/1.5", nil, "", ""},
		{"wazzup needs its key", model.ProviderWazzup, " ", "channel", "https://api.wazzup24.com/v3", nil, "api_key", "API key"},
		{"otapi's secret is SECRET:PASSWORD", model.ProviderOTAPI, "instance", "no-colon", "https://otapi.net/service-json", map[string]string{"operator_login": "op"}, "api_secret", "SIGNATURE_SECRET:OPERATOR_PASSWORD"},
		{"otapi needs the operator login", model.ProviderOTAPI, "instance", "sig:pw", "https://otapi.net/service-json", nil, "config", "operator_login"},
		{"smtp's endpoint is smtp://host:port", model.ProviderSMTP, "user", "pw", "https://mail.example.com", nil, "test_endpoint", "smtp://"},
		{"smtp needs the password with the user", model.ProviderSMTP, "user", "", "smtp://smtp.example.com:587", nil, "api_secret", "password"},
		{"an internal endpoint is refused for every provider", model.ProviderDostavista, "token", "", "http://10.0.0.5/api", nil, "test_endpoint", "private network"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := model.IntegrationInput{Provider: &tt.provider, Name: ptr(tt.name), Status: ptr(model.IntegrationTest),
				APIKey: &tt.key, APISecret: &tt.secret, TestEndpoint: &tt.endpoint, Config: tt.config}
			got, err := svc.Create(ctx, shop.ID, nil, in)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if got.Status != model.IntegrationTest || got.LastTestAt != nil {
					t.Errorf("created %+v", got)
				}
				return
			}
			var ve *model.ValidationError
			if !errors.As(err, &ve) || !strings.Contains(ve.Fields[tt.field], tt.saying) {
				t.Fatalf("err = %v, want %s to say %q", err, tt.field, tt.saying)
			}
		})
	}
	list, err := store.FindIntegrations(ctx, shop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Errorf("integrations created: %d, want the 3 accepted", len(list))
	}
}

// Shared and provider rules come back in one answer.
func TestCreateNamesEveryWrongFieldAtOnce(t *testing.T) {
	svc, _, shop := newService(t)
	_, err := svc.Create(context.Background(), shop.ID, nil, model.IntegrationInput{Provider: ptr(model.ProviderKuveyt),
		APIKey: ptr("test-api-key"), TestEndpoint: ptr("https://boatest.kuveytturk.com.tr/x")})
	var ve *model.ValidationError
	if !errors.As(err, &ve) || ve.Fields["name"] == "" || ve.Fields["api_key"] == "" {
		t.Fatalf("err = %v, want name and api_key", err)
	}
}

// Explain is the provider's: the same error reads as Kuveyt's for Kuveyt and
// CDEK's for CDEK, and a refused address as a refusal.
func TestExplainDispatchesOnTheProvider(t *testing.T) {
	t.Parallel()
	down := errors.New("connection reset")
	for _, tt := range []struct {
		p        model.ProviderType
		has, not string
	}{
		{model.ProviderKuveyt, "Kuveyt", "CDEK"},
		{model.ProviderTinkoff, "bank", "CDEK"},
		{model.ProviderCDEK, "CDEK", "Kuveyt"},
		{model.ProviderDostavista, "Dostavista", "CDEK"},
		{model.ProviderSMTP, "e-mail", "CDEK"},
	} {
		if got := integrations.Explain(tt.p, down); !strings.Contains(got, tt.has) || strings.Contains(got, tt.not) {
			t.Errorf("Explain(%s) = %q, want %q and never %q", tt.p, got, tt.has, tt.not)
		}
	}
	refused := egress.Policy{}.CheckURL("http://127.0.0.1:9/")
	if got := integrations.Explain(model.ProviderKuveyt, refused); !strings.Contains(got, "loopback") {
		t.Errorf("Explain of a refused address = %q", got)
	}
}
