package model

import (
	"time"
)

// Role is what a staff user may do in the back office.
type Role string

// The staff roles.
const (
	RoleOwner    Role = "owner"    // everything, including other owners
	RoleAdmin    Role = "admin"    // everything but making or changing owners
	RoleStaff    Role = "staff"    // works orders
	RoleOperator Role = "operator" // works procurement and Taobao sessions
)

// Roles lists the roles in the order forms show them.
var Roles = []Role{RoleOwner, RoleAdmin, RoleStaff, RoleOperator}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	switch r {
	case RoleOwner, RoleAdmin, RoleStaff, RoleOperator:
		return true
	}
	return false
}

// CanManageUsers reports whether the role may create, change and deactivate users.
func (r Role) CanManageUsers() bool { return r == RoleOwner || r == RoleAdmin }

// CanBuy reports whether r buys orders from suppliers: runs procurement, its
// jobs and the supplier sessions.
func (r Role) CanBuy() bool { return r == RoleOperator || r == RoleOwner || r == RoleAdmin }

// CanCloseShop reports whether the role may close the shop to its customers for
// maintenance (Settings → Maintenance): the owners', whose shop it is.
func (r Role) CanCloseShop() bool { return r == RoleOwner }

// CanGrant reports whether a user with role r may give (or take away) role target.
// Only owners make owners, so an admin cannot lock the owner out.
func (r Role) CanGrant(target Role) bool {
	if !r.CanManageUsers() {
		return false
	}
	return target != RoleOwner || r == RoleOwner
}

// Action is something in the back office that only some roles may do. Role.Can
// is the one place that says which: the routes check it before the handler
// runs and the pages ask it before they show the button, so that a user never
// sees a button that ends on a 403 page.
type Action string

// The actions that depend on the role.
const (
	ActionRefund      Action = "refund"       // give money back (a payment's refund, an order's)
	ActionBuy         Action = "buy"          // procurement: buy at the supplier, OT, Taobao sessions
	ActionRunJobs     Action = "run_jobs"     // run a job now, pause or resume it
	ActionManageShop  Action = "manage_shop"  // settings, integrations, payment reviews
	ActionManageUsers Action = "manage_users" // create, change and deactivate users
	ActionCloseShop   Action = "close_shop"   // close the shop for maintenance
)

// Can reports whether the role may take the action. Unknown actions are
// refused.
func (r Role) Can(a Action) bool {
	switch a {
	case ActionRefund, ActionManageShop, ActionManageUsers:
		return r.CanManageUsers()
	case ActionBuy, ActionRunJobs:
		return r.CanBuy()
	case ActionCloseShop:
		return r.CanCloseShop()
	}
	return false
}

// User is a staff member of one tenant.
type User struct {
	ID        int64
	TenantID  int64
	Email     string
	Name      string
	Role      Role
	Active    bool
	CreatedAt time.Time
	// SessionVersion is stamped into a session at sign-in; a session carrying
	// another version is signed out (deactivation bumps it).
	SessionVersion int64
	// Language is the back office's language the user chose ("en", "ru",
	// "tr"), or "" for the shop's own.
	Language string
}

// LanguageIn is the language the back office speaks to u in shop t: the
// user's choice, else the shop's.
func (u *User) LanguageIn(t *Tenant) string {
	if u != nil && u.Language != "" {
		return u.Language
	}
	return t.Language
}
