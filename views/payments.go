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

// OrderPaymentsID is the id of the order page's payments block, which the
// refund form's htmx answer replaces.
const OrderPaymentsID = "order-payments"

// refundStatusText says where a refund stands and why it was made.
func refundStatusText(r *model.Refund) string {
	why := map[string]string{model.RefundByStaff: "asked by " + string(r.Actor), model.RefundLate: "money after cancellation",
		model.RefundOverpaid: "money beyond the order's total", model.RefundByProvider: "made at the provider"}[r.Reason]
	switch r.Status {
	case model.RefundDone:
		return "Refunded (" + why + ")"
	case model.RefundFailed:
		return "Failed (" + why + ")"
	}
	return "Being refunded (" + why + ")"
}

func testValue(testMode bool, v string) string {
	if testMode {
		return v
	}
	return ""
}
