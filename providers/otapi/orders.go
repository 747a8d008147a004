package otapi

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// OrderItem is one line of OrderAddData.
type OrderItem struct {
	ID string // the provider's item id
	// ConfigurationID is the item's configuration (colour, size…); "0" for
	// an item without options (the default).
	ConfigurationID string
	Quantity        int
	Weight          string
	Comment         string
	PromotionID     string
	PriceType       string
}

// configuration is the ConfigurationId sent for it: "0" when it has none.
func (it OrderItem) configuration() string {
	if it.ConfigurationID == "" {
		return "0"
	}
	return it.ConfigurationID
}

// OrderAddData is AddOrder's xmlAddData.
type OrderAddData struct {
	// DeliveryModeID is the delivery created in the OT admin for the shop
	// (an external, free one: seed 002).
	DeliveryModeID string
	// Comment is free text; put the shop's order number here to find the
	// order again (FindSalesOrdersByComment).
	Comment       string
	UserProfileID string
	Items         []OrderItem
}

type xmlItem struct {
	ID              string `xml:"Id"`
	ConfigurationID string `xml:"ConfigurationId"`
	Quantity        int    `xml:"Quantity"`
	Weight          string `xml:"Weight,omitempty"`
	Comment         string `xml:"Comment,omitempty"`
	PromotionID     string `xml:"PromotionId,omitempty"`
	PriceType       string `xml:"PriceType,omitempty"`
}

type xmlOrderAddData struct {
	XMLName        xml.Name  `xml:"OrderAddData"`
	DeliveryModeID string    `xml:"DeliveryModeId"`
	Comment        string    `xml:"Comment,omitempty"`
	UserProfileID  string    `xml:"UserProfileId,omitempty"`
	Items          []xmlItem `xml:"Items>Item"`
}

// XML renders d as the <OrderAddData> document AddOrder takes.
func (d OrderAddData) XML() string {
	x := xmlOrderAddData{DeliveryModeID: d.DeliveryModeID, Comment: d.Comment, UserProfileID: d.UserProfileID}
	for _, it := range d.Items {
		x.Items = append(x.Items, xmlItem{ID: it.ID, ConfigurationID: it.configuration(), Quantity: it.Quantity, Weight: it.Weight,
			Comment: it.Comment, PromotionID: it.PromotionID, PriceType: it.PriceType})
	}
	return marshalXML(x)
}

// marshalXML renders one of this package's parameter documents. Their
// types hold only strings, ints and slices of them, which encoding/xml
// always renders; a failure would be a programming error here.
func marshalXML(v any) string {
	b, err := xml.Marshal(v)
	if err != nil {
		panic("otapi: parameter document: " + err.Error())
	}
	return string(b)
}

// OrderLine is a line of an OT order, with what seed 002 names of its
// purchase at the provider (SalesLinesList of
// GetSalesOrderDetailsForOperator, OrderLineInfo of SearchOrderLines).
type OrderLine struct {
	ID, ItemID, ConfigurationID, PromotionID string
	Quantity                                 int
	// StatusID and StatusName are OT's status of the line; OT moves it
	// along with the provider order (the correspondence is set in OT's
	// autobuy settings, so the ids are the instance's own).
	StatusID, StatusName string
	// VendPurchID is the provider order (Taobao order id) the line was
	// bought in, VendPurchWaybill the seller's track number,
	// VendPurchAccountID the provider login that bought it and
	// VendPurchStatus the provider's own status of it (e.g. Taobao's
	// WAIT_SELLER_SEND_GOODS). All empty while the line is not exported.
	VendPurchID, VendPurchWaybill, VendPurchAccountID, VendPurchStatus string
	// VendPurchItemID, VendPurchConfigurationID and VendPurchPromotionID
	// are the item, configuration and discount in the provider order.
	VendPurchItemID, VendPurchConfigurationID, VendPurchPromotionID string
	// SalesID is the OT order the line belongs to (SearchOrderLines).
	SalesID string
}

// SalesOrder is an order in OT Platform's order system.
type SalesOrder struct {
	ID           string // e.g. "ORD-0000000020"
	CustomerID   string
	CustomerName string
	// Comment is the order's comment: the shop's order number when the app
	// added it.
	Comment string
	// StatusID and StatusName are OT's status of the order.
	StatusID, StatusName string
	// Cancelled is set when OT says the order is cancelled
	// (CancelSalesOrder) [U]: read from IsCancelled.
	Cancelled bool
	// TotalAmount and PaidAmount are in minor units of the instance's
	// currency, Currency its ISO code when OT gives it.
	TotalAmount int64
	PaidAmount  int64
	Currency    string
	Lines       []OrderLine
	// Raw is the Result as received, for fields not named here.
	Raw json.RawMessage
}

// AddOrder adds an order on the buyer's behalf (buyer session, see
// Authenticate). OT always makes one order per call; items it cannot order
// are skipped without an error, so compare the answer with what was sent
// (SkippedItems). When the skips are not acceptable, cancel the order
// (CancelSalesOrder) and add it again.
func (c *Client) AddOrder(ctx context.Context, userSession string, d OrderAddData) (*SalesOrder, error) {
	res, err := c.Call(ctx, "AddOrder", map[string]string{"sessionId": userSession, "xmlAddData": d.XML()})
	if err != nil {
		return nil, err
	}
	return parseSalesOrder("AddOrder", res)
}

// SkippedItems returns the items of sent that OT did not put in got: an
// item counts as ordered when a line of got has its item id, configuration
// and quantity (each line matches one item).
func SkippedItems(sent OrderAddData, got *SalesOrder) []OrderItem {
	used := make([]bool, len(got.Lines))
	var skipped []OrderItem
	for _, it := range sent.Items {
		found := false
		for i, l := range got.Lines {
			cfg := l.ConfigurationID
			if cfg == "" {
				cfg = "0"
			}
			if !used[i] && l.ItemID == it.ID && cfg == it.configuration() && l.Quantity == it.Quantity {
				used[i], found = true, true
				break
			}
		}
		if !found {
			skipped = append(skipped, it)
		}
	}
	return skipped
}

// ItemSkippedError describes an item AddOrder skipped, for the order's
// page; its Explain gives seed 002's likely reasons.
func ItemSkippedError(it OrderItem) *Error {
	return &Error{Method: "AddOrder", Code: CodeItemSkipped,
		Description: fmt.Sprintf("item %s (configuration %s, quantity %d)", it.ID, it.configuration(), it.Quantity)}
}

// CancelSalesOrder cancels an order the buyer added (buyer session), as
// seed 002 does when AddOrder skipped items that matter; then the order
// can be added again with other items.
func (c *Client) CancelSalesOrder(ctx context.Context, userSession, salesID string) error {
	_, err := c.Call(ctx, "CancelSalesOrder", map[string]string{"sessionId": userSession, "salesId": salesID})
	return err
}

// SalesOrderDetails reads an order with its lines and their purchase at
// the provider (GetSalesOrderDetailsForOperator with filter "" and
// queryType 0, as seed 002 says).
func (c *Client) SalesOrderDetails(ctx context.Context, operatorSession, salesID string) (*SalesOrder, error) {
	const method = "GetSalesOrderDetailsForOperator"
	res, err := c.Call(ctx, method, map[string]string{
		"sessionId": operatorSession, "salesId": salesID, "filter": "", "queryType": "0",
	})
	if err != nil {
		return nil, err
	}
	return parseSalesOrder(method, res)
}

// parseSalesOrder reads an order Result: {SalesOrderInfo, SalesLinesList}
// as GetSalesOrderDetailsForOperator answers [C usage]. [U] AddOrder's
// answer is not public; the sandbox answers the same shape, and a flat
// order ({Id, CustId, …}) or one nested in Order / OrderInfo is accepted
// too, with the lines in SalesLinesList or Lines.
func parseSalesOrder(method string, res json.RawMessage) (*SalesOrder, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(res, &top); err != nil {
		return nil, fmt.Errorf("otapi: %s: decode answer: %w", method, err)
	}
	info := top
	if v := pick(top, "SalesOrderInfo", "OrderInfo", "Order"); v != nil {
		if err := json.Unmarshal(v, &info); err != nil {
			return nil, fmt.Errorf("otapi: %s: decode order: %w", method, err)
		}
	}
	so, err := orderInfo(info)
	if err != nil {
		return nil, fmt.Errorf("otapi: %s: %w", method, err)
	}
	if so.ID == "" {
		return nil, &Error{Method: method, Code: CodeInternalError, Description: "answer without an order id"}
	}
	so.Raw = res
	for _, item := range list(pick(top, "SalesLinesList", "Lines")) {
		l, err := orderLine(item)
		if err != nil {
			return nil, fmt.Errorf("otapi: %s: order %s: %w", method, so.ID, err)
		}
		so.Lines = append(so.Lines, l)
	}
	return so, nil
}

// orderInfo reads the order's own fields (SalesOrderInfo; an item of
// SearchOrders). [U] beyond Id, CustId and CustName the names are not
// public: the amounts are read from TotalAmount or SalesAmount and
// PaidAmount, SalesPaid or Paid.
func orderInfo(f map[string]json.RawMessage) (*SalesOrder, error) {
	so := &SalesOrder{ID: value(f["Id"]), CustomerID: value(pick(f, "CustId", "CustomerId")), CustomerName: scalar(f["CustName"]),
		Comment: scalar(f["Comment"]), StatusID: value(f["StatusId"]), StatusName: scalar(f["StatusName"]),
		Cancelled: truthy(f["IsCancelled"]), Currency: scalar(pick(f, "CurrencyCode", "Currency"))}
	for dst, raw := range map[*int64]json.RawMessage{
		&so.TotalAmount: pick(f, "TotalAmount", "SalesAmount"),
		&so.PaidAmount:  pick(f, "PaidAmount", "SalesPaid", "Paid"),
	} {
		if a := value(raw); a != "" {
			v, err := ParseMoney(a)
			if err != nil {
				return nil, err
			}
			*dst = v
		}
	}
	return so, nil
}

// orderLine reads a line of SalesLinesList or of SearchOrderLines. The
// VendPurch* and Status* names are seed 002's; [U] the item id is read
// from ItemTaobaoId (OT admin code) or ItemId, the configuration from
// ConfigId or ConfigurationId, the quantity from Quantity or Qty, the
// order from SalesId, OrderId or SalesOrderId.
func orderLine(raw json.RawMessage) (OrderLine, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(raw, &f); err != nil {
		return OrderLine{}, fmt.Errorf("decode line: %w", err)
	}
	l := OrderLine{
		ID: value(f["Id"]), ItemID: value(pick(f, "ItemTaobaoId", "ItemId")), ConfigurationID: value(pick(f, "ConfigId", "ConfigurationId")),
		PromotionID: value(f["PromotionId"]), StatusID: value(f["StatusId"]), StatusName: scalar(f["StatusName"]),
		VendPurchID: value(f["VendPurchId"]), VendPurchWaybill: value(f["VendPurchWaybill"]),
		VendPurchAccountID: value(f["VendPurchAccountId"]), VendPurchStatus: value(f["VendPurchStatus"]),
		VendPurchItemID: value(f["VendPurchItemId"]), VendPurchConfigurationID: value(f["VendPurchConfigurationId"]),
		VendPurchPromotionID: value(f["VendPurchPromotionId"]), SalesID: value(pick(f, "SalesId", "OrderId", "SalesOrderId")),
	}
	if q := value(pick(f, "Quantity", "Qty")); q != "" {
		n, err := strconv.ParseFloat(q, 64)
		if err != nil || n != float64(int(n)) {
			return OrderLine{}, fmt.Errorf("line %s: quantity %q is not a whole number", l.ID, q)
		}
		l.Quantity = int(n)
	}
	return l, nil
}

// FindSalesOrdersByComment finds the OT orders whose comment is exactly
// comment: after a crash between AddOrder and recording its answer, the
// app finds the order it made instead of making another. Cancelled orders
// are returned too (see SalesOrder.Cancelled). The orders come without
// their lines (SalesOrderDetails reads them).
//
// [U] it calls SearchOrders with <OrderSearchParameters><Comment>; the
// filter's element is not public and OT may match part of the comment, so
// the answer is filtered here to the exact comment.
func (c *Client) FindSalesOrdersByComment(ctx context.Context, operatorSession, comment string) ([]SalesOrder, error) {
	const method = "SearchOrders"
	if strings.TrimSpace(comment) == "" {
		return nil, &Error{Method: method, Code: CodeInvalidArgument, Description: "the comment to search for is empty"}
	}
	doc := marshalXML(struct {
		XMLName xml.Name `xml:"OrderSearchParameters"`
		Comment string   `xml:"Comment"`
	}{Comment: comment})
	var out []SalesOrder
	err := c.frames(ctx, method, map[string]string{"sessionId": operatorSession, "xmlSearchParameters": doc}, func(item json.RawMessage) error {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(item, &f); err != nil {
			return err
		}
		if v := pick(f, "SalesOrderInfo", "OrderInfo"); v != nil {
			if err := json.Unmarshal(v, &f); err != nil {
				return err
			}
		}
		so, err := orderInfo(f)
		if err != nil {
			return err
		}
		if so.ID != "" && so.Comment == comment {
			so.Raw = item
			out = append(out, *so)
		}
		return nil
	})
	return out, err
}

// LineSearch selects order lines by their provider order (VendPurchId) or
// by the seller's track number (VendPurchWaybill); a line matches when it
// has one of the ids of each list given.
type LineSearch struct{ VendorPurchaseIDs, Waybills []string }

// XML renders s as seed 002's <OrderLineSearchParameters>.
func (s LineSearch) XML() string {
	type ids struct {
		ID []string `xml:"Id"`
	}
	x := struct {
		XMLName   xml.Name `xml:"OrderLineSearchParameters"`
		Purchases *ids     `xml:"VendorPurchaseIdList,omitempty"`
		Waybills  *ids     `xml:"VendorPurchaseWaybillIdList,omitempty"`
	}{}
	if len(s.VendorPurchaseIDs) > 0 {
		x.Purchases = &ids{ID: s.VendorPurchaseIDs}
	}
	if len(s.Waybills) > 0 {
		x.Waybills = &ids{ID: s.Waybills}
	}
	return marshalXML(x)
}

// SearchOrderLines finds the lines bought in given provider orders or sent
// under given track numbers (seed 002: "search order lines by the provider
// order id / by the track number"), with the OT order each belongs to
// (OrderLine.SalesID). An empty search is refused rather than listing every
// line.
func (c *Client) SearchOrderLines(ctx context.Context, operatorSession string, s LineSearch) ([]OrderLine, error) {
	const method = "SearchOrderLines"
	if len(s.VendorPurchaseIDs) == 0 && len(s.Waybills) == 0 {
		return nil, &Error{Method: method, Code: CodeInvalidArgument, Description: "give a provider order id or a track number to search for"}
	}
	var out []OrderLine
	err := c.frames(ctx, method, map[string]string{"sessionId": operatorSession, "xmlSearchParameters": s.XML()}, func(item json.RawMessage) error {
		l, err := orderLine(item)
		if err == nil {
			out = append(out, l)
		}
		return err
	})
	return out, err
}

// frameSize is how many items a search asks for per call.
const frameSize = 100

// maxFrames bounds a search's paging, so that an answer whose TotalCount
// never comes true cannot keep the client asking.
const maxFrames = 100

// frames reads every frame of a search method (framePosition, frameSize;
// the Result is {Content, TotalCount} or a bare list) and hands each item
// to fn.
func (c *Client) frames(ctx context.Context, method string, params map[string]string, fn func(json.RawMessage) error) error {
	for pos, n := 0, 0; n < maxFrames; n++ {
		p := make(map[string]string, len(params)+2)
		for k, v := range params {
			p[k] = v
		}
		p["framePosition"], p["frameSize"] = strconv.Itoa(pos), strconv.Itoa(frameSize)
		res, err := c.Call(ctx, method, p)
		if err != nil {
			return err
		}
		items := list(res)
		for _, item := range items {
			if err := fn(item); err != nil {
				return fmt.Errorf("otapi: %s: %w", method, err)
			}
		}
		pos += len(items)
		var w struct {
			TotalCount json.RawMessage `json:"TotalCount"`
		}
		total := -1
		if json.Unmarshal(res, &w) == nil {
			if t, err := strconv.Atoi(value(w.TotalCount)); err == nil {
				total = t
			}
		}
		if len(items) == 0 || (total >= 0 && pos >= total) || (total < 0 && len(items) < frameSize) {
			return nil
		}
	}
	return &Error{Method: method, Code: CodeInternalError, Description: fmt.Sprintf("more than %d frames of %d", maxFrames, frameSize)}
}

// PostTransaction moves money on a buyer's account at OT Platform. Seed 002
// tops the account up with isDebit=true before paying an order from it (no
// real money moves). amount is in minor units.
func (c *Client) PostTransaction(ctx context.Context, operatorSession, customerID string, amount int64, comment string, isDebit bool, at time.Time) error {
	p := map[string]string{
		"sessionId": operatorSession, "customerId": customerID, "amount": FormatMoney(amount),
		"comment": comment, "isDebit": strconv.FormatBool(isDebit), "transactionDate": "",
	}
	if !at.IsZero() {
		// [U] the date format is not documented; ISO 8601 is what .NET
		// services read.
		p["transactionDate"] = at.UTC().Format("2006-01-02T15:04:05")
	}
	_, err := c.Call(ctx, "PostTransaction", p)
	return err
}

// PaymentInfo is the payment state of an order (SalesPaymentInfo).
type PaymentInfo struct {
	SalesAmount      int64 // the order's total
	SalesPaid        int64 // paid so far
	CustBalanceAvail int64 // left on the buyer's account
}

// SalesPaymentReserve pays amount (minor units) of an order from the buyer's
// account.
func (c *Client) SalesPaymentReserve(ctx context.Context, operatorSession, salesID string, amount int64) (*PaymentInfo, error) {
	res, err := c.Call(ctx, "SalesPaymentReserve", map[string]string{
		"sessionId": operatorSession, "salesId": salesID, "amount": FormatMoney(amount),
	})
	if err != nil {
		return nil, err
	}
	var w struct {
		SalesAmount      json.RawMessage `json:"SalesAmount"`
		SalesPaid        json.RawMessage `json:"SalesPaid"`
		CustBalanceAvail json.RawMessage `json:"CustBalanceAvail"`
	}
	if err := json.Unmarshal(res, &w); err != nil {
		return nil, fmt.Errorf("otapi: SalesPaymentReserve: decode answer: %w", err)
	}
	pi := &PaymentInfo{}
	for dst, raw := range map[*int64]json.RawMessage{&pi.SalesAmount: w.SalesAmount, &pi.SalesPaid: w.SalesPaid, &pi.CustBalanceAvail: w.CustBalanceAvail} {
		if s := value(raw); s != "" {
			v, err := ParseMoney(s)
			if err != nil {
				return nil, fmt.Errorf("otapi: SalesPaymentReserve: %w", err)
			}
			*dst = v
		}
	}
	return pi, nil
}
