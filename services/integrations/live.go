package integrations

import (
	"net/url"
	"path"
	"strings"

	"orderdesk/model"
	"orderdesk/providers/cdek"
	"orderdesk/providers/dolyami"
	"orderdesk/providers/dostavista"
	"orderdesk/providers/kuveyt"
	"orderdesk/providers/otapi"
	"orderdesk/providers/paypal"
	"orderdesk/providers/smtp"
	"orderdesk/providers/taobao"
	"orderdesk/providers/tinkoff"
	"orderdesk/providers/wazzup"
	"orderdesk/providers/yandexpay"
)

// SandboxPath is where an OrderDesk server serves its built-in sandboxes
// (/sandbox/{provider}/), on its own host or on the sandbox address it is
// configured with.
const SandboxPath = "/sandbox/"

// DemoKeys are the keys of the demo shops' integrations, one pair per
// provider: the built-in sandboxes' accounts. They are public (they are in
// this source), so they never move real money: going live with one is
// refused (LiveRefusal). The demo seeding (handlers.DemoIntegrations) takes
// its keys from here, so that the two never disagree.
var DemoKeys = map[model.ProviderType]model.IntegrationSecrets{
	model.ProviderKuveyt:     {APIKey: kuveyt.DemoMerchantID + ":" + kuveyt.DemoCustomerID + ":" + kuveyt.DemoUserName, APISecret: kuveyt.DemoPassword},
	model.ProviderTinkoff:    {APIKey: tinkoff.DemoTerminalKey, APISecret: tinkoff.DemoPassword},
	model.ProviderDolyami:    {APIKey: dolyami.DemoLogin, APISecret: dolyami.DemoPassword},
	model.ProviderYandexPay:  {APIKey: yandexpay.DemoAPIKey, APISecret: yandexpay.DemoMerchantID},
	model.ProviderPayPal:     {APIKey: paypal.DemoBusiness, APISecret: paypal.DemoAPIUsername + ":" + paypal.DemoAPIPassword + ":" + paypal.DemoAPISignature},
	model.ProviderTaobao:     {APIKey: taobao.DemoAppKey, APISecret: taobao.DemoAppSecret},
	model.ProviderOTAPI:      {APIKey: otapi.DemoInstanceKey, APISecret: otapi.DemoSecret + ":" + otapi.DemoOperatorPassword},
	model.ProviderCDEK:       {APIKey: cdek.DemoClientID, APISecret: cdek.DemoClientSecret},
	model.ProviderDostavista: {APIKey: dostavista.DemoAuthToken, APISecret: dostavista.DemoCallbackSecret},
	model.ProviderWazzup:     {APIKey: wazzup.DemoAPIKey, APISecret: wazzup.DemoChannelID},
	model.ProviderSMTP:       {APIKey: smtp.DemoUsername, APISecret: smtp.DemoPassword},
}

// isSandbox reports whether endpoint is a built-in sandbox: under
// SandboxPath on any host, or under one of the sandbox addresses the
// service was given (the e-mail sandbox's smtp://host:port).
func (s *Service) isSandbox(endpoint string) bool {
	u, err := url.Parse(strings.TrimSpace(endpoint))
	if err != nil {
		return false
	}
	// Cleaned, so that "/x/../sandbox/" is seen for what it is.
	if clean := path.Clean("/" + u.Path); clean+"/" == SandboxPath || strings.HasPrefix(clean, SandboxPath) {
		return true
	}
	for _, prefix := range s.sandboxes {
		p, err := url.Parse(prefix)
		if err != nil || p.Host == "" {
			continue
		}
		if strings.EqualFold(p.Scheme, u.Scheme) && strings.EqualFold(p.Host, u.Host) && strings.HasPrefix(u.Path, p.Path) {
			return true
		}
	}
	return false
}

// LiveRefusal says, by field, why settings of provider p cannot go live,
// before anything is called: a live endpoint that is a built-in sandbox
// (whose payments are make-believe: customers would "pay" and the shop would
// ship for nothing), or the demo's keys (public, so anyone could act as the
// shop). nil when neither.
func (s *Service) LiveRefusal(p model.ProviderType, endpoint string, keys model.IntegrationSecrets) map[string]string {
	out := map[string]string{}
	if s.isSandbox(endpoint) {
		out["api_endpoint"] = "this is the built-in sandbox, where no real money moves: enter " + label(p) + "'s live address to go live"
	}
	if demo, ok := DemoKeys[p]; ok {
		if keys.APIKey != "" && keys.APIKey == demo.APIKey {
			out["api_key"] = "this is the demo's key for the built-in sandbox: enter the key " + label(p) + " gave your shop for live use"
		}
		if keys.APISecret != "" && keys.APISecret == demo.APISecret {
			out["api_secret"] = "this is the demo's secret for the built-in sandbox: enter the secret " + label(p) + " gave your shop for live use"
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
