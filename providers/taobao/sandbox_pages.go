package taobao

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// The sandbox's HTML pages: the OAuth authorization page a Taobao buyer sees,
// and the control page with the failure switches. Plain forms, no JS.

var sandboxTemplates = template.Must(template.New("").Funcs(template.FuncMap{
	"yuan": formatYuan,
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("2006-01-02 15:04:05")
	},
}).Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.}}</title>
<style>body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left}form.inline{display:inline}fieldset{margin:.5rem 0}.banner{background:#ff6a00;color:#fff;padding:.5rem 1rem}</style>
</head><body><div class="banner">Taobao Global Open Platform — SANDBOX</div>{{end}}

{{define "authorize"}}{{template "head" "Authorize application"}}
<h1>Authorize {{.AppName}}</h1>
<p>The application <strong data-testid="sandbox-app-name">{{.AppName}}</strong> (app key {{.ClientID}}) asks to place and pay
purchase orders with your Taobao buyer account. You will be sent back to <code>{{.RedirectHost}}</code>.</p>
<form method="post" action="authorize">
<input type="hidden" name="client_id" value="{{.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
<input type="hidden" name="state" value="{{.State}}">
<fieldset><legend>Sign in as</legend>
{{range $i, $a := .Accounts}}<label><input type="radio" name="account" value="{{$a.Account}}" data-testid="sandbox-account-{{$a.Account}}"{{if eq $i 0}} checked{{end}}> {{$a.Account}} (balance ¥{{yuan $a.BalanceFen}})</label><br>
{{end}}</fieldset>
<button type="submit" name="decision" value="authorize" data-testid="sandbox-authorize">Authorize</button>
<button type="submit" name="decision" value="refuse" data-testid="sandbox-refuse">Refuse</button>
</form></body></html>{{end}}

{{define "autherror"}}{{template "head" "Authorization error"}}
<h1>Authorization error</h1><p data-testid="sandbox-error">{{.}}</p></body></html>{{end}}

{{define "index"}}{{template "head" "Taobao sandbox"}}
<h1>Taobao sandbox</h1>
<p>Gateway: <code>{{.BaseURL}}/rest</code> · OAuth: <code>{{.BaseURL}}/oauth/authorize</code> · app key <code>{{.AppKey}}</code></p>
<h2>Accounts</h2>
<table data-testid="sandbox-accounts"><tr><th>Account</th><th>Balance (CNY)</th><th>Set balance</th><th>Tokens</th></tr>
{{range .Accounts}}<tr data-testid="sandbox-account-row-{{.Account}}"><td>{{.Account}}</td><td>{{yuan .BalanceFen}}</td>
<td><form class="inline" method="post" action="_control"><input type="hidden" name="action" value="set_balance"><input type="hidden" name="account" value="{{.Account}}"><input name="yuan" size="10" value="{{yuan .BalanceFen}}"> <button data-testid="sandbox-set-balance-{{.Account}}">Set</button></form></td>
<td><form class="inline" method="post" action="_control"><input type="hidden" name="action" value="expire_access"><input type="hidden" name="account" value="{{.Account}}"><button data-testid="sandbox-expire-access-{{.Account}}">Expire access token now</button></form>
<form class="inline" method="post" action="_control"><input type="hidden" name="action" value="expire_tokens"><input type="hidden" name="account" value="{{.Account}}"><button data-testid="sandbox-expire-tokens-{{.Account}}">Expire both tokens now</button></form></td></tr>
{{end}}</table>
<h2>Switches</h2>
<form method="post" action="_control"><input type="hidden" name="action" value="unknown_sku_next"><button data-testid="sandbox-unknown-sku-next">Unknown SKU for the next create</button> (pending: {{.UnknownSKUNext}})</form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_next">Fail the next <input name="n" size="3" value="1"> API calls with a server error <button data-testid="sandbox-fail-next">Set</button> (pending: {{.FailNext}})</form>
<form method="post" action="_control"><input type="hidden" name="action" value="latency">Latency <input name="ms" size="6" value="{{.LatencyMS}}"> ms <button data-testid="sandbox-latency">Set</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="push_url">Push URL <input name="url" size="50" value="{{.PushURL}}"> <button data-testid="sandbox-push-url">Set</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="auto_advance">Auto-ship <input name="ship_seconds" size="5" value="{{.AutoShipSeconds}}"> s after payment, auto-complete <input name="complete_seconds" size="5" value="{{.AutoCompleteSeconds}}"> s after shipping (0 = off) <button data-testid="sandbox-auto-advance">Set</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="resend_notifications"><button data-testid="sandbox-resend-notifications">Retry undelivered pushes</button> ({{.Undelivered}} undelivered)</form>
<h2>Purchases</h2>
<table data-testid="sandbox-purchases"><tr><th>Purchase id</th><th>Account</th><th>Outer id</th><th>Supplier</th><th>Amount</th><th>Status</th><th>Tracking</th><th>Actions</th></tr>
{{range .Purchases}}<tr data-testid="sandbox-purchase-{{.PurchaseID}}"><td>{{.PurchaseID}}</td><td>{{.Account}}</td><td>{{.OuterPurchaseID}}</td><td>{{.SupplierNick}}</td><td>{{yuan .AmountFen}}</td><td data-testid="sandbox-purchase-status">{{.Status}}</td><td>{{.LogisticCompany}} {{.LogisticNumber}}</td>
<td>{{.ActionsHTML}}</td></tr>
{{else}}<tr><td colspan="8">No purchases yet.</td></tr>{{end}}</table>
</body></html>{{end}}

{{define "purchaseActions"}}{{range .Actions}}<form class="inline" method="post" action="_control"><input type="hidden" name="action" value="{{.}}"><input type="hidden" name="purchase_id" value="{{$.ID}}"><button data-testid="sandbox-{{.}}-{{$.ID}}">{{.}}</button></form> {{end}}{{end}}
`))

func (s *Sandbox) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	var q url.Values
	if r.Method == http.MethodPost {
		if err := r.ParseForm(); err != nil {
			s.authError(w, http.StatusBadRequest, "The form could not be read.")
			return
		}
		q = r.PostForm
	} else {
		q = r.URL.Query()
	}
	clientID := q.Get("client_id")
	if clientID != s.cfg.AppKey {
		s.authError(w, http.StatusBadRequest, fmt.Sprintf("Unknown application: client_id %q is not registered with this sandbox.", clientID))
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || !redirect.IsAbs() || (redirect.Scheme != "http" && redirect.Scheme != "https") || redirect.Host == "" {
		s.authError(w, http.StatusBadRequest, "The redirect_uri is missing or is not an absolute http(s) URL.")
		return
	}
	state := q.Get("state")
	if r.Method != http.MethodPost {
		if rt := q.Get("response_type"); rt != "code" {
			s.authError(w, http.StatusBadRequest, "Unsupported response_type: only \"code\" is supported.")
			return
		}
		accounts, err := s.Accounts()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		s.render(w, http.StatusOK, "authorize", map[string]any{
			"AppName":      s.cfg.AppName,
			"ClientID":     clientID,
			"RedirectURI":  redirect.String(),
			"RedirectHost": redirect.Host,
			"State":        state,
			"Accounts":     accounts,
		})
		return
	}
	back := redirect.Query()
	switch q.Get("decision") {
	case "authorize":
		account := q.Get("account")
		code, err := s.newAuthCode(account, redirect.String())
		if err != nil {
			s.authError(w, http.StatusBadRequest, err.Error())
			return
		}
		back.Set("code", code)
	case "refuse":
		back.Set("error", "access_denied")
		back.Set("error_description", "The user refused to authorize the application")
	default:
		s.authError(w, http.StatusBadRequest, "Choose Authorize or Refuse.")
		return
	}
	if state != "" {
		back.Set("state", state)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Sandbox) newAuthCode(account, redirectURI string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM taobao_accounts WHERE account = ?`, account).Scan(&n); err != nil {
		return "", err
	}
	if n == 0 {
		return "", fmt.Errorf("unknown Taobao account %q", account)
	}
	code := "0_" + s.cfg.AppKey + "_" + randomHex(16)
	_, err := s.db.Exec(`INSERT INTO taobao_auth_codes (code, account, redirect_uri, expires_at) VALUES (?, ?, ?, ?)`,
		code, account, redirectURI, s.now().Add(s.cfg.CodeTTL).UnixMilli())
	return code, err
}

func (s *Sandbox) authError(w http.ResponseWriter, status int, msg string) {
	s.render(w, status, "autherror", msg)
}

func (s *Sandbox) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := sandboxTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	httpbody.Write(w, buf.Bytes())
}

// purchaseActions lists the control actions that make sense for a status.
func purchaseActions(status string) []string {
	switch status {
	case StatusWaitBuyerPay:
		return []string{"close"}
	case StatusWaitSellerSendGoods:
		return []string{"ship", "close"}
	case StatusWaitBuyerConfirmGoods:
		return []string{"complete", "close", "resend"}
	case StatusTradeFinished, StatusTradeClosed:
		return []string{"resend"}
	}
	return nil
}

type indexRow struct {
	SandboxPurchase
	ActionsHTML template.HTML
}

func (s *Sandbox) serveIndex(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	_ = s.Advance()
	accounts, err := s.Accounts()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	purchases, err := s.Purchases()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	pushes, err := s.Notifications()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	undelivered := 0
	for _, p := range pushes {
		if !p.Delivered {
			undelivered++
		}
	}
	rows := make([]indexRow, len(purchases))
	for i, p := range purchases {
		var buf bytes.Buffer
		_ = sandboxTemplates.ExecuteTemplate(&buf, "purchaseActions", map[string]any{"ID": p.PurchaseID, "Actions": purchaseActions(p.Status)})
		rows[i] = indexRow{SandboxPurchase: p, ActionsHTML: template.HTML(buf.String())}
	}
	s.mu.Lock()
	data := map[string]any{
		"BaseURL":             s.BaseURL(),
		"AppKey":              s.cfg.AppKey,
		"Accounts":            accounts,
		"Purchases":           rows,
		"UnknownSKUNext":      s.unknownSKUNext.Armed(),
		"FailNext":            s.failNext.Armed(),
		"LatencyMS":           s.Latency().Milliseconds(),
		"PushURL":             s.pushURL,
		"AutoShipSeconds":     int64(s.autoShip.Seconds()),
		"AutoCompleteSeconds": int64(s.autoComplete.Seconds()),
		"Undelivered":         undelivered,
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "index", data)
}

// serveControl applies one switch from the control page and goes back to it.
func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	f := r.PostForm
	var err error
	pid := func() int64 {
		n, perr := strconv.ParseInt(f.Get("purchase_id"), 10, 64)
		if perr != nil {
			err = fmt.Errorf("bad purchase_id")
		}
		return n
	}
	switch f.Get("action") {
	case "set_balance":
		var fen int64
		if fen, err = parseYuan(f.Get("yuan")); err == nil {
			err = s.SetBalance(f.Get("account"), fen)
		}
	case "expire_access":
		err = s.ExpireAccessToken(f.Get("account"))
	case "expire_tokens":
		err = s.ExpireTokens(f.Get("account"))
	case "unknown_sku_next":
		s.unknownSKUNext.Add()
	case "fail_next":
		var n int
		if n, err = strconv.Atoi(strings.TrimSpace(f.Get("n"))); err == nil {
			s.FailNext(n)
		}
	case "latency":
		err = sandboxkit.SetLatency(f.Get("ms"), s.SetLatency)
	case "push_url":
		u := strings.TrimSpace(f.Get("url"))
		if u != "" {
			if pu, perr := url.Parse(u); perr != nil || !pu.IsAbs() {
				err = fmt.Errorf("push URL must be absolute")
				break
			}
		}
		s.SetPushURL(u)
	case "auto_advance":
		ship, e1 := strconv.Atoi(strings.TrimSpace(f.Get("ship_seconds")))
		complete, e2 := strconv.Atoi(strings.TrimSpace(f.Get("complete_seconds")))
		if e1 != nil || e2 != nil || ship < 0 || complete < 0 {
			err = fmt.Errorf("seconds must be whole numbers")
			break
		}
		s.SetAutoAdvance(time.Duration(ship)*time.Second, time.Duration(complete)*time.Second)
	case "resend_notifications":
		_, err = s.ResendNotifications()
	case "ship":
		if id := pid(); err == nil {
			err = s.Ship(id)
		}
	case "complete":
		if id := pid(); err == nil {
			err = s.Complete(id)
		}
	case "close":
		if id := pid(); err == nil {
			err = s.ClosePurchase(id, "closed from the sandbox control page")
		}
	case "resend":
		if id := pid(); err == nil {
			err = s.ResendNotification(id)
		}
	default:
		err = fmt.Errorf("unknown action %q", f.Get("action"))
	}
	if err != nil {
		http.Error(w, "taobao sandbox: "+err.Error(), http.StatusBadRequest)
		return
	}
	// A relative Location works under any mount prefix; http.Redirect would
	// resolve it against the already stripped path, so set it by hand.
	sandboxkit.BackToControl(w, "")
}

// formatYuan renders fen as yuan with two decimals, without floats.
func formatYuan(fen int64) string {
	sign := ""
	if fen < 0 {
		sign, fen = "-", -fen
	}
	return fmt.Sprintf("%s%d.%02d", sign, fen/100, fen%100)
}

// parseYuan reads "1234", "1234.5" or "1,234.56" as fen, without floats.
func parseYuan(s string) (int64, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 {
		return 0, fmt.Errorf("amount must look like 1234.56")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount must look like 1234.56")
	}
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("amount must look like 1234.56")
	}
	v := w*100 + f
	if neg {
		v = -v
	}
	return v, nil
}
