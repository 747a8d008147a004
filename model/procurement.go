package model

import (
	"errors"
	"time"
)

// TaobaoAccount is an operator's authorized Taobao buyer account: its session.
type TaobaoAccount struct {
	ID               int64
	TenantID         int64
	IntegrationID    int64
	Account          string
	AccountID        string
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
	ObtainedAt       time.Time
	Status           string // active, needs_authorization
	LastError        string
	UpdatedAt        time.Time
}

// Account statuses.
const (
	AccountActive             = "active"
	AccountNeedsAuthorization = "needs_authorization"
)

// Usable reports whether calls can be made with the account at now (its
// refresh token still lives, so a new access token can be had).
func (a *TaobaoAccount) Usable(now time.Time) bool {
	return a.Status == AccountActive && now.Before(a.RefreshExpiresAt)
}

// SessionEnds is when the account's session is over: nothing but a new
// authorization helps after it.
func (a *TaobaoAccount) SessionEnds() time.Time { return a.RefreshExpiresAt }

// AccountTokens are an account's tokens, opened for a call; never rendered.
type AccountTokens struct {
	Account          string
	AccountID        string
	AccessToken      string
	RefreshToken     string
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
}

// ErrInvalidState refuses an authorization callback whose state is unknown,
// used or expired (a forged or replayed redirect).
var ErrInvalidState = errors.New("the authorization link is invalid, used or expired: start again from the accounts page")

// Purchase is an order placed with the supplier (Taobao) for lines of orders.
type Purchase struct {
	ID          int64
	TenantID    int64
	AccountID   int64
	Account     string
	OuterID     string
	PurchaseID  string
	StatusRaw   string
	Stage       ProcurementStatus
	Supplier    string
	AmountFen   int64
	FXRateMicro int64
	Error       string
	OrderIDs    []int64
	OrderNums   []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// CreatedPurchase is what the supplier answered for one purchase of an order.
type CreatedPurchase struct {
	PurchaseID string
	Supplier   string
	AmountFen  int64
	StatusRaw  string
	// LineIDs are our order line ids this purchase holds.
	LineIDs []int64
}

// PurchaseLine is an order line to buy, with the supplier's ids.
type PurchaseLine struct {
	LineID         int64
	Title          string
	Quantity       int
	ProviderItemID string
	ProviderSKUID  string
	CostFen        int64 // the catalogue's supplier price per unit
}

// PurchaseClaim is an order claimed for a purchase: what to buy and the outer
// id every try of this order uses.
type PurchaseClaim struct {
	OrderID     int64
	OrderNumber string
	OuterID     string
	Lines       []PurchaseLine
	Address     Address
	// Resumed: the order was claimed before without a recorded purchase (a
	// crash between the supplier's answer and our commit, or a failed call):
	// look the purchase up by OuterID before creating one.
	Resumed bool
}

// CNYToMinor converts fen to the tenant currency's minor units at a rate in
// millionths of a minor unit per fen, rounding half up.
func CNYToMinor(fen, rateMicro int64) int64 {
	return (fen*rateMicro + 500_000) / 1_000_000
}
