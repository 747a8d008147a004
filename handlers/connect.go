package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"orderdesk/model"
	"orderdesk/providers/gateway"
	"orderdesk/providers/taobao"
)

// testClient bounds a connection test: a person is waiting for the answer.
var testClient = &http.Client{Timeout: 15 * time.Second}

// testConnection makes the cheapest real authenticated call to the integration's
// provider (at its current endpoint) and says in words what came back.
func testConnection(ctx context.Context, i *model.Integration, sec model.IntegrationSecrets) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	switch {
	case i.Provider.IsPayment():
		g, err := gateway.New(gateway.Config{Provider: string(i.Provider), Endpoint: i.Endpoint(), APIKey: sec.APIKey,
			APISecret: sec.APISecret, Settings: i.Config, HTTPClient: testClient})
		if err != nil {
			return "", err
		}
		return g.Test(ctx)
	case i.Provider == model.ProviderTaobao:
		// Without an operator's authorization there is no token to call with; a
		// token exchange with a made-up code proves the app key and the signature
		// are accepted (the platform answers InvalidCode) without authorizing anything.
		c := taobao.New(taobao.Config{BaseURL: i.Endpoint(), AppKey: sec.APIKey, AppSecret: sec.APISecret, HTTPClient: testClient})
		_, err := c.CreateToken(ctx, "orderdesk-connection-test")
		var te *taobao.Error
		if errors.As(err, &te) && te.Code == "InvalidCode" {
			return "Connected: the app key and secret are accepted; connect a Taobao account to buy.", nil
		}
		if err == nil {
			return "Connected.", nil
		}
		return "", err
	}
	return testOtherConnection(ctx, i, sec)
}

// explainProviderError turns a provider's error into words for shop staff.
func explainProviderError(err error) string {
	var te *taobao.Error
	var ge *gateway.Error
	switch {
	case errors.As(err, &te):
		return taobao.Explain(err)
	case errors.As(err, &ge):
		return gateway.Explain(err)
	}
	if msg := explainOther(err); msg != err.Error() {
		return msg
	}
	if msg := gateway.Explain(err); msg != "" {
		return msg
	}
	return fmt.Sprint(err)
}
