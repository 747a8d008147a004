package taobao

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Purchase order statuses as the gateway spells them. The raw string is always
// kept on our types; these constants only name the values we know of.
const (
	// StatusBuilding is the status while Taobao is still creating the purchase.
	// The misspelling "BULIDING" is the provider's own (Mlegbder consts); we also
	// accept "BUILDING" in Stage in case it is ever corrected.
	StatusBuilding = "BULIDING"
	// StatusWaitBuyerPay means the purchase exists and waits for payment. The Go
	// SDK we learned from truncates it to "WAIT_BUYER_P"; Stage accepts any
	// status starting with that prefix.
	StatusWaitBuyerPay = "WAIT_BUYER_PAY"
	// StatusWaitSellerSendGoods means paid, the Taobao seller has not shipped yet.
	StatusWaitSellerSendGoods = "WAIT_SELLER_SEND_GOODS"
	// StatusWaitBuyerConfirmGoods means the seller shipped (a tracking number exists).
	StatusWaitBuyerConfirmGoods = "WAIT_BUYER_CONFIRM_GOODS"
	// StatusTradeFinished means the purchase is complete. Marked uncertain in
	// providers.md; it is the usual Taobao trade vocabulary.
	StatusTradeFinished = "TRADE_FINISHED"
	// StatusTradeClosed means the purchase was cancelled or closed unpaid.
	StatusTradeClosed = "TRADE_CLOSED"
)

// Stages returned by Stage: the words of OrderDesk's procurement flow
// (seed 000: pending → created → paid → shipped → completed, or cancelled).
const (
	StageCreated   = "created"
	StagePaid      = "paid"
	StageShipped   = "shipped"
	StageCompleted = "completed"
	StageCancelled = "cancelled"
)

// Stage maps a raw Taobao purchase status to a procurement stage ("created",
// "paid", "shipped", "completed", "cancelled"), or "" when the status is
// unknown. It is a default only: the app keeps an editable mapping table, so an
// unknown status must be shown to staff rather than guessed. BULIDING counts as
// "created" because the purchase already has an id on Taobao and will only move
// on to WAIT_BUYER_PAY.
func Stage(status string) string {
	s := strings.ToUpper(strings.TrimSpace(status))
	switch {
	case s == "":
		return ""
	case s == StatusBuilding || s == "BUILDING":
		return StageCreated
	case strings.HasPrefix(s, "WAIT_BUYER_P"):
		return StageCreated
	case s == StatusWaitSellerSendGoods:
		return StagePaid
	case s == StatusWaitBuyerConfirmGoods:
		return StageShipped
	case s == StatusTradeFinished || s == "TRADE_SUCCESS":
		return StageCompleted
	case s == StatusTradeClosed || strings.HasPrefix(s, "TRADE_CLOSED"):
		return StageCancelled
	}
	return ""
}

// Config configures a Client.
type Config struct {
	// BaseURL is the gateway including "/rest", e.g. LiveBaseURL or
	// "http://localhost:8080/sandbox/taobao/rest".
	BaseURL string
	// AuthURL is the base under which "/oauth/authorize" lives, e.g. LiveAuthURL
	// or "http://localhost:8080/sandbox/taobao". Empty means BaseURL without its
	// trailing "/rest".
	AuthURL   string
	AppKey    string
	AppSecret string
	// PartnerID is sent as the partner_id system parameter (the official SDKs
	// send their version string there). Empty means DefaultPartnerID.
	PartnerID string
	// HTTPClient is optional; the default has a 30 second timeout.
	HTTPClient *http.Client
	// Now is optional; it stamps requests and computes token expiry times.
	Now func() time.Time
}

// Token is what /auth/token/create and /auth/token/refresh return for one
// authorized Taobao buyer account.
type Token struct {
	AccessToken  string
	RefreshToken string
	// ExpiresIn and RefreshExpiresIn are the lifetimes in seconds as sent.
	ExpiresIn        int64
	RefreshExpiresIn int64
	AccountID        string
	SellerID         string
	UserID           string
	// Account is the account's login or nick, shown to operators.
	Account         string
	AccountPlatform string
	ShortCode       string
	RequestID       string
	// AccessExpiresAt and RefreshExpiresAt are computed from the client's clock
	// when the answer arrived.
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
}

// Address is a receiver or warehouse address, serialized into the
// "receiver" and "warehouse_address_info" JSON parameters.
type Address struct {
	Name        string `json:"name"`
	Phone       string `json:"phone,omitempty"`
	MobilePhone string `json:"mobile_phone,omitempty"`
	Country     string `json:"country"`
	State       string `json:"state"`
	City        string `json:"city"`
	District    string `json:"district,omitempty"`
	Address     string `json:"address,omitempty"`
	Zip         string `json:"zip,omitempty"`
	TaxID       string `json:"taxId,omitempty"`
}

// OrderLine is one product line of a purchase. Ids are strings because Taobao
// item and SKU ids are large numbers that must never pass through a float.
type OrderLine struct {
	ItemID   string
	SKUID    string
	Quantity int
	// PriceFen is the expected unit price in fen.
	PriceFen int64
	// Currency defaults to "CNY".
	Currency string
	// OrderLineNo is our line number; empty means the 1-based position.
	OrderLineNo string
	Title       string
}

// PurchaseOrderRequest is the input of CreatePurchaseOrder.
type PurchaseOrderRequest struct {
	// OuterPurchaseID is our idempotency key: creating twice with the same key
	// returns the existing purchase(s) instead of buying twice.
	OuterPurchaseID string
	// PurchaseAmountFen is the planned total in fen; 0 means the sum of the lines.
	PurchaseAmountFen int64
	Lines             []OrderLine
	Receiver          Address
	// Warehouse is the consolidation warehouse in China; nil omits it.
	Warehouse *Address
	// Optional fields passed through when non-empty.
	SellerOrderNumber     string
	OrderSource           string
	ChannelOrderType      string
	OrderRemark           string
	SupportPartialSuccess bool
}

// PurchaseOrderResult is the answer of /purchase/order/create. Taobao may split
// one request into several purchases (one per supplier), hence the list.
type PurchaseOrderResult struct {
	OuterPurchaseID string
	PaymentURL      string
	Orders          []CreatedPurchase
	RequestID       string
}

// PurchaseIDs lists the ids of all purchases created by the request.
func (r *PurchaseOrderResult) PurchaseIDs() []int64 {
	ids := make([]int64, 0, len(r.Orders))
	for _, o := range r.Orders {
		ids = append(ids, o.PurchaseID)
	}
	return ids
}

// CreatedPurchase is one entry of order_list in the create answer.
type CreatedPurchase struct {
	PurchaseID        int64
	SupplierNick      string
	EstimateAmountFen int64
	EstimateCurrency  string
	SourceMarket      string
	Lines             []CreatedLine
}

// CreatedLine is one order line of a created purchase.
type CreatedLine struct {
	SubPurchaseOrderID int64
	ItemID             string
	SKUID              string
	Quantity           int64
	OrderLineNo        string
}

// PayResult is the merged answer of one or more /purchase/order/batch/pay calls.
// Payment is asynchronous on Taobao: WillPay means accepted for payment; confirm
// with QueryPurchaseOrders (or a push) before treating a purchase as paid.
type PayResult struct {
	WillPay  []int64
	FailedID []int64
	Failures []PayFailure
}

// PayFailure is one entry of pay_failed_results.
type PayFailure struct {
	PurchaseID int64
	Code       string
	Message    string
}

// Err returns the failure as an *Error so IsInsufficientBalance and Explain
// work on it like on any other provider error.
func (f PayFailure) Err() *Error {
	return &Error{Code: f.Code, Message: f.Message, API: PathBatchPay}
}

// PurchaseQuery selects purchases for QueryPurchaseOrders. Use PurchaseIDs or
// OuterPurchaseID (the latter finds a purchase whose create answer was lost).
type PurchaseQuery struct {
	PurchaseIDs     []int64
	OuterPurchaseID string
	Status          string
	PageNo          int
	PageSize        int
	ModifiedFrom    time.Time
	ModifiedTo      time.Time
}

// PurchaseQueryResult is the answer of /purchase/orders/query.
type PurchaseQueryResult struct {
	Total     int64
	PageNo    int64
	PageSize  int64
	Orders    []PurchaseOrder
	RequestID string
}

// PurchaseOrder is one purchase as the query reports it.
type PurchaseOrder struct {
	PurchaseID        int64
	OuterPurchaseID   string
	Status            string
	PurchaseAmountFen int64
	PayAmountFen      int64
	Currency          string
	SupplierNick      string
	PayTime           time.Time
	CreatedTime       time.Time
	ModifyTime        time.Time
	SubOrders         []SubPurchaseOrder
}

// Stage is Stage(p.Status).
func (p PurchaseOrder) Stage() string { return Stage(p.Status) }

// Logistics lists the domestic shipments of all sub orders, without duplicates.
func (p PurchaseOrder) Logistics() []LogisticOrder {
	var out []LogisticOrder
	seen := map[string]bool{}
	for _, s := range p.SubOrders {
		for _, l := range s.LogisticOrders {
			k := l.CompanyName + "\x00" + l.Number
			if !seen[k] {
				seen[k] = true
				out = append(out, l)
			}
		}
	}
	return out
}

// SubPurchaseOrder is one line of a purchase as the query reports it.
type SubPurchaseOrder struct {
	SubPurchaseOrderID int64
	Status             string
	ItemID             string
	SKUID              string
	Title              string
	Quantity           int64
	PurchaseAmountFen  int64
	PayAmountFen       int64
	// LogisticOrders are domestic (China) shipments to the warehouse.
	LogisticOrders []LogisticOrder
	// InternationalLogisticOrders are shipments out of China, when Taobao ships.
	InternationalLogisticOrders []LogisticOrder
	RefundStatus                int64
	CloseReason                 string
	ErrorCode                   string
	ErrorMessage                string
}

// LogisticOrder is one shipment: company and tracking number.
type LogisticOrder struct {
	CompanyName string
	Number      string
	ShippedAt   time.Time
}

// ---- tolerant wire types ----

// flexString accepts a JSON string, number or bool and keeps its text; ids
// appear as both strings and numbers across the provider's answers.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = ""
		return nil
	}
	if b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if b[0] == '{' || b[0] == '[' {
		// An object where a scalar was expected: keep the raw text rather than
		// failing the whole answer.
		*f = flexString(b)
		return nil
	}
	*f = flexString(b)
	return nil
}

// flexInt64 accepts a JSON number or a string holding an integer (purchase ids
// come as numbers in some answers and strings in others). Empty and null are 0.
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	s := string(b)
	if b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*f = 0
			return nil
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		// "123.0" style integers: accept when the fraction is zero, never round.
		if i := strings.IndexByte(s, '.'); i > 0 && strings.Trim(s[i+1:], "0") == "" {
			n, err = strconv.ParseInt(s[:i], 10, 64)
		}
		if err != nil {
			return fmt.Errorf("taobao: not an integer: %q", s)
		}
	}
	*f = flexInt64(n)
	return nil
}

// flexBool accepts true/false and the strings "true"/"false" (the pay answer
// sends strings), plus 1/0.
type flexBool struct {
	Set   bool
	Value bool
}

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	switch strings.ToLower(s) {
	case "true", "1", "y", "yes":
		*f = flexBool{Set: true, Value: true}
	case "false", "0", "n", "no":
		*f = flexBool{Set: true, Value: false}
	default:
		*f = flexBool{}
	}
	return nil
}

func msToTime(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
