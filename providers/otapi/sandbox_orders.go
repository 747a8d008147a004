package otapi

import (
	"context"
	"database/sql"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"orderdesk/providers/internal/wire"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/sandboxdb"
)

// CatalogueItem is an item of the sandbox's Taobao.
type CatalogueItem struct {
	ID    string
	Title string
	// Seller is the seller's nick; an export places one provider order per
	// seller.
	Seller string
	// Configurations are the item's configuration ids (Taobao SKU ids);
	// none means the item has no options and is ordered with
	// ConfigurationId 0.
	Configurations []string
	// Price is OT's price per unit in fen: what AddOrder charges.
	Price int64
	// ProviderPrice, when set, is Taobao's price at export time: the export
	// asks whether to buy at the new price.
	ProviderPrice int64
	// Stock, when set, is how many Taobao has: an export of more asks
	// whether to buy what is there.
	Stock int
	// Tmall items are ordered at OT but never exported (seed 002): they are
	// bought by hand and linked.
	Tmall bool
	// OffSale and SellerGone items are skipped by AddOrder.
	OffSale, SellerGone bool
}

// sandboxCatalogue is the sandbox's Taobao: the demo shop's products
// (model's demo catalogue: same item and SKU ids) and the cases of seed
// 002's list of reasons AddOrder skips an item.
var sandboxCatalogue = []CatalogueItem{
	{ID: "652871233140", Title: "Cotton T-shirt, white, M", Seller: "cotton_house", Configurations: []string{"4893019283744"}, Price: 3900},
	{ID: "652871233141", Title: "Denim jacket, blue, L", Seller: "cotton_house", Configurations: []string{"4893019283745"}, Price: 15900},
	{ID: "652871233142", Title: "Canvas tote bag, beige", Seller: "bag_corner", Configurations: []string{"4893019283746"}, Price: 2500},
	{ID: "701245560311", Title: "Ceramic tea set, 6 cups (price changed at Taobao)", Seller: "jingdezhen_tea", Configurations: []string{"5012238871101"}, Price: 8800, ProviderPrice: 9200},
	{ID: "701245560312", Title: "Bamboo phone stand", Seller: "bamboo_life", Configurations: []string{"5012238871102"}, Price: 1200},
	{ID: "701245560313", Title: "LED desk lamp, USB (3 left at Taobao)", Seller: "bright_desk", Configurations: []string{"5012238871103"}, Price: 6500, Stock: 3},
	{ID: "701245560399", Title: "Sticker pack (no options)", Seller: "bamboo_life", Price: 300},
	{ID: "612093384455", Title: "Wireless earbuds (Tmall)", Seller: "soundtech_flagship", Configurations: []string{"4421097735501"}, Price: 19900, Tmall: true},
	{ID: "652871239999", Title: "Silk scarf (its only configuration is 4893019283799)", Seller: "silk_road", Configurations: []string{"4893019283799"}, Price: 4200},
	{ID: "652871230404", Title: "Straw hat (off sale)", Seller: "cotton_house", Configurations: []string{"4893019280404"}, Price: 1500, OffSale: true},
	{ID: "652871230410", Title: "Wool socks (the seller has left)", Seller: "gone_shop", Configurations: []string{"4893019280410"}, Price: 900, SellerGone: true},
}

// SandboxCatalogue returns the sandbox's Taobao items.
func SandboxCatalogue() []CatalogueItem { return append([]CatalogueItem(nil), sandboxCatalogue...) }

func catalogueItem(id string) (CatalogueItem, bool) {
	for _, it := range sandboxCatalogue {
		if it.ID == id {
			return it, true
		}
	}
	return CatalogueItem{}, false
}

// orderable says whether AddOrder takes the item with that configuration:
// seed 002's reasons for skipping are an item off sale, a configuration
// that does not exist, a seller gone and a typo (an unknown id).
func (it CatalogueItem) orderable(config string) bool {
	if it.ID == "" || it.OffSale || it.SellerGone {
		return false
	}
	if len(it.Configurations) == 0 {
		return config == "0" || config == ""
	}
	for _, c := range it.Configurations {
		if c == config {
			return true
		}
	}
	return false
}

// The line statuses of the sandbox instance. OT's line statuses follow the
// provider order's and each instance sets the correspondence in its
// autobuy settings, so the ids are the sandbox's own; the app maps them to
// its procurement statuses with a table a shop can edit.
const (
	LineStatusNew       = "1" // the order is not paid yet
	LineStatusPaid      = "2" // paid, waiting to be bought
	LineStatusOrdered   = "3" // ordered at Taobao, not paid to the seller yet
	LineStatusPurchased = "4" // paid at Taobao, the seller is to send it
	LineStatusSent      = "5" // sent by the seller (VendPurchWaybill)
	LineStatusReceived  = "6" // received at the warehouse in China
	LineStatusCancelled = "7" // cancelled
)

// LineStatus is a line status of the sandbox instance.
type LineStatus struct{ ID, Name string }

var lineStatuses = []LineStatus{
	{LineStatusNew, "New"}, {LineStatusPaid, "Paid"}, {LineStatusOrdered, "Ordered at the provider"},
	{LineStatusPurchased, "Purchased"}, {LineStatusSent, "Sent by the seller"},
	{LineStatusReceived, "Received at the warehouse"}, {LineStatusCancelled, "Cancelled"},
}

// SandboxLineStatuses returns the sandbox instance's line statuses, for a
// shop's first mapping table.
func SandboxLineStatuses() []LineStatus { return append([]LineStatus(nil), lineStatuses...) }

func lineStatusName(id string) string {
	for _, s := range lineStatuses {
		if s.ID == id {
			return s.Name
		}
	}
	return ""
}

// Taobao's trade statuses, as the sandbox's provider orders go through
// them (VendPurchStatus), and the line status each gives.
const (
	TradeWaitBuyerPay     = "WAIT_BUYER_PAY"
	TradeWaitSellerSend   = "WAIT_SELLER_SEND_GOODS"
	TradeWaitBuyerConfirm = "WAIT_BUYER_CONFIRM_GOODS"
	TradeFinished         = "TRADE_FINISHED"
	TradeClosed           = "TRADE_CLOSED"
)

// tradeSteps is the way a provider order goes, one step per
// synchronisation.
var tradeSteps = []string{TradeWaitBuyerPay, TradeWaitSellerSend, TradeWaitBuyerConfirm, TradeFinished}

var tradeLineStatus = map[string]string{
	TradeWaitBuyerPay: LineStatusOrdered, TradeWaitSellerSend: LineStatusPurchased, TradeWaitBuyerConfirm: LineStatusSent,
	TradeFinished: LineStatusReceived, TradeClosed: LineStatusCancelled,
}

// SandboxLine is the sandbox's record of an order line.
type SandboxLine struct {
	OrderLine
	Price int64 // per unit, fen
}

// SandboxOrder is the sandbox's record of an order.
type SandboxOrder struct {
	ID             string
	CustomerID     string
	Comment        string
	DeliveryModeID string
	UserProfileID  string
	Total          int64
	Paid           int64
	Cancelled      bool
	Lines          []SandboxLine
	CreatedAt      time.Time
}

// status is the order's status at OT, from its lines and payment [U]: the
// sandbox's own ids.
func (o *SandboxOrder) status() (string, string) {
	switch {
	case o.Cancelled:
		return "5", "Cancelled"
	case o.exported():
		return "3", "In purchase"
	case o.Paid >= o.Total:
		return "2", "Paid"
	}
	return "1", "Awaiting payment"
}

func (o *SandboxOrder) exported() bool {
	for _, l := range o.Lines {
		if l.VendPurchID != "" {
			return true
		}
	}
	return false
}

func (o *SandboxOrder) line(id string) *SandboxLine {
	for i := range o.Lines {
		if o.Lines[i].ID == id {
			return &o.Lines[i]
		}
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share for reading.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const lineColumns = `id, order_id, item_id, config_id, promotion_id, quantity, price, status_id, vend_purch_id, vend_waybill,
	vend_account, vend_status, vend_item_id, vend_config_id, vend_promotion_id`

func scanLine(r sandboxdb.Scanner) (SandboxLine, error) {
	var l SandboxLine
	err := r.Scan(&l.ID, &l.SalesID, &l.ItemID, &l.ConfigurationID, &l.PromotionID, &l.Quantity, &l.Price, &l.StatusID,
		&l.VendPurchID, &l.VendPurchWaybill, &l.VendPurchAccountID, &l.VendPurchStatus, &l.VendPurchItemID,
		&l.VendPurchConfigurationID, &l.VendPurchPromotionID)
	l.StatusName = lineStatusName(l.StatusID)
	return l, err
}

func (s *Sandbox) loadOrder(ctx context.Context, q querier, id string) (*SandboxOrder, error) {
	var o SandboxOrder
	var created string
	err := q.QueryRowContext(ctx, `SELECT id, cust_id, comment, delivery_mode_id, user_profile_id, total, paid, cancelled, created_at
		FROM otapi_sales_orders WHERE id = ?`, id).
		Scan(&o.ID, &o.CustomerID, &o.Comment, &o.DeliveryModeID, &o.UserProfileID, &o.Total, &o.Paid, &o.Cancelled, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if o.CreatedAt, err = unstamp(created); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, `SELECT `+lineColumns+` FROM otapi_sales_lines WHERE order_id = ? ORDER BY pos`, id)
	o.Lines, err = sandboxdb.Collect(rows, err, scanLine)
	return &o, err
}

// order loads an order for a method: NotFound for an unknown id.
func (s *Sandbox) order(ctx context.Context, id string) (*SandboxOrder, *apiError) {
	o, err := s.loadOrder(ctx, s.db, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fail(CodeNotFound, "Order %q is not found", id)
	}
	if err != nil {
		return nil, internal(err)
	}
	return o, nil
}

// Order returns the sandbox's record of an order.
func (s *Sandbox) Order(id string) (*SandboxOrder, error) {
	return s.loadOrder(context.Background(), s.db, id)
}

// Orders returns the latest orders, newest first.
func (s *Sandbox) Orders(limit int) ([]*SandboxOrder, error) {
	rows, err := s.db.Query(`SELECT id FROM otapi_sales_orders ORDER BY seq DESC LIMIT ?`, limit)
	ids, err := sandboxdb.Collect(rows, err, sandboxdb.Column[string])
	if err != nil {
		return nil, err
	}
	var out []*SandboxOrder
	for _, id := range ids {
		o, err := s.Order(id)
		if err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

// lineResult renders a line as SalesLinesList and SearchOrderLines do.
func lineResult(l SandboxLine) map[string]any {
	return map[string]any{"Id": l.ID, "SalesId": l.SalesID, "ItemTaobaoId": l.ItemID, "ConfigId": l.ConfigurationID,
		"PromotionId": l.PromotionID, "Quantity": l.Quantity, "Price": wire.Money(l.Price),
		"StatusId": l.StatusID, "StatusName": l.StatusName,
		"VendPurchId": l.VendPurchID, "VendPurchWaybill": l.VendPurchWaybill, "VendPurchAccountId": l.VendPurchAccountID,
		"VendPurchStatus": l.VendPurchStatus, "VendPurchItemId": l.VendPurchItemID,
		"VendPurchConfigurationId": l.VendPurchConfigurationID, "VendPurchPromotionId": l.VendPurchPromotionID}
}

// orderInfoResult renders an order's own fields (SalesOrderInfo).
func orderInfoResult(o *SandboxOrder) map[string]any {
	id, name := o.status()
	return map[string]any{"Id": o.ID, "CustId": o.CustomerID, "CustName": "Demo Buyer", "Comment": o.Comment,
		"CreatedDateTime": o.CreatedAt.Format("2006-01-02T15:04:05"), "TotalAmount": wire.Money(o.Total), "PaidAmount": wire.Money(o.Paid),
		"CurrencyCode": SandboxCurrency, "StatusId": id, "StatusName": name, "IsCancelled": o.Cancelled,
		"DeliveryModeId": o.DeliveryModeID, "UserProfileId": o.UserProfileID}
}

// orderResult renders an order the way GetSalesOrderDetailsForOperator
// does (SalesOrderInfo and SalesLinesList); AddOrder answers the same
// ([U], see parseSalesOrder).
func orderResult(o *SandboxOrder) map[string]any {
	lines := []map[string]any{}
	for _, l := range o.Lines {
		lines = append(lines, lineResult(l))
	}
	return map[string]any{"SalesOrderInfo": orderInfoResult(o), "SalesLinesList": lines}
}

// maxOrderItems bounds an order's lines; line ids are the order's number
// times 100 plus the line's place.
const maxOrderItems = 99

func (s *Sandbox) mAddOrder(ctx context.Context, p params) (any, *apiError) {
	login, e := s.session(ctx, p.str("sessionId"), "user")
	if e != nil {
		return nil, e
	}
	var d xmlOrderAddData
	if err := xml.Unmarshal([]byte(p.str("xmlAddData")), &d); err != nil {
		return nil, fail(CodeInvalidArgument, "xmlAddData is not a valid OrderAddData document")
	}
	if d.DeliveryModeID != DemoDeliveryModeID {
		return nil, fail(CodeInvalidArgument, "Delivery mode %q is not found", d.DeliveryModeID)
	}
	if d.UserProfileID != "" && d.UserProfileID != DemoUserProfileID {
		return nil, fail(CodeInvalidArgument, "User profile %q is not found", d.UserProfileID)
	}
	if len(d.Items) > maxOrderItems {
		return nil, fail(CodeInvalidArgument, "An order takes at most %d items", maxOrderItems)
	}
	var custID string
	if err := s.db.QueryRowContext(ctx, `SELECT cust_id FROM otapi_customers WHERE login = ?`, login).Scan(&custID); err != nil {
		return nil, internal(err)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	var seq int64
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM otapi_sales_orders`).Scan(&seq); err != nil {
		return nil, internal(err)
	}
	o := &SandboxOrder{ID: fmt.Sprintf("ORD-%010d", seq), CustomerID: custID, Comment: d.Comment, DeliveryModeID: d.DeliveryModeID,
		UserProfileID: d.UserProfileID, CreatedAt: s.now()}
	for i, it := range d.Items {
		if it.Quantity < 1 || strings.TrimSpace(it.ID) == "" {
			return nil, fail(CodeInvalidArgument, "Item %d: Id and a positive Quantity are required", i+1)
		}
		cfg := it.ConfigurationID
		if cfg == "" {
			cfg = "0"
		}
		c, _ := catalogueItem(it.ID)
		if !c.orderable(cfg) {
			// OT checks every item and skips what cannot be ordered, without
			// saying why (seed 002).
			continue
		}
		o.Lines = append(o.Lines, SandboxLine{Price: c.Price, OrderLine: OrderLine{ID: strconv.FormatInt(seq*100+int64(i)+1, 10),
			SalesID: o.ID, ItemID: it.ID, ConfigurationID: cfg, PromotionID: it.PromotionID, Quantity: it.Quantity,
			StatusID: LineStatusNew, StatusName: lineStatusName(LineStatusNew)}})
		o.Total += int64(it.Quantity) * c.Price
	}
	if len(o.Lines) == 0 {
		return nil, fail(CodeInvalidArgument, "None of the items can be ordered")
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO otapi_sales_orders (seq, id, cust_id, comment, delivery_mode_id, user_profile_id, total, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, seq, o.ID, o.CustomerID, o.Comment, o.DeliveryModeID, o.UserProfileID, o.Total, stamp(o.CreatedAt)); err != nil {
			return err
		}
		for i, l := range o.Lines {
			if _, err := tx.ExecContext(ctx, `INSERT INTO otapi_sales_lines (id, order_id, pos, item_id, config_id, promotion_id, quantity, price, status_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, l.ID, o.ID, i, l.ItemID, l.ConfigurationID, l.PromotionID, l.Quantity, l.Price, l.StatusID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	return orderResult(o), nil
}

// mCancelOrder cancels the buyer's order: its lines are cancelled and what
// was paid goes back to the buyer's account. An order with lines at the
// provider is refused (unlink them first: a provider order is cancelled
// only by hand on Taobao, seed 002). Cancelling a cancelled order is Ok,
// so that a retry after a lost answer does no harm.
func (s *Sandbox) mCancelOrder(ctx context.Context, p params) (any, *apiError) {
	login, e := s.session(ctx, p.str("sessionId"), "user")
	if e != nil {
		return nil, e
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	o, e := s.order(ctx, p.str("salesId"))
	if e != nil {
		return nil, e
	}
	var owner string
	if err := s.db.QueryRowContext(ctx, `SELECT login FROM otapi_customers WHERE cust_id = ?`, o.CustomerID).Scan(&owner); err != nil {
		return nil, internal(err)
	}
	if owner != login {
		return nil, fail(CodeAccessDenied, "Order %s is not this buyer's", o.ID)
	}
	if o.Cancelled {
		return noResult{}, nil
	}
	if o.exported() {
		return nil, fail(CodeInvalidArgument, "Order %s has lines at the provider: unlink them first", o.ID)
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE otapi_sales_orders SET cancelled = 1, paid = 0 WHERE id = ?`, o.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE otapi_sales_lines SET status_id = ? WHERE order_id = ?`, LineStatusCancelled, o.ID); err != nil {
			return err
		}
		if o.Paid > 0 {
			return s.transact(ctx, tx, o.CustomerID, o.Paid, "Refund of cancelled order "+o.ID)
		}
		return nil
	})
	if err != nil {
		return nil, internal(err)
	}
	return noResult{}, nil
}

func (s *Sandbox) mOrderDetails(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	if p.str("queryType") != "0" {
		return nil, fail(CodeInvalidArgument, "queryType %q is not known to the sandbox (seed 002 sends 0)", p.str("queryType"))
	}
	o, e := s.order(ctx, p.str("salesId"))
	if e != nil {
		return nil, e
	}
	return orderResult(o), nil
}

// mSearchOrders finds orders whose comment contains the filter's Comment
// (case-insensitive, as a search box would), newest first. [U] the
// filter's element: see Client.FindSalesOrdersByComment.
func (s *Sandbox) mSearchOrders(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	pos, size, e := frame(p)
	if e != nil {
		return nil, e
	}
	var x struct {
		XMLName xml.Name
		Comment string `xml:"Comment"`
	}
	if err := xml.Unmarshal([]byte(p.str("xmlSearchParameters")), &x); err != nil || x.XMLName.Local != "OrderSearchParameters" {
		return nil, fail(CodeInvalidArgument, "xmlSearchParameters must be an <OrderSearchParameters> document")
	}
	where, args := `instr(lower(comment), lower(?)) > 0`, []any{x.Comment}
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM otapi_sales_orders WHERE `+where, args...).Scan(&total); err != nil {
		return nil, internal(err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id FROM otapi_sales_orders WHERE `+where+` ORDER BY seq DESC LIMIT ? OFFSET ?`, append(args, size, pos)...)
	ids, err := sandboxdb.Collect(rows, err, sandboxdb.Column[string])
	if err != nil {
		return nil, internal(err)
	}
	content := []map[string]any{}
	for _, id := range ids {
		o, e := s.order(ctx, id)
		if e != nil {
			return nil, e
		}
		content = append(content, orderInfoResult(o))
	}
	return map[string]any{"Content": content, "TotalCount": total}, nil
}

// mSearchLines finds lines by seed 002's <OrderLineSearchParameters>: a
// line matches when it has one of the ids of each list given.
func (s *Sandbox) mSearchLines(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	pos, size, e := frame(p)
	if e != nil {
		return nil, e
	}
	var x struct {
		XMLName  xml.Name
		Purchase []string `xml:"VendorPurchaseIdList>Id"`
		Waybills []string `xml:"VendorPurchaseWaybillIdList>Id"`
	}
	if err := xml.Unmarshal([]byte(p.str("xmlSearchParameters")), &x); err != nil || x.XMLName.Local != "OrderLineSearchParameters" {
		return nil, fail(CodeInvalidArgument, "xmlSearchParameters must be an <OrderLineSearchParameters> document")
	}
	var where []string
	var args []any
	for col, ids := range map[string][]string{"vend_purch_id": x.Purchase, "vend_waybill": x.Waybills} {
		var marks []string
		for _, id := range ids {
			if id = strings.TrimSpace(id); id != "" {
				marks, args = append(marks, "?"), append(args, id)
			}
		}
		if len(marks) > 0 {
			where = append(where, col+" IN ("+strings.Join(marks, ", ")+")")
		}
	}
	if len(where) == 0 {
		return map[string]any{"Content": []any{}, "TotalCount": 0}, nil
	}
	cond := strings.Join(where, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM otapi_sales_lines WHERE `+cond, args...).Scan(&total); err != nil {
		return nil, internal(err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+lineColumns+` FROM otapi_sales_lines WHERE `+cond+` ORDER BY order_id, pos LIMIT ? OFFSET ?`,
		append(args, size, pos)...)
	lines, err := sandboxdb.Collect(rows, err, scanLine)
	if err != nil {
		return nil, internal(err)
	}
	content := []map[string]any{}
	for _, l := range lines {
		content = append(content, lineResult(l))
	}
	return map[string]any{"Content": content, "TotalCount": total}, nil
}

func (s *Sandbox) mPaymentReserve(ctx context.Context, p params) (any, *apiError) {
	if e := s.operator(ctx, p); e != nil {
		return nil, e
	}
	amount, e := amountParam(p, "amount")
	if e != nil {
		return nil, e
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	o, e := s.order(ctx, p.str("salesId"))
	if e != nil {
		return nil, e
	}
	if o.Cancelled {
		return nil, fail(CodeInvalidArgument, "Order %s is cancelled", o.ID)
	}
	if amount > o.Total-o.Paid {
		return nil, fail(CodeInvalidArgument, "Amount %s is more than the unpaid %s", FormatMoney(amount), FormatMoney(o.Total-o.Paid))
	}
	balance, err := s.Balance(o.CustomerID)
	if err != nil {
		return nil, internal(err)
	}
	if balance < amount {
		return nil, fail(CodeNotEnoughMoney, "The customer's balance %s is less than %s", FormatMoney(balance), FormatMoney(amount))
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		if err := s.transact(ctx, tx, o.CustomerID, -amount, "Payment of order "+o.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE otapi_sales_orders SET paid = paid + ? WHERE id = ?`, amount, o.ID); err != nil {
			return err
		}
		if o.Paid+amount < o.Total {
			return nil
		}
		// Paid in full: the lines wait to be bought.
		_, err := tx.ExecContext(ctx, `UPDATE otapi_sales_lines SET status_id = ? WHERE order_id = ? AND status_id = ?`, LineStatusPaid, o.ID, LineStatusNew)
		return err
	})
	if err != nil {
		return nil, internal(err)
	}
	return map[string]any{"SalesAmount": wire.Money(o.Total), "SalesPaid": wire.Money(o.Paid + amount), "CustBalanceAvail": wire.Money(balance - amount)}, nil
}

// ---------------------------------------------------------------- the sandbox's Taobao

// ProviderItem is an item of a provider (Taobao) order.
type ProviderItem struct {
	ItemID, ConfigurationID, PromotionID string
	Quantity                             int
	// LineID is the OT order line it is linked to ("" while unlinked).
	LineID string
}

// ProviderOrder is an order at the sandbox's Taobao.
type ProviderOrder struct {
	ID      string // a 16-digit number, like Taobao's order ids
	Account string // the Taobao login that placed it
	Seller  string
	Status  string // Taobao's trade status (the Trade* constants)
	Waybill string // the seller's track number, once sent
	Items   []ProviderItem
	ByHand  bool // bought by a person on Taobao (BuyByHand), not exported
}

func (s *Sandbox) loadProviderOrder(ctx context.Context, q querier, id string) (*ProviderOrder, error) {
	po := ProviderOrder{ID: id}
	var items string
	err := q.QueryRowContext(ctx, `SELECT account, seller, status, waybill, items, by_hand FROM otapi_provider_orders WHERE id = ?`, id).
		Scan(&po.Account, &po.Seller, &po.Status, &po.Waybill, &items, &po.ByHand)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(items), &po.Items); err != nil {
		return nil, fmt.Errorf("otapi sandbox: provider order %s: items: %w", id, err)
	}
	return &po, nil
}

// ProviderOrder returns an order of the sandbox's Taobao.
func (s *Sandbox) ProviderOrder(id string) (*ProviderOrder, error) {
	return s.loadProviderOrder(context.Background(), s.db, id)
}

// ProviderOrders returns the latest orders of the sandbox's Taobao, newest
// first.
func (s *Sandbox) ProviderOrders(limit int) ([]*ProviderOrder, error) {
	rows, err := s.db.Query(`SELECT id FROM otapi_provider_orders ORDER BY seq DESC LIMIT ?`, limit)
	ids, err := sandboxdb.Collect(rows, err, sandboxdb.Column[string])
	if err != nil {
		return nil, err
	}
	var out []*ProviderOrder
	for _, id := range ids {
		po, err := s.ProviderOrder(id)
		if err != nil {
			return nil, err
		}
		out = append(out, po)
	}
	return out, nil
}

// insertProviderOrder places po at the sandbox's Taobao and sets its id.
func (s *Sandbox) insertProviderOrder(ctx context.Context, tx *sql.Tx, po *ProviderOrder) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM otapi_provider_orders`).Scan(&seq); err != nil {
		return err
	}
	po.ID = fmt.Sprintf("33%014d", seq)
	items, err := json.Marshal(po.Items)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO otapi_provider_orders (seq, id, account, seller, status, waybill, items, by_hand, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, seq, po.ID, po.Account, po.Seller, po.Status, po.Waybill, string(items), po.ByHand, stamp(s.now()))
	return err
}

// saveProviderOrder writes po's status, waybill and items.
func saveProviderOrder(ctx context.Context, tx *sql.Tx, po *ProviderOrder) error {
	items, err := json.Marshal(po.Items)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE otapi_provider_orders SET status = ?, waybill = ?, items = ? WHERE id = ?`, po.Status, po.Waybill, string(items), po.ID)
	return err
}

// BuyByHand places an order at the sandbox's Taobao as a person would on
// the website (a Tmall item that autobuy does not buy), for linking with
// RunOrderLinkingWithProvider; it returns the provider order's id. Every
// item's id must be in the catalogue.
func (s *Sandbox) BuyByHand(account string, items ...ProviderItem) (string, error) {
	if len(items) == 0 {
		return "", errors.New("otapi sandbox: a provider order needs an item")
	}
	po := &ProviderOrder{Account: account, Status: TradeWaitBuyerPay, ByHand: true}
	for i, it := range items {
		c, ok := catalogueItem(it.ItemID)
		if !ok || it.Quantity < 1 {
			return "", fmt.Errorf("otapi sandbox: item %q is not in the catalogue or has no quantity", it.ItemID)
		}
		if i == 0 {
			po.Seller = c.Seller
		}
		it.LineID = ""
		if it.ConfigurationID == "" {
			it.ConfigurationID = "0"
		}
		po.Items = append(po.Items, it)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	err := s.writeTx(context.Background(), func(tx *sql.Tx) error { return s.insertProviderOrder(context.Background(), tx, po) })
	return po.ID, err
}

// SetProviderOrderStatus sets a provider order's Taobao status, as the
// seller or the buyer moves it on the website (TradeClosed cancels it);
// the next synchronisation brings it to the linked lines. A status from
// the seller's sending on gets a track number.
func (s *Sandbox) SetProviderOrderStatus(id, status string) error {
	if _, ok := tradeLineStatus[status]; !ok {
		return fmt.Errorf("otapi sandbox: %q is not a Taobao trade status", status)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	ctx := context.Background()
	po, err := s.loadProviderOrder(ctx, s.db, id)
	if err != nil {
		return err
	}
	po.Status = status
	setWaybill(po)
	return s.writeTx(ctx, func(tx *sql.Tx) error { return saveProviderOrder(ctx, tx, po) })
}

// setWaybill gives a sent provider order its track number: a YTO-like
// number made from the order's id, the same at every call.
func setWaybill(po *ProviderOrder) {
	if po.Waybill == "" && (po.Status == TradeWaitBuyerConfirm || po.Status == TradeFinished) {
		po.Waybill = "YT" + po.ID[len(po.ID)-13:]
	}
}

// advanceTrade moves a provider order one step along (a synchronisation
// finds Taobao a little further on each time); closed and finished orders
// stay.
func advanceTrade(po *ProviderOrder) bool {
	for i, st := range tradeSteps[:len(tradeSteps)-1] {
		if po.Status == st {
			po.Status = tradeSteps[i+1]
			setWaybill(po)
			return true
		}
	}
	return false
}

// applyVend writes a provider order's state onto a line linked to it.
func applyVend(ctx context.Context, tx *sql.Tx, lineID string, po *ProviderOrder, it ProviderItem) error {
	_, err := tx.ExecContext(ctx, `UPDATE otapi_sales_lines SET status_id = ?, vend_purch_id = ?, vend_waybill = ?, vend_account = ?, vend_status = ?,
		vend_item_id = ?, vend_config_id = ?, vend_promotion_id = ? WHERE id = ?`,
		tradeLineStatus[po.Status], po.ID, po.Waybill, po.Account, po.Status, it.ItemID, it.ConfigurationID, it.PromotionID, lineID)
	return err
}
