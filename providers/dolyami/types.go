package dolyami

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"orderdesk/providers/internal/wire"
	"strings"
)

// Order statuses of the Dolyami partner API (providers.md §2; status.go of
// ValGoldun/dolyame and the PHP client's doc comments).
const (
	StatusNew           = "new"             // Created; the buyer has not finished the form.
	StatusApproved      = "approved"        // Dolyami approved the buyer and took the first part; the shop must Commit.
	StatusRejected      = "rejected"        // Dolyami declined the buyer.
	StatusCanceled      = "canceled"        // Cancelled (by the shop, or the buyer walked away) before commit.
	StatusCommitted     = "committed"       // The shop confirmed the order: Dolyami owes the shop the money.
	StatusWaitForCommit = "wait_for_commit" // Approved and waiting for the shop's Commit. The sandbox sends it after approved when the shop has not committed.
	StatusCompleted     = "completed"       // Done on Dolyami's side.
)

// Refund statuses (refund_info.items[].status).
const (
	RefundPending   = "pending"
	RefundProcessed = "processed"
)

// Payment-record stages of the app, returned by Stage (the words of the
// app's payment state machine; repeated here because a provider package does
// not import the app).
const (
	StagePending           = "pending"
	StageProcessing        = "processing"
	StageCompleted         = "completed"
	StageFailed            = "failed"
	StageCanceled          = "canceled"
	StageRefunded          = "refunded"
	StagePartiallyRefunded = "partially_refunded"
)

// Stage maps an order status to the app's payment-record stage.
//
// approved and wait_for_commit are "processing", not "completed": in Dolyami
// an approved order is not paid until the shop COMMITS it. The app should
// call Commit as soon as it sees approved or wait_for_commit (from a
// notification re-read with Info, or from polling Info), with the final
// amount and items; committed then completed follow, and the payment is
// completed from committed on (Dolyami pays the shop; the buyer's remaining
// installments are Dolyami's business). Refunds do not change the order
// status; use OrderInfo.Stage to see them.
func Stage(status string) string {
	switch status {
	case StatusNew:
		return StagePending
	case StatusApproved, StatusWaitForCommit:
		return StageProcessing
	case StatusCommitted, StatusCompleted:
		return StageCompleted
	case StatusRejected:
		return StageFailed
	case StatusCanceled:
		return StageCanceled
	default:
		// Unknown status: not final, ask Info again later.
		return StageProcessing
	}
}

// NeedsCommit reports whether the shop must call Commit for the order to be
// paid.
func NeedsCommit(status string) bool {
	return status == StatusApproved || status == StatusWaitForCommit
}

// money is an amount in kopecks that travels as roubles with a decimal
// fraction (1500.50). Conversion is exact integer arithmetic: a float would
// turn 0.29 roubles into 28 kopecks.
type money int64

// MarshalJSON writes the amount as a JSON number with two decimals.
func (m money) MarshalJSON() ([]byte, error) { return []byte(formatRubles(int64(m))), nil }

// UnmarshalJSON reads a JSON number, a string holding one (tolerated:
// providers.md does not pin the type) or null.
func (m *money) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*m = 0
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	}
	k, err := parseRubles(s)
	if err != nil {
		return err
	}
	*m = money(k)
	return nil
}

// formatRubles renders kopecks as roubles with two decimals: 150050 → "1500.50".
func formatRubles(k int64) string {
	sign := ""
	u := uint64(k)
	if k < 0 {
		sign = "-"
		u = uint64(-k) // correct for MinInt64 too, thanks to two's complement
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

var errBadAmount = errors.New("dolyami: amount is not a whole number of kopecks")

// parseRubles reads a decimal number of roubles ("1500.5", "1.5e3", "-2",
// "1500,50" with a comma in a string) into kopecks, exactly. More than two
// significant decimals, or a value outside int64, is an error.
func parseRubles(s string) (int64, error) {
	s = strings.TrimSpace(strings.Replace(s, ",", ".", 1))
	neg := false
	if strings.HasPrefix(s, "-") {
		neg, s = true, s[1:]
	} else if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	mant, exp := s, 0
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		mant = s[:i]
		e := s[i+1:]
		eneg := false
		if strings.HasPrefix(e, "-") || strings.HasPrefix(e, "+") {
			eneg, e = e[0] == '-', e[1:]
		}
		// A bounded exponent keeps 1e999999 from allocating a huge number.
		if len(e) == 0 || len(e) > 2 || !digits(e) {
			return 0, errBadAmount
		}
		for _, c := range e {
			exp = exp*10 + int(c-'0')
		}
		if eneg {
			exp = -exp
		}
	}
	whole, frac, _ := strings.Cut(mant, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) || len(whole)+len(frac) > 40 {
		return 0, errBadAmount
	}
	n, ok := new(big.Int).SetString("0"+whole+frac, 10)
	if !ok {
		return 0, errBadAmount
	}
	// value = n × 10^(exp − len(frac)) roubles = n × 10^(exp − len(frac) + 2) kopecks.
	shift := exp - len(frac) + 2
	ten := big.NewInt(10)
	if shift >= 0 {
		n.Mul(n, new(big.Int).Exp(ten, big.NewInt(int64(shift)), nil))
	} else {
		q, r := new(big.Int).QuoRem(n, new(big.Int).Exp(ten, big.NewInt(int64(-shift)), nil), new(big.Int))
		if r.Sign() != 0 {
			return 0, errBadAmount
		}
		n = q
	}
	if neg {
		n.Neg(n)
	}
	if !n.IsInt64() {
		return 0, errBadAmount
	}
	return n.Int64(), nil
}

func digits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Item is one order line. Price is per unit, in kopecks.
type Item struct {
	Name     string
	Quantity int
	Price    int64
	SKU      string
}

// Order is the order part of CreateRequest. Amounts are in kopecks.
type Order struct {
	ID     string // the shop's order number; Dolyami's key for every later call
	Amount int64
	// PrepaidAmount is the part the buyer already paid another way; the
	// installments cover Amount − PrepaidAmount. [U]
	PrepaidAmount int64
	Items         []Item
}

// ClientInfo is what the shop knows of the buyer (all optional); it fills in
// Dolyami's form.
type ClientInfo struct {
	FirstName  string
	LastName   string
	MiddleName string
	Phone      string
	Email      string
	Birthdate  string // YYYY-MM-DD
}

// PaymentScheduleItem is one installment of the buyer.
type PaymentScheduleItem struct {
	Amount int64  // kopecks
	Date   string // YYYY-MM-DD
	Status string // [U] e.g. "paid", "scheduled"
}

// RefundInfo sums up the refunds of an order.
type RefundInfo struct {
	TotalRefundedAmount        int64
	TotalRefundedPrepaidAmount int64
	Items                      []Refund
}

// Refund is one refund of an order.
type Refund struct {
	RefundID              string
	RefundedAmount        int64
	RefundedPrepaidAmount int64
	Status                string // RefundPending or RefundProcessed
	ReturnedItems         []Item
}

// OrderInfo is Dolyami's view of an order (answer of create, info, commit,
// cancel).
type OrderInfo struct {
	ID              string
	Status          string
	Amount          int64 // kopecks the buyer owes in total
	ResidualAmount  int64 // kopecks the buyer still has to pay
	Link            string
	PaymentSchedule []PaymentScheduleItem
	RefundInfo      *RefundInfo
}

// CreateResponse is the answer to CreateOrder: redirect the buyer to Link.
type CreateResponse = OrderInfo

// Stage is Stage(o.Status) corrected for refunds, which do not change the
// order status: a committed order refunded in full is "refunded", in part
// "partially_refunded".
func (o *OrderInfo) Stage() string {
	st := Stage(o.Status)
	if st != StageCompleted || o.RefundInfo == nil || o.RefundInfo.TotalRefundedAmount <= 0 {
		return st
	}
	if o.RefundInfo.TotalRefundedAmount >= o.Amount {
		return StageRefunded
	}
	return StagePartiallyRefunded
}

// ---------------------------------------------------------------- wire shapes

type wireItem struct {
	Name     string `json:"name"`
	Quantity int    `json:"quantity"`
	Price    money  `json:"price"`
	SKU      string `json:"sku,omitempty"`
}

type wireOrder struct {
	ID            string     `json:"id"`
	Amount        money      `json:"amount"`
	PrepaidAmount money      `json:"prepaid_amount"`
	Items         []wireItem `json:"items"`
}

type wireClientInfo struct {
	FirstName  string `json:"first_name,omitempty"`
	LastName   string `json:"last_name,omitempty"`
	MiddleName string `json:"middle_name,omitempty"`
	Phone      string `json:"phone,omitempty"`
	Email      string `json:"email,omitempty"`
	Birthdate  string `json:"birthdate,omitempty"`
}

type wireCreate struct {
	Order           wireOrder       `json:"order"`
	ClientInfo      *wireClientInfo `json:"client_info,omitempty"`
	NotificationURL string          `json:"notification_url,omitempty"`
	FailURL         string          `json:"fail_url,omitempty"`
	SuccessURL      string          `json:"success_url,omitempty"`
}

type wireCommit struct {
	Amount        money      `json:"amount"`
	PrepaidAmount money      `json:"prepaid_amount"`
	Items         []wireItem `json:"items"`
}

type wireRefund struct {
	Amount                money      `json:"amount"`
	RefundedPrepaidAmount money      `json:"refunded_prepaid_amount"`
	ReturnedItems         []wireItem `json:"returned_items"`
}

type wireRefundAnswer struct {
	Amount   money  `json:"amount"`
	RefundID string `json:"refund_id"`
}

type wireSchedule struct {
	Amount money  `json:"amount"`
	Date   string `json:"date"`
	Status string `json:"status"`
}

type wireRefundItem struct {
	RefundID              string     `json:"refund_id"`
	RefundedAmount        money      `json:"refunded_amount"`
	RefundedPrepaidAmount money      `json:"refunded_prepaid_amount"`
	ReturnedItems         []wireItem `json:"returned_items,omitempty"`
	Status                string     `json:"status"`
}

type wireRefundInfo struct {
	TotalRefundedAmount        money            `json:"total_refunded_amount"`
	TotalRefundedPrepaidAmount money            `json:"total_refunded_prepaid_amount"`
	Items                      []wireRefundItem `json:"items"`
}

type wireInfo struct {
	ID              wire.String     `json:"id,omitempty"`
	Status          string          `json:"status"`
	Amount          money           `json:"amount"`
	ResidualAmount  money           `json:"residual_amount"`
	Link            string          `json:"link,omitempty"`
	PaymentSchedule []wireSchedule  `json:"payment_schedule,omitempty"`
	RefundInfo      *wireRefundInfo `json:"refund_info,omitempty"`
}

func toWireItems(items []Item) []wireItem {
	out := make([]wireItem, 0, len(items))
	for _, it := range items {
		out = append(out, wireItem{Name: it.Name, Quantity: it.Quantity, Price: money(it.Price), SKU: it.SKU})
	}
	return out
}

func fromWireItems(items []wireItem) []Item {
	if len(items) == 0 {
		return nil
	}
	out := make([]Item, 0, len(items))
	for _, it := range items {
		out = append(out, Item{Name: it.Name, Quantity: it.Quantity, Price: int64(it.Price), SKU: it.SKU})
	}
	return out
}

func fromWireSchedule(s []wireSchedule) []PaymentScheduleItem {
	if len(s) == 0 {
		return nil
	}
	out := make([]PaymentScheduleItem, 0, len(s))
	for _, p := range s {
		out = append(out, PaymentScheduleItem{Amount: int64(p.Amount), Date: p.Date, Status: p.Status})
	}
	return out
}

func (w *wireInfo) toInfo() *OrderInfo {
	o := &OrderInfo{
		ID:              string(w.ID),
		Status:          w.Status,
		Amount:          int64(w.Amount),
		ResidualAmount:  int64(w.ResidualAmount),
		Link:            w.Link,
		PaymentSchedule: fromWireSchedule(w.PaymentSchedule),
	}
	if w.RefundInfo != nil {
		ri := &RefundInfo{
			TotalRefundedAmount:        int64(w.RefundInfo.TotalRefundedAmount),
			TotalRefundedPrepaidAmount: int64(w.RefundInfo.TotalRefundedPrepaidAmount),
		}
		for _, it := range w.RefundInfo.Items {
			ri.Items = append(ri.Items, Refund{
				RefundID:              it.RefundID,
				RefundedAmount:        int64(it.RefundedAmount),
				RefundedPrepaidAmount: int64(it.RefundedPrepaidAmount),
				Status:                it.Status,
				ReturnedItems:         fromWireItems(it.ReturnedItems),
			})
		}
		o.RefundInfo = ri
	}
	return o
}
