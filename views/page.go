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
	Label   string
	Href    string
}

// Nav is the navigation of the whole back office.
var Nav = []NavItem{
	{SectionDashboard, "Dashboard", "/admin/"},
	{SectionOrders, "Orders", "/admin/orders"},
	{SectionPayments, "Payments", "/admin/payments"},
	{SectionMessages, "Messages", "/admin/messages"},
	{SectionIntegrations, "Integrations", "/admin/integrations"},
	{SectionProcurement, "Procurement", "/admin/procurement"},
	{SectionWarehouse, "Warehouse", "/admin/warehouse"},
	{SectionJobs, "Jobs", "/admin/jobs"},
	{SectionSettings, "Settings", "/admin/settings"},
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
	b, _ := json.Marshal(map[string]string{"X-CSRF-Token": p.CSRF})
	return string(b)
}

// FullTitle is the document title.
func (p Page) FullTitle() string {
	if p.Tenant != nil {
		return p.Title + " · " + p.Tenant.Name + " · OrderDesk"
	}
	return p.Title + " · OrderDesk"
}
