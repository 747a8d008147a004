package views

import (
	"orderdesk/model"
	"orderdesk/views/locales"
)

// Down is what the maintenance page shows. Its words are the message files'
// "common.maintenance.…" keys in the shop's language.
type Down struct {
	// Lang is the shop's language (ru, tr, en; others fall back to English).
	Lang string
	// Message is the note of whoever took it down ("back at noon"), if any.
	Message string
	// StaffLink shows the way to the back office: a shop closed by its owner
	// stays open to its staff.
	StaffLink bool
}

func (d Down) word(key string) string { return locales.T(d.Lang, "common.maintenance."+key) }

// ShopMaintenanceForm is the owner's maintenance page: the shop's state, the
// installation's, and the form with what was typed and its errors.
type ShopMaintenanceForm struct {
	// Down is the shop's own maintenance, nil while it is open.
	Down *model.ShopDown
	// Instance is the installation's maintenance, nil while it is up.
	Instance *model.InstanceDown
	Message  string
	Errors   FormErrors
}
