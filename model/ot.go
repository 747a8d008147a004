package model

import (
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ProcurementChannel is where the shop buys a line from the supplier:
// directly on Taobao (seed 000) or through OT Platform's autobuy (seed 002).
type ProcurementChannel string

// The procurement channels.
const (
	ChannelTaobao ProcurementChannel = "taobao"
	ChannelOT     ProcurementChannel = "ot"
)

// ProcurementChannels lists the channels a shop may choose.
var ProcurementChannels = []ProcurementChannel{ChannelTaobao, ChannelOT}

// Valid reports whether c is a channel.
func (c ProcurementChannel) Valid() bool { return c == ChannelTaobao || c == ChannelOT }

// Label says the channel in words.
func (c ProcurementChannel) Label() string {
	switch c {
	case ChannelTaobao:
		return "Directly on Taobao"
	case ChannelOT:
		return "OT Platform autobuy"
	}
	return "The shop's channel"
}

// How says how the channel buys, to finish a sentence ("the shop buys …").
func (c ProcurementChannel) How() string {
	switch c {
	case ChannelTaobao:
		return "directly on Taobao"
	case ChannelOT:
		return "through OT Platform's autobuy"
	}
	return "through the shop's channel"
}

// lineChannelSQL is the channel of an order line `l` whose product is `p`
// (LEFT JOINed): the product's override, else the shop's, else Taobao. The
// one place the rule is written; the two channels' jobs take their lines by
// it, so a line is bought through one of them only.
const lineChannelSQL = `coalesce(nullif(p.procurement_channel, ''), (SELECT ps.channel FROM procurement_settings ps WHERE ps.tenant_id = l.tenant_id), 'taobao')`

// OTWarehouse is the warehouse in China that Taobao sellers ship the shop's
// parcels to, as OT's autobuy takes it (seed 002), in Chinese.
type OTWarehouse struct {
	RecipientName string // 2 to 14 characters; empty: OT puts the buyer's name
	Mobile        string // 11 digits
	RegionCode    string // OT's number of the region (seen when choosing it in OT's admin)
	Zip           string // 6 digits
	Address       string // in Chinese, without the region
}

// ProcurementSettings are how a shop buys from its suppliers: its channel,
// and what OT's autobuy needs besides the keys of the otapi integration.
type ProcurementSettings struct {
	Channel ProcurementChannel
	// OTBuyerLogin is the buyer (customer) account at OT on whose behalf
	// AddOrder adds orders (seed 002's "create a buyer").
	OTBuyerLogin string
	// OTBuyerPassword is a new password to store (write-only: "" keeps the
	// stored one); OTBuyerPasswordLast4 shows the stored one.
	OTBuyerPassword      string
	OTBuyerPasswordLast4 string
	// OTUserProfileID is the buyer's profile (GetUserProfileInfoList).
	OTUserProfileID string
	// OTDeliveryModeID is the free external delivery made in OT's admin.
	OTDeliveryModeID string
	OTWarehouse      OTWarehouse
	UpdatedAt        time.Time
}

// DefaultProcurementSettings are a shop's settings before it saved any.
var DefaultProcurementSettings = ProcurementSettings{Channel: ChannelTaobao}

// Length limits of the OT settings.
const (
	MaxOTIDLen            = 100 // an id or login at OT
	MaxOTRecipientLen     = 14  // seed 002: the recipient's name, 2 to 14 characters
	MinOTRecipientLen     = 2
	MaxOTRegionCodeLen    = 12
	MaxOTWarehouseAddrLen = 200
)

var (
	digitsOnly = regexp.MustCompile(`^[0-9]+$`)
	otToken    = regexp.MustCompile(`^[^\s]+$`)
)

// validate checks the settings field by field with seed 002's rules. The
// OT fields are needed only when the shop buys through OT, but a field
// given is always checked.
func (s *ProcurementSettings) validate(v *ValidationError, havePassword bool) {
	if !s.Channel.Valid() {
		v.Add("channel", "choose Taobao or OT Platform")
	}
	needOT := s.Channel == ChannelOT
	token := func(field, value, what string) {
		switch {
		case value == "":
			if needOT {
				v.Add(field, "give "+what+": the OT channel needs it")
			}
		case !otToken.MatchString(value):
			v.Add(field, "write "+what+" without spaces")
		default:
			v.MaxLen(field, value, MaxOTIDLen)
		}
	}
	token("ot_buyer_login", s.OTBuyerLogin, "the buyer's login at OT")
	if needOT && s.OTBuyerPassword == "" && !havePassword {
		v.Add("ot_buyer_password", "give the buyer's password at OT: the OT channel needs it")
	}
	if len(s.OTBuyerPassword) > 200 {
		v.Add("ot_buyer_password", "use at most 200 characters")
	}
	token("ot_user_profile_id", s.OTUserProfileID, "the buyer's profile id (GetUserProfileInfoList)")
	token("ot_delivery_mode_id", s.OTDeliveryModeID, "the id of the free external delivery made in OT's admin")
	w := s.OTWarehouse
	if n := utf8.RuneCountInString(w.RecipientName); w.RecipientName != "" && (n < MinOTRecipientLen || n > MaxOTRecipientLen) {
		v.Add("ot_recipient_name", "the recipient's name takes 2 to 14 characters (OT's rule); leave it empty for the buyer's name")
	}
	switch {
	case w.Mobile == "":
		if needOT {
			v.Add("ot_recipient_mobile", "give the warehouse's mobile phone: 11 digits")
		}
	case len(w.Mobile) != 11 || !digitsOnly.MatchString(w.Mobile):
		v.Add("ot_recipient_mobile", "give the mobile phone as 11 digits, e.g. 13812345678")
	}
	switch {
	case w.RegionCode == "":
		if needOT {
			v.Add("ot_region_code", "give the region's code, the number OT's admin shows for the region")
		}
	case !digitsOnly.MatchString(w.RegionCode) || len(w.RegionCode) > MaxOTRegionCodeLen:
		v.Add("ot_region_code", "give the region's code as a number, e.g. 150784")
	}
	switch {
	case w.Zip == "":
		if needOT {
			v.Add("ot_zip", "give the warehouse's postal code: 6 digits")
		}
	case len(w.Zip) != 6 || !digitsOnly.MatchString(w.Zip):
		v.Add("ot_zip", "give the postal code as 6 digits, e.g. 021400")
	}
	switch {
	case w.Address == "":
		if needOT {
			v.Add("ot_address", "give the warehouse's address in Chinese")
		}
	case !hasHan(w.Address):
		v.Add("ot_address", "write the address in Chinese (without the region), as Taobao sellers read it")
	default:
		v.MaxLen("ot_address", w.Address, MaxOTWarehouseAddrLen)
	}
}

// normalise trims what people type: spaces around everything, and the
// spaces and dashes people put in a phone number.
func (s *ProcurementSettings) normalise() {
	for _, p := range []*string{&s.OTBuyerLogin, &s.OTUserProfileID, &s.OTDeliveryModeID, &s.OTWarehouse.RecipientName,
		&s.OTWarehouse.RegionCode, &s.OTWarehouse.Zip, &s.OTWarehouse.Address} {
		*p = strings.TrimSpace(*p)
	}
	s.OTWarehouse.Mobile = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(strings.TrimSpace(s.OTWarehouse.Mobile))
}

// OTMissing lists, in words, what the OT flow lacks in these settings
// (nothing when it may run).
func (s ProcurementSettings) OTMissing() []string {
	var out []string
	if s.OTBuyerLogin == "" || s.OTBuyerPasswordLast4 == "" {
		out = append(out, "the buyer's login and password")
	}
	if s.OTUserProfileID == "" {
		out = append(out, "the buyer's profile id")
	}
	if s.OTDeliveryModeID == "" {
		out = append(out, "the delivery mode id")
	}
	return out
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

// ProductChannel is a product bought through another channel than its
// shop's.
type ProductChannel struct {
	ProductID int64
	SKU       string
	Title     string
	Source    string // taobao, tmall, local
	Channel   ProcurementChannel
}

// OTStatusMapping maps one of OT's line statuses to ours.
type OTStatusMapping struct {
	StatusID   string
	StatusName string
	Status     ProcurementStatus
}

// DefaultOTStatusMap is the mapping a shop starts with: OT's line statuses
// as its autobuy moves a line along with its Taobao order. Each OT instance
// numbers its statuses in its own autobuy settings; these are the
// sandbox's, and a shop whose instance numbers them otherwise edits the
// table (Settings → Procurement).
var DefaultOTStatusMap = []OTStatusMapping{
	{StatusID: "1", StatusName: "New", Status: ProcPending},
	{StatusID: "2", StatusName: "Paid", Status: ProcPending},
	{StatusID: "3", StatusName: "Ordered at the provider", Status: ProcCreated},
	{StatusID: "4", StatusName: "Purchased", Status: ProcPaid},
	{StatusID: "5", StatusName: "Sent by the seller", Status: ProcShipped},
	{StatusID: "6", StatusName: "Received at the warehouse", Status: ProcCompleted},
	{StatusID: "7", StatusName: "Cancelled", Status: ProcCancelled},
}

// OTOrderState is where an order of ours stands at OT.
type OTOrderState string

// The OT order states (see migrations/0012).
const (
	OTAdding     OTOrderState = "adding"
	OTStateAdded OTOrderState = "added"
	OTPaying     OTOrderState = "paying"
	OTPaid       OTOrderState = "paid"
	OTCancelled  OTOrderState = "cancelled"
)

// Label says the state in words.
func (s OTOrderState) Label() string {
	switch s {
	case OTAdding:
		return "being added to OT"
	case OTStateAdded:
		return "added to OT, not paid"
	case OTPaying:
		return "being paid (simulated payment)"
	case OTPaid:
		return "paid at OT"
	case OTCancelled:
		return "cancelled at OT"
	}
	return string(s)
}

// OTOrder is an order of ours added to OT Platform.
type OTOrder struct {
	ID            int64
	TenantID      int64
	OrderID       int64
	OrderNumber   string
	IntegrationID int64
	Attempt       int
	// Comment is what AddOrder's Comment carried: our order number and the
	// attempt, the key to find the order at OT after a crash.
	Comment    string
	State      OTOrderState
	SalesID    string // OT's order id, e.g. ORD-0000000020
	CustomerID string
	// Amount and PaidAmount are OT's, in minor units of OT's currency;
	// ToppedUp what the simulated payment credited for it.
	Amount, PaidAmount, ToppedUp int64
	StatusID, StatusName         string
	AcceptSkipped                bool
	// LastError is why the order waits for a person, in words.
	LastError    string
	ClaimedUntil *time.Time
	CreatedBy    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	Lines        []OTLine
}

// OTComment is the comment of an attempt to add an order to OT: the order
// number, and the attempt after a cancel, so that each attempt has its own.
func OTComment(number string, attempt int) string {
	return number + " #" + itoa64(int64(attempt))
}

// OTLine is an order line held by an OT order, with OT's fields of it.
type OTLine struct {
	OrderLineID     int64
	OTOrderID       int64
	SKU             string
	Title           string
	Quantity        int
	CostFen         int64 // the catalogue's supplier price per unit
	ItemID          string
	ConfigurationID string
	PromotionID     string
	OTLineID        string // "" when OT skipped the item
	Skipped         bool
	Tmall           bool
	// OT's fields (seed 002).
	StatusID, StatusName                      string
	VendPurchID, VendPurchWaybill             string
	VendPurchAccountID, VendPurchStatus       string
	VendPurchItemID, VendPurchConfigurationID string
	VendPurchPromotionID                      string
}

// SkippedReasons are seed 002's likely reasons why AddOrder skipped an item
// (OT does not say which).
var SkippedReasons = []string{
	"the item is off sale (sold out at the seller)",
	"this configuration (colour, size…) is gone or sold out",
	"the seller is no longer on the site",
	"a typo in the item's or the configuration's id",
}

// SkippedMessage is what a line OT skipped says on the order.
func SkippedMessage() string {
	return "OT skipped this item when adding the order. Likely: " + strings.Join(SkippedReasons, "; ") +
		". Cancel the OT order and retry with other details, or continue without it."
}

// TmallMessage is what a Tmall line says: autobuy never exports it.
const TmallMessage = "Tmall item: OT's autobuy does not buy Tmall items (their discounts do not pass through Taobao's API). " +
	"Buy it by hand on Taobao, then link the Taobao order to this order (Link)."

// OTAddedLine is one of our lines in OT's answer to AddOrder.
type OTAddedLine struct {
	OrderLineID int64
	OTLineID    string // "" when skipped
}

// OTAdded is what AddOrder made (or what the lookup by comment found).
type OTAdded struct {
	SalesID, CustomerID  string
	Amount, PaidAmount   int64
	StatusID, StatusName string
	Lines                []OTAddedLine
	// Found: the order was found at OT by its comment after an interrupted
	// attempt, not added now.
	Found bool
}

// OTLineState is what OT says of one of its lines (GetSalesOrderDetailsForOperator).
type OTLineState struct {
	OTLineID                                  string
	StatusID, StatusName                      string
	VendPurchID, VendPurchWaybill             string
	VendPurchAccountID, VendPurchStatus       string
	VendPurchItemID, VendPurchConfigurationID string
	VendPurchPromotionID                      string
}

// OTDetails is what OT says of an order now.
type OTDetails struct {
	StatusID, StatusName string
	Amount, PaidAmount   int64
	Lines                []OTLineState
}

// OTActivityKind is one of seed 002's four interactive operations.
type OTActivityKind string

// The activity kinds.
const (
	OTExport OTActivityKind = "export"
	OTSync   OTActivityKind = "sync"
	OTLink   OTActivityKind = "link"
	OTUnlink OTActivityKind = "unlink"
)

// Valid reports whether k is a kind.
func (k OTActivityKind) Valid() bool {
	return k == OTExport || k == OTSync || k == OTLink || k == OTUnlink
}

// Label says the kind in words.
func (k OTActivityKind) Label() string {
	switch k {
	case OTExport:
		return "Export to Taobao"
	case OTSync:
		return "Sync with Taobao"
	case OTLink:
		return "Link with Taobao orders"
	case OTUnlink:
		return "Unlink lines"
	}
	return string(k)
}

// OTActivityState is where an activity stands.
type OTActivityState string

// The activity states.
const (
	ActStarting  OTActivityState = "starting"
	ActRunning   OTActivityState = "running"
	ActAwaiting  OTActivityState = "awaiting"
	ActFinished  OTActivityState = "finished"
	ActFailed    OTActivityState = "failed"
	ActCancelled OTActivityState = "cancelled"
)

// Open reports whether the activity is under way.
func (s OTActivityState) Open() bool { return s == ActStarting || s == ActRunning || s == ActAwaiting }

// Label says the state in words.
func (s OTActivityState) Label() string {
	switch s {
	case ActStarting:
		return "starting"
	case ActRunning:
		return "running"
	case ActAwaiting:
		return "waiting for an answer"
	case ActFinished:
		return "finished"
	case ActFailed:
		return "failed"
	case ActCancelled:
		return "cancelled"
	}
	return string(s)
}

// OTAction is a choice an activity waiting for an operator offers.
type OTAction struct {
	ID          string `json:"id"`
	DisplayName string `json:"name"`
}

// OTStep is one entry of an activity's log.
type OTStep struct {
	Type    string     `json:"type"`
	Message string     `json:"message"`
	Time    string     `json:"time,omitempty"`
	Actions []OTAction `json:"actions,omitempty"`
}

// OTAnswer is an operator's answer to an activity's question.
type OTAnswer struct {
	Question   string
	ActionID   string
	ActionName string
	AnsweredBy string
	CreatedAt  time.Time
}

// OTActivity is an OT background activity we follow.
type OTActivity struct {
	ID            int64
	TenantID      int64
	IntegrationID int64
	OrderID       int64
	OrderNumber   string
	OTOrderID     int64
	SalesID       string
	Kind          OTActivityKind
	ActivityType  string
	ActivityID    string
	State         OTActivityState
	Progress      int
	Description   string
	Steps         []OTStep
	Actions       []OTAction
	Parameters    string
	Error         string
	StartedBy     string
	CreatedAt     time.Time
	UpdatedAt     time.Time
	FinishedAt    *time.Time
	Answers       []OTAnswer // filled by FindOTActivity
}

// Question is what the activity asks while it waits: the message of its
// last step that offers actions, else its description.
func (a *OTActivity) Question() string {
	for i := len(a.Steps) - 1; i >= 0; i-- {
		if len(a.Steps[i].Actions) > 0 {
			return a.Steps[i].Message
		}
	}
	if len(a.Steps) > 0 {
		return a.Steps[len(a.Steps)-1].Message
	}
	return a.Description
}

// OTActivityUpdate is what OT says of an activity now.
type OTActivityUpdate struct {
	State       OTActivityState
	Progress    int
	Description string
	Steps       []OTStep
	Actions     []OTAction
	Error       string
}

// OTProviderSession is a provider (Taobao) account authorised at OT: the
// session an export runs with. It lives about a day (seed 002).
type OTProviderSession struct {
	ID               int64
	TenantID         int64
	IntegrationID    int64
	Login            string
	ObtainedAt       time.Time
	ExpiresAt        time.Time
	ExpiresEstimated bool
	Status           string // active, needs_authorization
	LastError        string
	AuthorisedBy     string
	UpdatedAt        time.Time
}

// Usable reports whether exports may run with the session at now.
func (s *OTProviderSession) Usable(now time.Time) bool {
	return s.Status == AccountActive && now.Before(s.ExpiresAt)
}

// OTProviderSessionTTL is how long a provider session lives when OT does not
// say (seed 002: about a day).
const OTProviderSessionTTL = 24 * time.Hour

// OTCounts are what the dashboard and the desk say of a shop's OT work.
type OTCounts struct {
	// WaitingForSession: OT orders paid and not exported for want of a
	// usable provider session.
	WaitingForSession int
	// Awaiting: activities waiting for an operator's answer.
	Awaiting int
	// Errors: OT orders waiting for a person.
	Errors int
}
