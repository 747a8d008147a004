package otapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"orderdesk/providers/internal/wire"
	"strings"
)

// ---------------------------------------------------------------- money

// FormatMoney renders minor units as OT's decimal amount ("1500.50").
func FormatMoney(minor int64) string { return wire.FormatMinor(minor) }

// ParseMoney reads a decimal amount ("1500.5", "1500.50", "1500") into
// minor units, exactly; fractions of a minor unit are refused unless zeros.
func ParseMoney(s string) (int64, error) {
	v, err := wire.ParseMinor(s)
	if err != nil {
		return 0, fmt.Errorf("otapi: %w", err)
	}
	return v, nil
}

// ---------------------------------------------------------------- errors

// Error codes of the envelope's ErrorCode. Ok, SessionExpired, AccessDenied,
// InstanceKeyBan, InternalError and BatchError are seen in OT code comments;
// NotFound, InvalidArgument, NotEnoughMoney and ProviderSessionExpired are
// this package's choice for the sandbox [U]; ActivityFailed,
// ProviderAuthorization and ItemSkipped are not OT codes but mark a failed
// activity, a failed provider authorisation and an item AddOrder skipped.
const (
	CodeOk                     = "Ok"
	CodeSessionExpired         = "SessionExpired"
	CodeAccessDenied           = "AccessDenied"
	CodeInstanceKeyBan         = "InstanceKeyBan"
	CodeInternalError          = "InternalError"
	CodeBatchError             = "BatchError"
	CodeNotFound               = "NotFound"               // [U]
	CodeInvalidArgument        = "InvalidArgument"        // [U]
	CodeNotEnoughMoney         = "NotEnoughMoney"         // [U]
	CodeProviderSessionExpired = "ProviderSessionExpired" // [U] see providerSessionError
	CodeActivityFailed         = "ActivityFailed"
	CodeProviderAuthorization  = "ProviderAuthorization"
	CodeItemSkipped            = "ItemSkipped"
)

// Error is an OT API error (Code set), an HTTP failure without the envelope
// (Code empty), a failed background activity or a failed provider
// authorisation.
type Error struct {
	Method      string
	HTTPStatus  int
	Code        string
	Description string
	SubCode     string
	RequestID   string
}

// Error returns OT's words prefixed with the provider's name.
func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("otapi: %s: HTTP %d: %s", e.Method, e.HTTPStatus, e.Description)
	}
	s := "otapi: " + e.Method + ": " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Temporary reports whether the same call may succeed later unchanged.
func (e *Error) Temporary() bool {
	if e.Code == "" {
		return e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests
	}
	return e.Code == CodeInternalError
}

// Explain is the method form of the package-level Explain.
func (e *Error) Explain() string { return Explain(e) }

// Explain returns a short, plain-English sentence for a shop assistant about
// what went wrong, for any error this package returns.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "OT API did not answer in time. Try again in a few minutes."
	}
	var e *Error
	if !errors.As(err, &e) {
		return "Could not reach OT API (network problem). Try again in a few minutes."
	}
	switch e.Code {
	case "":
		return "The OT API server is having trouble. Try again in a few minutes."
	case CodeAccessDenied:
		return "OT API refused access: check the instance key, the secret and the operator's login and password in the integration settings."
	case CodeSessionExpired:
		return "The OT API session has expired. Sign in again and repeat the action."
	case CodeInstanceKeyBan:
		return "The OT API instance key is blocked. Contact OT Commerce support."
	case CodeInternalError:
		return "OT API had an internal error. Try again in a few minutes."
	case CodeBatchError:
		return "Part of the request failed at OT API; check the order."
	case CodeNotFound:
		return "OT API has no such order, session or activity."
	case CodeNotEnoughMoney:
		return "The buyer's account at OT Platform has too little money to pay this order. Top it up first."
	case CodeInvalidArgument:
		s := "OT API rejected the request data"
		if e.Description != "" {
			s += ": " + e.Description
		}
		return s + "."
	case CodeProviderSessionExpired:
		return "The Taobao account's session at OT Platform has expired or is missing. An operator must authorise the account again (the daily renewal) before exports and synchronisations run."
	case CodeActivityFailed:
		return explainActivity(e)
	case CodeProviderAuthorization:
		return "The provider account (Taobao) was not authorised: " + e.Description + ". Open the authorisation again."
	case CodeItemSkipped:
		return "OT Platform left out " + e.Description + " when it added the order. Likely reasons: the item is off sale, " +
			"this configuration (colour, size) is gone, the seller has left Taobao, or an id is mistyped. " +
			"Remove the item or choose another, then cancel the OT order and add it again."
	}
	return "OT API refused the request (" + e.Code + ")."
}

// activityNames says in words what each activity type does.
var activityNames = map[string]string{
	ActivityExporting:     "The export to the provider",
	ActivitySynchronizing: "The synchronisation with the provider",
	ActivityLinking:       "The linking with provider orders",
	ActivityUnlinking:     "The unlinking from provider orders",
}

// explainActivity words a failed activity by its reason.
func explainActivity(e *Error) string {
	switch e.SubCode {
	case ReasonUnpaidOrdersLimit:
		return "Taobao refused the export: the account has reached its limit of unpaid orders (reserved items). Pay for some orders on Taobao, then export again."
	case ReasonInvalidBuyoutAddress:
		return "OT Platform's buyout (warehouse) address for Taobao is invalid: check the recipient (2 to 14 characters), the 11-digit mobile, the region code, the zip and the address in Chinese in OT's autobuy settings, then export again."
	case ReasonOrderNotPaid:
		return "OT Platform exports only paid orders: pay the order (the simulated payment) first, then export again."
	case ReasonProviderSessionExpired:
		return "The Taobao account's session at OT Platform expired during the activity. An operator must authorise the account again, then repeat it."
	}
	name := activityNames[e.Method]
	if name == "" {
		name = "The activity at OT Platform"
	}
	if e.SubCode == ReasonCancelled {
		return name + " was cancelled; nothing was changed at the provider."
	}
	return name + " failed: " + strings.TrimSuffix(e.Description, ".") + "."
}
