package model

import (
	"time"
)

// ProviderType names an outside system a tenant connects (DESIGN.md's table).
type ProviderType string

// The provider types.
const (
	ProviderKuveyt     ProviderType = "kuveyt"
	ProviderTinkoff    ProviderType = "tinkoff"
	ProviderDolyami    ProviderType = "dolyami"
	ProviderYandexPay  ProviderType = "yandexpay"
	ProviderPayPal     ProviderType = "paypal"
	ProviderTaobao     ProviderType = "taobao"
	ProviderOTAPI      ProviderType = "otapi"
	ProviderCDEK       ProviderType = "cdek"
	ProviderDostavista ProviderType = "dostavista"
	ProviderWazzup     ProviderType = "wazzup"
	ProviderSMTP       ProviderType = "smtp"
)

// ProviderInfo describes a provider type for people.
type ProviderInfo struct {
	Type  ProviderType
	Kind  string // payment, procurement, delivery, messaging, e-mail
	Label string
	// KeyLabel and SecretLabel say what the provider calls its two credentials.
	KeyLabel, SecretLabel string
}

// Providers lists every provider type with what its keys are called.
var Providers = []ProviderInfo{
	{ProviderKuveyt, "payment", "Kuveyt Türk VPOS", "MerchantId:CustomerId:UserName", "API password"},
	{ProviderTinkoff, "payment", "T-Bank (Tinkoff) acquiring", "TerminalKey", "Terminal password"},
	{ProviderDolyami, "payment", "Dolyami (pay in parts)", "Login", "Password"},
	{ProviderYandexPay, "payment", "Yandex Pay", "API key", "Merchant id"},
	{ProviderPayPal, "payment", "PayPal (IPN)", "Receiver e-mail", "NVP USER:PWD:SIGNATURE (refunds)"},
	{ProviderTaobao, "procurement", "Taobao Global open platform", "App key", "App secret"},
	{ProviderOTAPI, "procurement", "OT Platform (autobuy)", "Instance key", "Signature secret"},
	{ProviderCDEK, "delivery", "CDEK", "Client id", "Client secret"},
	{ProviderDostavista, "delivery", "Dostavista", "Auth token", "Callback secret"},
	{ProviderWazzup, "messaging", "Wazzup (WhatsApp)", "API key", "Channel id"},
	{ProviderSMTP, "e-mail", "E-mail (SMTP)", "User name", "Password"},
}

// Info returns the provider type's description.
func (p ProviderType) Info() (ProviderInfo, bool) {
	for _, i := range Providers {
		if i.Type == p {
			return i, true
		}
	}
	return ProviderInfo{}, false
}

// IsPayment reports whether customers pay through this provider.
func (p ProviderType) IsPayment() bool {
	i, ok := p.Info()
	return ok && i.Kind == "payment"
}

// IntegrationStatus says where an integration's calls go.
type IntegrationStatus string

// Integration statuses: test_mode calls test_endpoint, active calls api_endpoint.
const (
	IntegrationTest     IntegrationStatus = "test_mode"
	IntegrationActive   IntegrationStatus = "active"
	IntegrationDisabled IntegrationStatus = "disabled"
)

// Valid reports whether s is an integration status.
func (s IntegrationStatus) Valid() bool {
	return s == IntegrationTest || s == IntegrationActive || s == IntegrationDisabled
}

// Integration is a tenant's connection to an outside system. The keys themselves
// are never on this struct: only their last four characters.
type Integration struct {
	ID              int64
	TenantID        int64
	Provider        ProviderType
	Name            string
	Description     string
	Status          IntegrationStatus
	APIKeyLast4     string
	APISecretLast4  string
	APIEndpoint     string
	TestEndpoint    string
	Config          map[string]string
	LastTestAt      *time.Time
	LastTestOK      bool
	LastTestMessage string
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Endpoint is where calls go now: the test endpoint in test mode, the live one
// when active (seed 001).
func (i *Integration) Endpoint() string {
	if i.Status == IntegrationActive {
		return i.APIEndpoint
	}
	return i.TestEndpoint
}

// Mode is "live" for an active integration and "test" otherwise.
func (i *Integration) Mode() string {
	if i.Status == IntegrationActive {
		return "live"
	}
	return "test"
}

// Usable reports whether payments and calls may go through it.
func (i *Integration) Usable() bool {
	return i.Status == IntegrationTest || i.Status == IntegrationActive
}

// IntegrationSecrets are an integration's opened credentials, for the one call
// that needs them; never rendered, never logged.
type IntegrationSecrets struct {
	APIKey, APISecret string
}

// IntegrationChange is one recorded change of an integration.
type IntegrationChange struct {
	Actor        string
	From, To     IntegrationStatus
	KeysReplaced bool
	Note         string
	CreatedAt    time.Time
}
