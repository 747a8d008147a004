package handlers

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"orderdesk/model"
	"orderdesk/providers/cdek"
	"orderdesk/providers/dostavista"
	"orderdesk/providers/otapi"
	"orderdesk/providers/smtp"
	"orderdesk/providers/wazzup"
)

// testOtherConnection tests the delivery, messaging, e-mail and OT providers
// with each one's cheapest authenticated call.
func testOtherConnection(ctx context.Context, i *model.Integration, sec model.IntegrationSecrets) (string, error) {
	ep := i.Endpoint()
	switch i.Provider {
	case model.ProviderCDEK:
		return cdek.New(cdek.Config{BaseURL: ep, ClientID: sec.APIKey, ClientSecret: sec.APISecret, HTTPClient: testClient}).TestConnection(ctx)
	case model.ProviderDostavista:
		return dostavista.New(dostavista.Config{BaseURL: ep, AuthToken: sec.APIKey, HTTPClient: testClient}).TestConnection(ctx)
	case model.ProviderWazzup:
		return wazzup.New(wazzup.Config{BaseURL: ep, APIKey: sec.APIKey, HTTPClient: testClient}).TestConnection(ctx)
	case model.ProviderOTAPI:
		// The secret holds the signature secret and the operator's password,
		// "SECRET:PASSWORD"; the operator's login is in the config.
		signature, password, _ := strings.Cut(sec.APISecret, ":")
		return otapi.New(otapi.Config{BaseURL: ep, InstanceKey: sec.APIKey, Secret: signature, Language: "en",
			OperatorLogin: i.Config["operator_login"], OperatorPassword: password, HTTPClient: testClient}).TestConnection(ctx)
	case model.ProviderSMTP:
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return "", fmt.Errorf("the endpoint must look like smtp://host:port")
		}
		return smtp.New(smtp.Config{Addr: u.Host, Username: sec.APIKey, Password: sec.APISecret,
			DisableTLS: i.Config["tls"] == "off", LocalName: "orderdesk"}).TestConnection(ctx)
	}
	return "", fmt.Errorf("OrderDesk cannot test %s connections", i.Provider)
}

// explainOther turns an error of these providers into words.
func explainOther(err error) string {
	for _, explain := range []func(error) string{cdek.Explain, dostavista.Explain, wazzup.Explain, otapi.Explain, smtp.Explain} {
		if msg := explain(err); msg != "" && msg != err.Error() {
			return msg
		}
	}
	return err.Error()
}
