package integrations

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"orderdesk/model"
	"orderdesk/providers/cdek"
	"orderdesk/providers/dostavista"
	"orderdesk/providers/egress"
	"orderdesk/providers/gateway"
	"orderdesk/providers/otapi"
	"orderdesk/providers/smtp"
	"orderdesk/providers/taobao"
	"orderdesk/providers/wazzup"
)

// settings are an integration's settings at one of its endpoints, with its
// keys opened: what a provider's client is built from.
type settings struct {
	provider    model.ProviderType
	endpoint    string
	key, secret string
	config      map[string]string
}

// problem is a provider's refusal of one setting, named by the
// integration's field: api_key, api_secret, endpoint (the endpoint being
// checked), config or provider_type.
type problem struct {
	field, text string
}

// network is how an adapter's test reaches its provider: the egress
// policy's HTTP client, or the policy's dialer for clients that dial TCP.
type network struct {
	client *http.Client
	policy egress.Policy
}

// adapter is what the service knows of one provider type: the provider's
// own rules for the settings, its cheapest authenticated call, and its
// words for its errors. Each provider's package does the work; the adapter
// only maps the integration's fields onto the client's Config.
type adapter struct {
	check   func(s settings) *problem
	test    func(ctx context.Context, s settings, n network) (string, error)
	explain func(provider model.ProviderType, err error) string
}

// adapterFor returns the adapter of a provider type.
func adapterFor(p model.ProviderType) (adapter, bool) {
	if p.IsPayment() {
		return paymentAdapter, true
	}
	a, ok := adapters[p]
	return a, ok
}

// fieldOf maps a provider client's Config field to the integration's field.
func fieldOf(err error, fields map[string]string) *problem {
	if err == nil {
		return nil
	}
	// Every provider package's SettingError is the same type (an alias of
	// providers/internal/setting.FieldError), so one of them catches all.
	var se *cdek.SettingError
	if errors.As(err, &se) {
		if f, ok := fields[se.Field]; ok {
			if name, isConfig := strings.CutPrefix(f, "config."); isConfig {
				return &problem{field: "config", text: name + " " + se.Problem}
			}
			return &problem{field: f, text: se.Problem}
		}
	}
	return &problem{field: "config", text: err.Error()}
}

func gatewayConfig(s settings, hc *http.Client) gateway.Config {
	return gateway.Config{Provider: string(s.provider), Endpoint: s.endpoint, APIKey: s.key, APISecret: s.secret,
		Settings: s.config, HTTPClient: hc}
}

// paymentAdapter serves the five payment providers through the gateway
// facade, whose New already names the wrong field.
var paymentAdapter = adapter{
	check: func(s settings) *problem {
		err := gateway.Validate(gatewayConfig(s, nil))
		if err == nil {
			return nil
		}
		var fe *gateway.FieldError
		if !errors.As(err, &fe) {
			return &problem{field: "config", text: err.Error()}
		}
		switch {
		case fe.Field == "provider":
			return &problem{field: "provider_type", text: fe.Problem}
		case strings.HasPrefix(fe.Field, "settings."):
			return &problem{field: "config", text: strings.TrimPrefix(fe.Field, "settings.") + " " + fe.Problem}
		}
		return &problem{field: fe.Field, text: fe.Problem}
	},
	test: func(ctx context.Context, s settings, n network) (string, error) {
		g, err := gateway.New(gatewayConfig(s, n.client))
		if err != nil {
			return "", err
		}
		return g.Test(ctx)
	},
	explain: func(p model.ProviderType, err error) string {
		// Named, so that the gateway explains it in this provider's words
		// whatever the error's type.
		return gateway.Explain(&gateway.Error{Provider: string(p), Op: "test", Err: err})
	},
}

// otapiConfig reads OrderDesk's convention for OT: the secret holds the
// signature secret and the operator's password, "SECRET:PASSWORD"; the
// operator's login is config's operator_login.
func otapiConfig(s settings, hc *http.Client) (otapi.Config, *problem) {
	signature, password, ok := strings.Cut(s.secret, ":")
	if !ok {
		return otapi.Config{}, &problem{field: "api_secret",
			text: `must be "SIGNATURE_SECRET:OPERATOR_PASSWORD" (":OPERATOR_PASSWORD" for an instance without a signature secret)`}
	}
	return otapi.Config{BaseURL: s.endpoint, InstanceKey: s.key, Secret: signature, Language: "en",
		OperatorLogin: s.config["operator_login"], OperatorPassword: password, HTTPClient: hc}, nil
}

// OTAPIConfig is the OT client's configuration of an integration's
// settings at its current endpoint (keys opened), for the procurement flow:
// the same convention as the integration's check and test, in one place.
func OTAPIConfig(endpoint, key, secret string, config map[string]string, hc *http.Client) (otapi.Config, error) {
	cfg, pr := otapiConfig(settings{provider: model.ProviderOTAPI, endpoint: endpoint, key: key, secret: secret, config: config}, hc)
	if pr != nil {
		return otapi.Config{}, errors.New("the OT Platform integration needs a correction: " + pr.field + " " + pr.text)
	}
	return cfg, nil
}

// smtpConfig reads the e-mail endpoint, smtp://host:port (STARTTLS when
// offered) or smtps://host:port (TLS from the first byte, as port 465 is),
// and config's "auth" (plain or login; default PLAIN when offered, else
// LOGIN) and "tls" ("off" for a local relay).
func smtpConfig(s settings) (smtp.Config, *problem) {
	u, err := url.Parse(s.endpoint)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Host == "" {
		return smtp.Config{}, &problem{field: "endpoint", text: "must look like smtp://host:port, e.g. smtp://smtp.example.com:587 (smtps://host:465 for TLS from the start)"}
	}
	auth := strings.ToUpper(s.config["auth"])
	if auth != "" && auth != smtp.AuthPlain && auth != smtp.AuthLogin {
		return smtp.Config{}, &problem{field: "config", text: `auth must be "plain" or "login" (or left out: PLAIN when the server offers it, else LOGIN)`}
	}
	return smtp.Config{Addr: u.Host, Username: s.key, Password: s.secret, Auth: auth, ImplicitTLS: u.Scheme == "smtps",
		DisableTLS: s.config["tls"] == "off", LocalName: "orderdesk"}, nil
}

// SMTPConfig is the e-mail client's configuration of an integration's
// settings at its current endpoint, for the messages' sender; the dial hook
// is the caller's (the egress policy's).
func SMTPConfig(endpoint, user, password string, config map[string]string) (smtp.Config, error) {
	cfg, pr := smtpConfig(settings{provider: model.ProviderSMTP, endpoint: endpoint, key: user, secret: password, config: config})
	if pr != nil {
		return smtp.Config{}, errors.New("the e-mail settings need a correction: " + pr.field + " " + pr.text)
	}
	return cfg, nil
}

// adapters are the providers that are not payment providers.
var adapters = map[model.ProviderType]adapter{
	model.ProviderTaobao: {
		check: func(s settings) *problem {
			return fieldOf(taobao.Validate(taobao.Config{BaseURL: s.endpoint, AppKey: s.key, AppSecret: s.secret}),
				map[string]string{"BaseURL": "endpoint", "AppKey": "api_key", "AppSecret": "api_secret"})
		},
		test: func(ctx context.Context, s settings, n network) (string, error) {
			// Without an operator's authorization there is no token to call
			// with; a token exchange with a made-up code proves the app key and
			// the signature are accepted (the platform answers InvalidCode)
			// without authorizing anything.
			c := taobao.New(taobao.Config{BaseURL: s.endpoint, AppKey: s.key, AppSecret: s.secret, HTTPClient: n.client})
			_, err := c.CreateToken(ctx, "orderdesk-connection-test")
			var te *taobao.Error
			if errors.As(err, &te) && te.Code == "InvalidCode" {
				return "Connected: the app key and secret are accepted; connect a Taobao account to buy.", nil
			}
			if err == nil {
				return "Connected.", nil
			}
			return "", err
		},
		explain: func(_ model.ProviderType, err error) string { return taobao.Explain(err) },
	},
	model.ProviderOTAPI: {
		check: func(s settings) *problem {
			cfg, pr := otapiConfig(s, nil)
			if pr != nil {
				return pr
			}
			return fieldOf(otapi.Validate(cfg), map[string]string{"BaseURL": "endpoint", "InstanceKey": "api_key",
				"Secret": "api_secret", "OperatorPassword": "api_secret", "OperatorLogin": "config.operator_login"})
		},
		test: func(ctx context.Context, s settings, n network) (string, error) {
			cfg, pr := otapiConfig(s, n.client)
			if pr != nil {
				return "", errors.New(pr.text)
			}
			return otapi.New(cfg).TestConnection(ctx)
		},
		explain: func(_ model.ProviderType, err error) string { return otapi.Explain(err) },
	},
	model.ProviderCDEK: {
		check: func(s settings) *problem {
			return fieldOf(cdek.Validate(cdek.Config{BaseURL: s.endpoint, ClientID: s.key, ClientSecret: s.secret}),
				map[string]string{"BaseURL": "endpoint", "ClientID": "api_key", "ClientSecret": "api_secret"})
		},
		test: func(ctx context.Context, s settings, n network) (string, error) {
			return cdek.New(cdek.Config{BaseURL: s.endpoint, ClientID: s.key, ClientSecret: s.secret, HTTPClient: n.client}).TestConnection(ctx)
		},
		explain: func(_ model.ProviderType, err error) string { return cdek.Explain(err) },
	},
	model.ProviderDostavista: {
		check: func(s settings) *problem {
			return fieldOf(dostavista.Validate(dostavista.Config{BaseURL: s.endpoint, AuthToken: s.key}),
				map[string]string{"BaseURL": "endpoint", "AuthToken": "api_key"})
		},
		test: func(ctx context.Context, s settings, n network) (string, error) {
			return dostavista.New(dostavista.Config{BaseURL: s.endpoint, AuthToken: s.key, HTTPClient: n.client}).TestConnection(ctx)
		},
		explain: func(_ model.ProviderType, err error) string { return dostavista.Explain(err) },
	},
	model.ProviderWazzup: {
		check: func(s settings) *problem {
			return fieldOf(wazzup.Validate(wazzup.Config{BaseURL: s.endpoint, APIKey: s.key}),
				map[string]string{"BaseURL": "endpoint", "APIKey": "api_key"})
		},
		test: func(ctx context.Context, s settings, n network) (string, error) {
			return wazzup.New(wazzup.Config{BaseURL: s.endpoint, APIKey: s.key, HTTPClient: n.client}).TestConnection(ctx)
		},
		explain: func(_ model.ProviderType, err error) string { return wazzup.Explain(err) },
	},
	model.ProviderSMTP: {
		check: func(s settings) *problem {
			cfg, pr := smtpConfig(s)
			if pr != nil {
				return pr
			}
			return fieldOf(smtp.Validate(cfg), map[string]string{"Addr": "endpoint", "Username": "api_key", "Password": "api_secret"})
		},
		test: func(ctx context.Context, s settings, n network) (string, error) {
			cfg, pr := smtpConfig(s)
			if pr != nil {
				return "", errors.New(pr.text)
			}
			// The e-mail client dials TCP itself: the policy's dialer checks
			// the address it connects to.
			dial, err := n.policy.DialFor(s.endpoint)
			if err != nil {
				return "", err
			}
			cfg.Dial = dial
			return smtp.New(cfg).TestConnection(ctx)
		},
		explain: func(_ model.ProviderType, err error) string { return smtp.Explain(err) },
	},
}

// errNoAdapter is the answer for a provider type OrderDesk has no client for.
func errNoAdapter(p model.ProviderType) error {
	return fmt.Errorf("OrderDesk cannot connect to %q: it is not a provider it knows", p)
}
