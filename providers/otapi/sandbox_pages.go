package otapi

import (
	"database/sql"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"orderdesk/providers/internal/sandboxkit"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ---------------------------------------------------------------- the provider's login page

type authView struct {
	Provider string
	Logins   []string
	Open     bool
	Message  string
}

// authPage plays Taobao's login-and-consent page the operator opens from
// ProviderAuthURL: pick a Taobao login, then Authorise or Refuse.
func (s *Sandbox) authPage(w http.ResponseWriter, r *http.Request) {
	var prov string
	var used bool
	err := s.db.QueryRowContext(r.Context(), `SELECT provider_type, used FROM otapi_provider_auth WHERE token = ?`, r.PathValue("token")).Scan(&prov, &used)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		sandboxkit.Render(w, http.StatusNotFound, authTmpl, authView{Message: "This authorisation link is not valid."})
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case used:
		sandboxkit.Render(w, http.StatusGone, authTmpl, authView{Provider: prov, Message: "This authorisation link was already used."})
	default:
		sandboxkit.Render(w, http.StatusOK, authTmpl, authView{Provider: prov, Logins: providerLogins, Open: true})
	}
}

// errAuthForm is a form the login page cannot take; the link stays usable.
var errAuthForm = errors.New("auth form")

// authAction handles the page's buttons and sends the browser back to the
// return URL: with the new provider session (Authorise), or with an error
// (Refuse). A link works once. [U] the parameter names sessionId and error
// are the sandbox's; see ParseProviderReturn.
func (s *Sandbox) authAction(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	tok := r.PathValue("token")
	decision, login := r.FormValue("decision"), r.FormValue("account")
	var prov, ret string
	var used bool
	back := url.Values{}
	s.writeMu.Lock()
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT provider_type, return_url, used FROM otapi_provider_auth WHERE token = ?`, tok).Scan(&prov, &ret, &used); err != nil || used {
			return err
		}
		switch decision {
		case "authorize":
			if !slices.Contains(providerLogins, login) {
				return errAuthForm
			}
			id, err := s.newProviderSession(ctx, tx, prov, login)
			if err != nil {
				return err
			}
			back.Set("sessionId", id)
		case "refuse":
			back.Set("error", prov+" refused the authorisation")
		default:
			return errAuthForm
		}
		_, err := tx.ExecContext(ctx, `UPDATE otapi_provider_auth SET used = 1 WHERE token = ?`, tok)
		return err
	})
	s.writeMu.Unlock()
	switch {
	case errors.Is(err, errAuthForm):
		sandboxkit.Render(w, http.StatusBadRequest, authTmpl, authView{Provider: prov, Logins: providerLogins, Open: true, Message: "Choose a Taobao login, then Authorise or Refuse."})
		return
	case errors.Is(err, sql.ErrNoRows):
		sandboxkit.Render(w, http.StatusNotFound, authTmpl, authView{Message: "This authorisation link is not valid."})
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	case used:
		sandboxkit.Render(w, http.StatusGone, authTmpl, authView{Provider: prov, Message: "This authorisation link was already used."})
		return
	}
	u, err := url.Parse(ret)
	if err != nil {
		// mProviderAuthInfo only stores absolute URLs it parsed.
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	q := u.Query()
	for k, v := range back {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	sandboxkit.SeeOther(w, u.String())
}

var authTmpl = sandboxkit.Page("auth", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{if .Provider}}{{.Provider}}{{else}}Provider{{end}} login (OT API sandbox)</title>
<style>body{font-family:sans-serif;max-width:32em;margin:2em auto}button{margin-right:.5em;padding:.5em 1em}label{display:block;margin:.3em 0}</style></head>
<body data-testid="sandbox-otapi-auth-page">
<h1>{{if .Provider}}{{.Provider}}{{else}}Provider{{end}} login (OT API sandbox)</h1>
{{if .Message}}<p data-testid="sandbox-message">{{.Message}}</p>{{end}}
{{if .Open}}
<p>OT Platform asks for access to a buyer account to place and follow orders (autobuy). Sign in as:</p>
<form method="post" data-testid="sandbox-auth-form">
{{range $i, $l := .Logins}}<label><input type="radio" name="account" value="{{$l}}" data-testid="sandbox-account-{{$l}}"{{if eq $i 0}} checked{{end}}> {{$l}}</label>{{end}}
<p><button type="submit" name="decision" value="authorize" data-testid="sandbox-authorize">Authorise</button>
<button type="submit" name="decision" value="refuse" data-testid="sandbox-refuse">Refuse</button></p>
</form>
{{end}}
</body></html>`, nil)

// ---------------------------------------------------------------- control page

type controlView struct {
	APIURL         string
	Key            string
	Switches       SandboxSwitches
	Reasons        []string
	Balance        string
	Sessions       []ProviderSession
	Now            time.Time
	Catalogue      []CatalogueItem
	Orders         []*SandboxOrder
	ProviderOrders []*ProviderOrder
	TradeStatuses  []string
	Logins         []string
	Acts           []SandboxActivity
	Customer       string
	Profile        string
	Delivery       string
	BuyerUser      string
}

func (s *Sandbox) controlPage(w http.ResponseWriter, r *http.Request) {
	v := controlView{APIURL: s.APIURL(), Key: s.cfg.InstanceKey, Switches: s.Switches(), Customer: DemoCustomerID, Profile: DemoUserProfileID,
		Delivery: DemoDeliveryModeID, BuyerUser: s.cfg.UserLogin, Now: s.now(), Catalogue: sandboxCatalogue, Logins: providerLogins,
		Reasons:       []string{ReasonUnpaidOrdersLimit, ReasonInvalidBuyoutAddress, "ProviderMaintenance"},
		TradeStatuses: append(append([]string(nil), tradeSteps...), TradeClosed)}
	b, err := s.Balance(DemoCustomerID)
	v.Balance = FormatMoney(b)
	if err == nil {
		v.Sessions, err = s.ProviderSessions()
	}
	if err == nil {
		v.Orders, err = s.Orders(100)
	}
	if err == nil {
		v.ProviderOrders, err = s.ProviderOrders(100)
	}
	if err == nil {
		v.Acts, err = s.Activities(100)
	}
	if err != nil {
		http.Error(w, "OT API sandbox: "+err.Error(), http.StatusInternalServerError)
		return
	}
	sandboxkit.Render(w, http.StatusOK, controlTmpl, v)
}

// errControl is a control form with a bad field; its message says which.
type errControl string

func (e errControl) Error() string { return string(e) }

func (s *Sandbox) controlAction(w http.ResponseWriter, r *http.Request) {
	sandboxkit.Control(w, r, func(r *http.Request) error {
		err := s.control(r)
		var bad errControl
		switch {
		case errors.As(err, &bad):
			return sandboxkit.BadForm(bad.Error())
		case errors.Is(err, ErrNotFound):
			return sandboxkit.NoSuch("no such provider order")
		}
		return err
	})
}

func (s *Sandbox) control(r *http.Request) error {
	on := r.FormValue("on") == "1"
	switch r.FormValue("action") {
	case "fail_next":
		s.FailNext()
	case "fail_export":
		reason := strings.TrimSpace(r.FormValue("reason"))
		if reason == "" {
			reason = ReasonUnpaidOrdersLimit
		}
		s.FailNextExportWith(reason)
	case "ask_next":
		q := strings.TrimSpace(r.FormValue("question"))
		if q == "" {
			return errControl("question: write the question the next export asks")
		}
		s.AskNextExport(q)
	case "unpaid_limit":
		s.SetUnpaidOrdersLimit(on)
	case "invalid_address":
		s.SetInvalidBuyoutAddress(on)
	case "ban":
		s.BanInstanceKey(on)
	case "expire_sessions":
		return s.ExpireSessions()
	case "expire_provider_sessions":
		return s.ExpireProviderSessions()
	case "clear":
		s.ClearSwitches()
	case "latency":
		return sandboxkit.SetLatency(r.FormValue("ms"), s.SetLatency)
	case "provider_status":
		if _, ok := tradeLineStatus[r.FormValue("status")]; !ok {
			return errControl("status: not a Taobao trade status")
		}
		return s.SetProviderOrderStatus(r.FormValue("provider_order_id"), r.FormValue("status"))
	case "buy_by_hand":
		qty, err := strconv.Atoi(r.FormValue("quantity"))
		if err != nil || qty < 1 {
			return errControl("quantity: a whole number from 1")
		}
		if !slices.Contains(providerLogins, r.FormValue("account")) {
			return errControl("account: not a Taobao login of the sandbox")
		}
		if _, err := s.BuyByHand(r.FormValue("account"), ProviderItem{ItemID: r.FormValue("item_id"), ConfigurationID: r.FormValue("config_id"), Quantity: qty}); err != nil {
			return errControl("item_id: " + err.Error())
		}
	default:
		return errControl("unknown action")
	}
	return nil
}

// Expired is for the control page: whether a provider session has ended.
func (v controlView) Expired(ps ProviderSession) bool { return ps.Expired(v.Now) }

var controlTmpl = sandboxkit.Page("control", `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OT API sandbox</title>
<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.2em .5em;vertical-align:top}form{display:inline}</style></head>
<body data-testid="sandbox-otapi-control">
<h1>OT API sandbox (autobuy)</h1>
<p>API: <code>{{.APIURL}}/&lt;Method&gt;</code>, instanceKey <code>{{.Key}}</code>, signed requests. Buyer <code>{{.BuyerUser}}</code>
(customer {{.Customer}}, profile {{.Profile}}), delivery mode <code>{{.Delivery}}</code>, currency CNY.
Each read of an activity moves it one step; each synchronisation moves every Taobao order one step along.</p>
<h2>Switches</h2>
<p><form method="post" action="_control"><input type="hidden" name="action" value="fail_next"><button data-testid="sandbox-fail-next">Fail next API call{{if .Switches.FailNext}} (armed){{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="fail_export">
<select name="reason">{{range .Reasons}}<option>{{.}}</option>{{end}}</select>
<button data-testid="sandbox-fail-export">Fail next export{{with .Switches.FailNextExport}} (armed: {{.}}){{end}}</button></form></p>
<p><form method="post" action="_control"><input type="hidden" name="action" value="ask_next">
<input name="question" size="50" value="The seller changed the item's photo: buy it anyway?">
<button data-testid="sandbox-ask-next">Next export asks this{{with .Switches.AskNextExport}} (armed){{end}}</button></form></p>
<p><form method="post" action="_control"><input type="hidden" name="action" value="unpaid_limit"><input type="hidden" name="on" value="{{if .Switches.UnpaidOrdersLimit}}0{{else}}1{{end}}">
<button data-testid="sandbox-unpaid-limit">{{if .Switches.UnpaidOrdersLimit}}Lift the limit of unpaid orders{{else}}Reach the limit of unpaid orders{{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="invalid_address"><input type="hidden" name="on" value="{{if .Switches.InvalidBuyoutAddress}}0{{else}}1{{end}}">
<button data-testid="sandbox-invalid-address">{{if .Switches.InvalidBuyoutAddress}}Fix the buyout address{{else}}Break the buyout address{{end}}</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="ban"><input type="hidden" name="on" value="{{if .Switches.InstanceBanned}}0{{else}}1{{end}}">
<button data-testid="sandbox-ban">{{if .Switches.InstanceBanned}}Unban the instance key{{else}}Ban the instance key{{end}}</button></form></p>
<p><form method="post" action="_control"><input type="hidden" name="action" value="expire_sessions"><button data-testid="sandbox-expire-sessions">Expire operator and buyer sessions</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="expire_provider_sessions"><button data-testid="sandbox-expire-provider-sessions">Expire Taobao sessions</button></form>
<form method="post" action="_control"><input type="hidden" name="action" value="clear"><button data-testid="sandbox-clear">Clear switches</button></form>
{{template "latency-form" .Switches.Latency}}</p>
<h2>Buyer account</h2>
<p>Balance of customer {{.Customer}}: <span data-testid="sandbox-balance">{{.Balance}}</span> CNY</p>
<h2>Taobao sessions</h2>
<ul data-testid="sandbox-provider-sessions">{{range .Sessions}}<li><code>{{.ID}}</code> ({{.Name}}) {{if $.Expired .}}expired {{else}}until {{end}}{{when .ExpiresAt}}</li>{{else}}<li>none: authorise from the app</li>{{end}}</ul>
<h2>Orders</h2>
<table data-testid="sandbox-orders"><tr><th>Id</th><th>Comment</th><th>Total</th><th>Paid</th><th>Lines: id, item, configuration, quantity, status, Taobao order, track</th></tr>
{{range .Orders}}<tr data-testid="sandbox-order-row"><td>{{.ID}}{{if .Cancelled}} (cancelled){{end}}</td><td>{{.Comment}}</td><td>{{money .Total}}</td><td>{{money .Paid}}</td>
<td>{{range .Lines}}{{.ID}}: {{.ItemID}} / {{.ConfigurationID}} × {{.Quantity}}, {{.StatusName}}{{with .VendPurchID}}, Taobao {{.}}{{end}}{{with .VendPurchWaybill}}, track {{.}}{{end}}<br>{{end}}</td></tr>{{end}}
</table>
<h2>Taobao orders</h2>
<table data-testid="sandbox-provider-orders"><tr><th>Id</th><th>Account</th><th>Seller</th><th>Items</th><th>Status</th><th>Track</th><th>Set status</th></tr>
{{range .ProviderOrders}}<tr data-testid="sandbox-provider-order-{{.ID}}"><td>{{.ID}}{{if .ByHand}} (by hand){{end}}</td><td>{{.Account}}</td><td>{{.Seller}}</td>
<td>{{range .Items}}{{.ItemID}} / {{.ConfigurationID}} × {{.Quantity}}{{with .LineID}} → line {{.}}{{end}}<br>{{end}}</td><td>{{.Status}}</td><td>{{.Waybill}}</td>
<td><form method="post" action="_control"><input type="hidden" name="action" value="provider_status"><input type="hidden" name="provider_order_id" value="{{.ID}}">
<select name="status">{{range $.TradeStatuses}}<option>{{.}}</option>{{end}}</select> <button>Set</button></form></td></tr>{{end}}
</table>
<p><form method="post" action="_control" data-testid="sandbox-buy-by-hand"><input type="hidden" name="action" value="buy_by_hand">Buy by hand on Taobao as
<select name="account">{{range .Logins}}<option>{{.}}</option>{{end}}</select>: item <input name="item_id" size="14" value="612093384455">
configuration <input name="config_id" size="14" value="4421097735501"> × <input name="quantity" size="3" value="1"> <button>Buy</button></form></p>
<h2>Activities</h2>
<table data-testid="sandbox-activities"><tr><th>Id</th><th>Type</th><th>Orders</th><th>Reads</th><th>State</th><th>Steps</th></tr>
{{range .Acts}}<tr><td>{{.ID}}</td><td>{{.Type}}</td><td>{{join .OrderIDs ", "}}</td><td>{{.Reads}}</td>
<td>{{if .Cancelled}}cancelled{{else if .Finished}}finished{{else if .Question}}asks: {{.Question}}{{else}}running{{end}}</td>
<td>{{range .Steps}}{{.Type}}: {{.Message}}<br>{{end}}</td></tr>{{end}}
</table>
<h2>Catalogue (the sandbox's Taobao)</h2>
<table data-testid="sandbox-catalogue"><tr><th>Item</th><th>Title</th><th>Seller</th><th>Configurations</th><th>Price</th></tr>
{{range .Catalogue}}<tr><td>{{.ID}}</td><td>{{.Title}}{{if .Tmall}} [Tmall: never exported]{{end}}{{if .OffSale}} [skipped by AddOrder]{{end}}{{if .SellerGone}} [skipped by AddOrder]{{end}}</td>
<td>{{.Seller}}</td><td>{{if .Configurations}}{{join .Configurations ", "}}{{else}}0 (no options){{end}}</td><td>{{money .Price}}{{if .ProviderPrice}} (Taobao now {{money .ProviderPrice}}){{end}}{{if .Stock}} ({{.Stock}} in stock){{end}}</td></tr>{{end}}
</table>
<p>Any other item id is unknown to Taobao: AddOrder skips it.</p>
</body></html>`, template.FuncMap{
	"money": FormatMoney,
	"when":  func(t time.Time) string { return t.Format("2006-01-02 15:04 UTC") },
	"join":  strings.Join,
})
