package handlers

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

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
	"orderdesk/services/integrations"
)

// Sandboxes are the built-in stand-ins of the outside systems, served by this
// binary under /sandbox/{provider}/ with their own state in their own database,
// so that the demo and the tests run the real clients with no internet.
type Sandboxes struct {
	Tinkoff    *tinkoff.Sandbox
	Dolyami    *dolyami.Sandbox
	YandexPay  *yandexpay.Sandbox
	PayPal     *paypal.Sandbox
	Kuveyt     *kuveyt.Sandbox
	Taobao     *taobao.Sandbox
	OTAPI      *otapi.Sandbox
	CDEK       *cdek.Sandbox
	Dostavista *dostavista.Sandbox
	Wazzup     *wazzup.Sandbox
	SMTP       *smtp.Sandbox
	handlers   map[string]http.Handler
	smtpAddr   string
}

// sandboxSetter is what every sandbox can do with its public address.
type sandboxSetter interface{ SetBaseURL(string) }

// NewSandboxes opens every sandbox on db; baseURL is where this server is
// reached (each sandbox lives at baseURL/sandbox/{provider}), and the e-mail
// sandbox listens for SMTP on smtpAddr (its outbox page is /sandbox/smtp/).
func NewSandboxes(db *sql.DB, baseURL, smtpAddr string) (*Sandboxes, error) {
	s := &Sandboxes{}
	var err error
	if s.Tinkoff, err = tinkoff.NewSandbox(db, tinkoff.SandboxConfig{TerminalKey: tinkoff.DemoTerminalKey, Password: tinkoff.DemoPassword}); err != nil {
		return nil, err
	}
	if s.Dolyami, err = dolyami.NewSandbox(db, dolyami.SandboxConfig{Login: dolyami.DemoLogin, Password: dolyami.DemoPassword}); err != nil {
		return nil, err
	}
	if s.YandexPay, err = yandexpay.NewSandbox(db, yandexpay.SandboxConfig{MerchantID: yandexpay.DemoMerchantID, APIKey: yandexpay.DemoAPIKey}); err != nil {
		return nil, err
	}
	if s.PayPal, err = paypal.NewSandbox(db, paypal.SandboxConfig{Business: paypal.DemoBusiness, APIUsername: paypal.DemoAPIUsername,
		APIPassword: paypal.DemoAPIPassword, APISignature: paypal.DemoAPISignature}); err != nil {
		return nil, err
	}
	if s.Kuveyt, err = kuveyt.NewSandbox(db, kuveyt.SandboxConfig{MerchantID: kuveyt.DemoMerchantID, CustomerID: kuveyt.DemoCustomerID,
		UserName: kuveyt.DemoUserName, Password: kuveyt.DemoPassword}); err != nil {
		return nil, err
	}
	if s.Taobao, err = taobao.NewSandbox(db, taobao.SandboxConfig{AppKey: taobao.DemoAppKey, AppSecret: taobao.DemoAppSecret}); err != nil {
		return nil, err
	}
	if s.OTAPI, err = otapi.NewSandbox(db, otapi.SandboxConfig{InstanceKey: otapi.DemoInstanceKey, Secret: otapi.DemoSecret,
		OperatorLogin: otapi.DemoOperatorLogin, OperatorPassword: otapi.DemoOperatorPassword, UserLogin: otapi.DemoUserLogin, UserPassword: otapi.DemoUserPassword}); err != nil {
		return nil, err
	}
	if s.CDEK, err = cdek.NewSandbox(db, cdek.SandboxConfig{ClientID: cdek.DemoClientID, ClientSecret: cdek.DemoClientSecret}); err != nil {
		return nil, err
	}
	if s.Dostavista, err = dostavista.NewSandbox(db, dostavista.SandboxConfig{AuthToken: dostavista.DemoAuthToken, CallbackSecret: dostavista.DemoCallbackSecret}); err != nil {
		return nil, err
	}
	if s.Wazzup, err = wazzup.NewSandbox(db, wazzup.SandboxConfig{APIKey: wazzup.DemoAPIKey}); err != nil {
		return nil, err
	}
	if s.SMTP, err = smtp.NewSandbox(db, smtp.SandboxConfig{Username: smtp.DemoUsername, Password: smtp.DemoPassword}); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", smtpAddr)
	if err != nil {
		return nil, fmt.Errorf("e-mail sandbox on %s: %w", smtpAddr, err)
	}
	s.smtpAddr = l.Addr().String()
	go func() {
		// Serve ends with ErrClosed when Close stops it; any other end leaves
		// the demo without its e-mail sandbox, which the log must say. The
		// process's logger is the default one (main sets it).
		if err := s.SMTP.Serve(l); !errors.Is(err, smtp.ErrClosed) {
			slog.Error("e-mail sandbox stopped", "addr", s.smtpAddr, "err", err)
		}
	}()
	s.handlers = map[string]http.Handler{
		"tinkoff": s.Tinkoff, "dolyami": s.Dolyami, "yandexpay": s.YandexPay, "paypal": s.PayPal, "kuveyt": s.Kuveyt, "taobao": s.Taobao,
		"otapi": s.OTAPI, "cdek": s.CDEK, "dostavista": s.Dostavista, "wazzup": s.Wazzup, "smtp": s.SMTP,
	}
	s.SetBaseURL(baseURL)
	return s, nil
}

// ConnectDemoCallbacks points the Dostavista sandbox's callback address (the
// setting a shop makes in Dostavista's cabinet) at the demo shop's Dostavista
// integration, unless one is set already, so that the demo's courier orders
// report back like real ones. callbackBaseURL is where this server's webhooks
// are reached.
func (s *Sandboxes) ConnectDemoCallbacks(ctx context.Context, store *model.Store, callbackBaseURL string) error {
	if s.Dostavista.CallbackURL() != "" {
		return nil
	}
	t, err := store.FindTenantBySlug(ctx, model.DemoTenantSlug)
	if errors.Is(err, model.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	in, err := store.UsableIntegration(ctx, t.ID, model.ProviderDostavista)
	if errors.Is(err, model.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	return s.Dostavista.SetCallbackURL(strings.TrimSuffix(callbackBaseURL, "/") + "/webhooks/dostavista/" + strconv.FormatInt(in.ID, 10))
}

// SMTPAddr is where the e-mail sandbox listens.
func (s *Sandboxes) SMTPAddr() string { return s.smtpAddr }

// Close stops the e-mail sandbox's listener.
func (s *Sandboxes) Close() error { return s.SMTP.Close() }

// SetBaseURL tells every sandbox where this server is reached.
func (s *Sandboxes) SetBaseURL(baseURL string) {
	baseURL = strings.TrimSuffix(baseURL, "/")
	for name, h := range s.handlers {
		if set, ok := h.(sandboxSetter); ok {
			set.SetBaseURL(baseURL + "/sandbox/" + name)
		}
	}
}

// mount serves each sandbox under /sandbox/{name}/ and an index at /sandbox/.
func (s *Sandboxes) mount(e *echo.Echo) {
	for name, h := range s.handlers {
		prefix := "/sandbox/" + name
		e.Any(prefix+"/*", echo.WrapHandler(http.StripPrefix(prefix, h)))
		e.GET(prefix, func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, prefix+"/") })
	}
	e.GET("/sandbox/", func(c echo.Context) error {
		return sandboxIndex.Execute(c.Response(), sandboxNames)
	})
	e.GET("/sandbox", func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, "/sandbox/") })
}

var sandboxNames = []string{"kuveyt", "tinkoff", "dolyami", "yandexpay", "paypal", "taobao", "otapi", "cdek", "dostavista", "wazzup", "smtp"}

var sandboxIndex = template.Must(template.New("sandbox").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Sandboxes · OrderDesk</title>
<style>body{font-family:system-ui,sans-serif;max-width:720px;margin:2rem auto;padding:0 1rem}</style></head>
<body><h1>Provider sandboxes</h1>
<p>Each outside system has a built-in stand-in that speaks its real wire format. Their pages show their state
and the switches for failure cases (decline the next payment, insufficient balance, expired tokens, slow or failing answers).</p>
<ul>{{range .}}<li><a href="/sandbox/{{.}}/">{{.}}</a></li>{{end}}</ul></body></html>`))

// DemoIntegrations are the demo tenant's integrations: one per provider, in test
// mode, pointing at the built-in sandboxes of the server at baseURL.
func DemoIntegrations(baseURL, smtpAddr string) []model.IntegrationInput {
	base := strings.TrimSuffix(baseURL, "/") + "/sandbox/"
	mk := func(p model.ProviderType, name, testPath, live string, cfg map[string]string) model.IntegrationInput {
		st := model.IntegrationTest
		desc := "Demo: the built-in sandbox"
		test := base + string(p) + testPath
		// The sandboxes' accounts: integrations.DemoKeys, which can never go live.
		keys := integrations.DemoKeys[p]
		return model.IntegrationInput{Provider: &p, Name: &name, Description: &desc, Status: &st, APIKey: &keys.APIKey, APISecret: &keys.APISecret,
			TestEndpoint: &test, APIEndpoint: &live, Config: cfg}
	}
	return []model.IntegrationInput{
		mk(model.ProviderKuveyt, "Kuveyt Türk VPOS", "", "https://sanalpos.kuveytturk.com.tr/ServiceGateWay", nil),
		mk(model.ProviderTinkoff, "T-Bank card payments", "/v2", tinkoff.ProductionURL, nil),
		mk(model.ProviderDolyami, "Dolyami (pay in 4 parts)", "/v1", dolyami.ProductionURL, nil),
		mk(model.ProviderYandexPay, "Yandex Pay", "/api/merchant", yandexpay.ProductionBaseURL,
			map[string]string{"merchant_id": yandexpay.DemoMerchantID}),
		mk(model.ProviderPayPal, "PayPal", "", paypal.LiveIPNBaseURL, map[string]string{"receiver_email": paypal.DemoBusiness}),
		mk(model.ProviderTaobao, "Taobao Global", "/rest", taobao.LiveBaseURL, nil),
		mk(model.ProviderOTAPI, "OT Platform autobuy", "/service-json", otapi.ProductionURL, map[string]string{"operator_login": otapi.DemoOperatorLogin}),
		mk(model.ProviderCDEK, "CDEK", "/v2", cdek.ProductionURL, nil),
		mk(model.ProviderDostavista, "Dostavista courier", "/api/business/1.5", dostavista.ProductionURL, nil),
		mk(model.ProviderWazzup, "WhatsApp (Wazzup)", "/v3", wazzup.ProductionURL, nil),
		smtpIntegration(smtpAddr),
	}
}

// smtpIntegration is the demo's e-mail: the e-mail sandbox, whose outbox page
// is /sandbox/smtp/. It speaks SMTP on its own port, without TLS on loopback.
func smtpIntegration(addr string) model.IntegrationInput {
	p, st := model.ProviderSMTP, model.IntegrationTest
	name, desc := "E-mail", "Demo: mail lands in the sandbox outbox (/sandbox/smtp/)"
	keys := integrations.DemoKeys[p]
	user, pass, test, live := keys.APIKey, keys.APISecret, "smtp://"+addr, "smtp://smtp.example.com:587"
	return model.IntegrationInput{Provider: &p, Name: &name, Description: &desc, Status: &st, APIKey: &user, APISecret: &pass,
		TestEndpoint: &test, APIEndpoint: &live, Config: map[string]string{"tls": "off", "from": "shop@orderdesk.test"}}
}

// DemoProcurementSettings are a demo shop's procurement settings: OT's
// buyer account, delivery and warehouse of the OT sandbox, so that the shop
// can buy through OT; the Turkish demo shop does (seed 002's channel), the
// rouble one buys directly on Taobao until its owner switches.
func DemoProcurementSettings(slug string) model.ProcurementSettings {
	ch := model.ChannelTaobao
	if slug == model.DemoTurkishSlug {
		ch = model.ChannelOT
	}
	return model.ProcurementSettings{Channel: ch, OTBuyerLogin: otapi.DemoUserLogin, OTBuyerPassword: otapi.DemoUserPassword,
		OTUserProfileID: otapi.DemoUserProfileID, OTDeliveryModeID: otapi.DemoDeliveryModeID,
		OTWarehouse: model.OTWarehouse{RecipientName: "王仓库", Mobile: "13800138000", RegionCode: "150784", Zip: "021400", Address: "义乌市国际商贸城一区 923 号"}}
}
