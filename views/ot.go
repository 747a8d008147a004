package views

import (
	"time"

	"orderdesk/model"
)

// ProcurementSettingsForm is the procurement settings page with what was
// typed and the errors of the form that was sent.
type ProcurementSettingsForm struct {
	Settings model.ProcurementSettings
	Errors   FormErrors
	// Integration is the shop's OT integration (nil for none): its keys are
	// set on the Integrations page.
	Integration *model.Integration
	Products    []model.ProductChannel
	// ProductSKU and ProductChannel are the override form as typed.
	ProductSKU, ProductChannel string
	StatusMap                  []model.OTStatusMapping
	// StatusTyped is the status table as typed when it was refused.
	StatusTyped []model.OTStatusMapping
}

// statusRows is the status table to show: as typed, else as saved, with an
// empty row to add one.
func (f ProcurementSettingsForm) statusRows() []model.OTStatusMapping {
	rows := f.StatusMap
	if f.StatusTyped != nil {
		rows = f.StatusTyped
	}
	return append(append([]model.OTStatusMapping(nil), rows...), model.OTStatusMapping{})
}

// OTSessionRow is a provider session as the sessions page shows it.
type OTSessionRow struct {
	Login            string
	ExpiresAt        time.Time
	ExpiresEstimated bool
	ObtainedAt       *time.Time
	AuthorisedBy     string
	Status           string // active, ends soon, needs authorization
	LastError        string
	AtOT             bool
}

// OTSessionsView is what /admin/procurement/ot/sessions shows.
type OTSessionsView struct {
	Sessions []OTSessionRow
	// Waiting is how many paid OT orders wait for a session to be exported.
	Waiting int
	// Error is why OT's list could not be read (the shop's records show).
	Error string
	// HasOT: the shop has an OT integration to authorise with.
	HasOT bool
	Now   time.Time
	Loc   *time.Location
}

// OTActivitiesView is what /admin/procurement/ot/activities shows.
type OTActivitiesView struct {
	Running, Finished []*model.OTActivity
	Counts            model.OTCounts
	Loc               *time.Location
	// CanAct: the user may answer and cancel (operators, owners, admins).
	CanAct bool
}

// OTActivityView is one activity as a card shows it.
type OTActivityView struct {
	Activity *model.OTActivity
	Loc      *time.Location
	// Error is why this request's answer or cancel was refused.
	Error string
	// CanAct: the user may answer and cancel (operators, owners, admins).
	CanAct bool
}

// OTActivityID is the id of an activity's card, the target htmx swaps.
func OTActivityID(id int64) string { return "ot-activity-" + idStr(id) }

// OTActivityURL is where an activity's card is fetched from.
func OTActivityURL(id int64) string { return "/admin/procurement/ot/activities/" + idStr(id) }

// OrderOTID is the id of the order page's OT card.
const OrderOTID = "order-ot"

// otSkippedCount is how many of the OT order's items OT skipped.
func otSkippedCount(x *model.OTOrder) int {
	n := 0
	for _, l := range x.Lines {
		if l.Skipped {
			n++
		}
	}
	return n
}

// otMoney shows an amount of OT's currency (the sandbox's is the yuan).
func otMoney(minor int64) string { return model.FormatAmount(minor) }

// SessionState says a session's state in words at now.
func SessionState(status string, ends, now time.Time) string {
	// The one rule of Session, which the dashboard's warnings follow too.
	s := Session{Status: status, EndsAt: ends}
	switch {
	case s.NeedsAuthorization(now):
		return "needs authorization"
	case s.Due(now):
		return "ends soon"
	}
	return "active"
}
