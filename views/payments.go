package views

import (
	"strings"

	"orderdesk/model"
)

// PaymentsList is what /admin/payments shows.
type PaymentsList struct {
	Payments  []*model.Payment
	Reviews   []*model.PaymentReview
	Filter    PaymentsFilterForm
	Reconcile *ReconcileResult // after a CSV import
	Message   string
	Error     string
}

// PaymentsFilterForm is the list's filters as typed.
type PaymentsFilterForm struct {
	Order, Status, Provider string
}

// ReconcileResult compares a provider's CSV of settled payments with ours.
type ReconcileResult struct {
	Rows       int
	Matched    int
	Mismatches []ReconcileMismatch
}

// ReconcileMismatch is one difference between the CSV and our payments.
type ReconcileMismatch struct {
	Reference string
	Problem   string
}

func paymentStatusLabel(s model.PaymentStatus) string {
	switch s {
	case model.PaymentCompleted:
		return "Completed"
	case model.PaymentSuspectedFraud:
		return "Suspected fraud"
	case model.PaymentPartiallyRefunded:
		return "Partially refunded"
	}
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

func testValue(testMode bool, v string) string {
	if testMode {
		return v
	}
	return ""
}
