// Package views holds the templ components: the layout, one file per page, and the
// fragments that htmx swaps. Components get plain data; they never query the store.
package views

import (
	"encoding/json"

	"orderdesk/model"
)

// Section names the back-office sections of the navigation.
type Section string

// The back-office sections, in navigation order.
const (
	SectionDashboard    Section = "dashboard"
	SectionOrders       Section = "orders"
	SectionPayments     Section = "payments"
	SectionMessages     Section = "messages"
	SectionIntegrations Section = "integrations"
	SectionProcurement  Section = "procurement"
	SectionWarehouse    Section = "warehouse"
	SectionJobs         Section = "jobs"
	SectionSettings     Section = "settings"
)

// NavItem is one link of the back-office navigation.
type NavItem struct {
	Section Section
	// Key is the link's message id ("common.nav.orders").
	Key string
	// Label is the English label, for code without a page's language; pages
	// write tr(ctx, Key).
	Label string
	Href  string
	// For reports whether a role works in the section; nil is every role.
	For func(model.Role) bool
}

// Nav is the navigation of the whole back office. A role sees the sections
// it works in: staff work orders, payments, messages and the warehouse;
// operators procurement, its jobs and the warehouse; owners and admins all.
// (Staff may still open a page of another section by its address, read
// only; the navigation does not send them there.)
var Nav = []NavItem{
	{SectionDashboard, "common.nav.dashboard", "Dashboard", "/admin/", nil},
	{SectionOrders, "common.nav.orders", "Orders", "/admin/orders", nil},
	{SectionPayments, "common.nav.payments", "Payments", "/admin/payments", worksOrders},
	{SectionMessages, "common.nav.messages", "Messages", "/admin/messages", worksOrders},
	{SectionIntegrations, "common.nav.integrations", "Integrations", "/admin/integrations", model.Role.CanManageUsers},
	{SectionProcurement, "common.nav.procurement", "Procurement", "/admin/procurement", model.Role.CanBuy},
	{SectionWarehouse, "common.nav.warehouse", "Warehouse", "/admin/warehouse", nil},
	{SectionJobs, "common.nav.jobs", "Jobs", "/admin/jobs", model.Role.CanBuy},
	{SectionSettings, "common.nav.settings", "Settings", "/admin/settings", nil},
}

// worksOrders reports whether r handles customers' orders, payments and
// messages: everyone but the operators, who buy.
func worksOrders(r model.Role) bool { return r != model.RoleOperator }

// NavFor is the navigation a user of role r sees.
func NavFor(r model.Role) []NavItem {
	var out []NavItem
	for _, item := range Nav {
		if item.For == nil || item.For(r) {
			out = append(out, item)
		}
	}
	return out
}

// htmxConfig fits htmx to the Content-Security-Policy, which refuses inline
// styles and eval: htmx's indicator styles are in app.css instead of a <style>
// element htmx would add, and htmx never evaluates code from attributes or swaps
// in script tags.
const htmxConfig = `{"includeIndicatorStyles":false,"allowEval":false,"allowScriptTags":false}`

// Page is what the layout needs to frame any page.
type Page struct {
	Title   string
	Section Section
	Tenant  *model.Tenant
	User    *model.User // nil on public pages
	CSRF    string
	// Flash is the notice an earlier request left for this page (shown once).
	Flash Flash
}

// FlashKind says how a notice reads: as a confirmation or as an error.
type FlashKind string

// The kinds of notice.
const (
	FlashOK    FlashKind = "ok"
	FlashInfo  FlashKind = "info"
	FlashError FlashKind = "error"
)

// Flash is a one-time notice: what the previous action did, shown on the page it
// redirected to. It comes from the server-side session only, never from the URL.
type Flash struct {
	Kind    FlashKind
	Message string
}

// Role is the ARIA role of the notice: errors interrupt, the rest are status.
func (f Flash) Role() string {
	if f.Kind == FlashError {
		return "alert"
	}
	return "status"
}

// Class is the notice's CSS class.
func (f Flash) Class() string {
	if f.Kind == FlashInfo {
		return "notice"
	}
	return "notice " + string(f.Kind)
}

// CSRFHeaders is the hx-headers value that makes htmx send the CSRF token.
func (p Page) CSRFHeaders() string {
	token, _ := json.Marshal(p.CSRF) // a string always encodes
	return `{"X-CSRF-Token":` + string(token) + `}`
}

// FullTitle is the document title.
func (p Page) FullTitle() string {
	if p.Tenant != nil {
		return p.Title + " · " + p.Tenant.Name + " · OrderDesk"
	}
	return p.Title + " · OrderDesk"
}
