package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"orderdesk/model"
)

// APIProducts lists the catalogue: GET /api/public/products/.
func (a *App) APIProducts(c echo.Context) error {
	products, err := a.store.FindProducts(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(products))
	for _, p := range products {
		out = append(out, map[string]any{
			"id": p.ID, "sku": p.SKU, "title": p.Title, "description": p.Description,
			"price": model.FormatAmount(p.Price), "currency": tenant(c).Currency,
			"in_stock": tenant(c).ZeroStock || p.Stock > 0, "stock": p.Stock,
		})
	}
	return ok(c, http.StatusOK, "", map[string]any{"products": out})
}

// APIShippingMethods lists the delivery options: GET /api/public/shipping-methods/.
func (a *App) APIShippingMethods(c echo.Context) error {
	methods, err := a.store.FindShippingMethods(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(methods))
	for _, m := range methods {
		out = append(out, map[string]any{"id": m.ID, "name": m.Name, "carrier": m.Carrier,
			"price": model.FormatAmount(m.Price), "currency": tenant(c).Currency})
	}
	return ok(c, http.StatusOK, "", map[string]any{"shipping_methods": out})
}

// APICartAdd adds a product: POST /api/cart/add/ {product_id, quantity}.
func (a *App) APICartAdd(c echo.Context) error {
	var req struct {
		ProductID flexID `json:"product_id"`
		Quantity  int    `json:"quantity"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Quantity == 0 {
		req.Quantity = 1
	}
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	if err := a.store.AddToCart(c.Request().Context(), tenant(c).ID, st.CartID, int64(req.ProductID), req.Quantity); err != nil {
		return err
	}
	return a.answerCart(c, customer, sess, st, apiMsg(c, "api.cart.added"))
}

// APICartCoupon applies (or with "" removes) a promo code: POST /api/cart/coupon/.
func (a *App) APICartCoupon(c echo.Context) error {
	var req struct {
		CouponCode string `json:"coupon_code"`
		UseBonus   *bool  `json:"use_bonus"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	st.PromoCode = strings.ToUpper(strings.TrimSpace(req.CouponCode))
	if req.UseBonus != nil {
		st.UseBonus = *req.UseBonus
	}
	view, err := a.priceShopCart(c, customer, st, 0)
	if err != nil {
		return err
	}
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	if st.PromoCode != "" && !st.IsActive {
		// The code stays in the session so the shopper sees what they typed.
		return c.JSON(statusInvalid, map[string]any{"success": false, "message": st.Message, "cart": cartJSON(view, st)})
	}
	return ok(c, http.StatusOK, st.Message, map[string]any{"cart": cartJSON(view, st)})
}

// APICart shows the cart: GET /api/cart/.
func (a *App) APICart(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	return a.answerCart(c, customer, sess, st, "")
}

func (a *App) answerCart(c echo.Context, customer *model.Customer, sess *sessions.Session, st *shopState, msg string) error {
	view, err := a.priceShopCart(c, customer, st, 0)
	if err != nil {
		return err
	}
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	return ok(c, http.StatusOK, msg, map[string]any{"cart": cartJSON(view, st)})
}

// apiFieldNames maps the model's address field names to the API's (seed 001).
var apiFieldNames = map[string]string{
	"first_name": "customer_first_name", "last_name": "customer_last_name", "email": "customer_email",
	"telephone": "customer_phone", "street1": "shipping_address.address_line1", "street2": "shipping_address.address_line2",
	"city": "shipping_address.city", "state": "shipping_address.state", "zip": "shipping_address.postal_code",
	"country": "shipping_address.country",
}

// APIOrderCreate places an order from the cart: POST /api/orders/.
func (a *App) APIOrderCreate(c echo.Context) error {
	var req struct {
		CartID          string `json:"cart_id"`
		Email           string `json:"customer_email"`
		FirstName       string `json:"customer_first_name"`
		LastName        string `json:"customer_last_name"`
		Phone           string `json:"customer_phone"`
		ShippingAddress struct {
			Line1      string `json:"address_line1"`
			Line2      string `json:"address_line2"`
			City       string `json:"city"`
			State      string `json:"state"`
			PostalCode string `json:"postal_code"`
			Country    string `json:"country"`
		} `json:"shipping_address"`
		ShippingMethodID flexID  `json:"shipping_method_id"`
		CouponCode       *string `json:"coupon_code"`
		UseBonus         *bool   `json:"use_bonus"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st := a.loadShop(c)
	if req.CartID != "" {
		st.CartID = req.CartID
	}
	if req.CouponCode != nil {
		st.PromoCode = strings.ToUpper(strings.TrimSpace(*req.CouponCode))
	}
	if req.UseBonus != nil {
		st.UseBonus = *req.UseBonus
	}
	if st.CartID == "" {
		return &model.ValidationError{Fields: map[string]string{"cart_id": apiMsg(c, "api.cart.empty")}}
	}
	o, err := a.store.PlaceOrder(c.Request().Context(), tenant(c), model.PlaceOrderInput{
		CartID: st.CartID, Customer: customer, ShippingMethodID: int64(req.ShippingMethodID),
		Address: model.Address{
			FirstName: req.FirstName, LastName: req.LastName, Email: req.Email, Telephone: req.Phone,
			Street1: req.ShippingAddress.Line1, Street2: req.ShippingAddress.Line2, City: req.ShippingAddress.City,
			State: req.ShippingAddress.State, Zip: req.ShippingAddress.PostalCode, Country: req.ShippingAddress.Country,
		},
		Pricing: model.CartPricing{PromoCode: st.PromoCode, UseBonus: st.UseBonus},
	})
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		return renameFields(ve, apiFieldNames)
	}
	if err != nil {
		return err
	}
	a.rememberPlacedOrder(c, o.ID)
	// The promo code is used up by this order (or was refused for it); a guest's
	// cart stays until paid.
	st.PromoCode, st.IsActive, st.Message, st.UseBonus, st.Bonus = "", false, "", false, 0
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	message := apiMsg(c, "api.order.placed")
	if o.CouponNotApplied != "" {
		message += " " + o.CouponNotApplied
	}
	return ok(c, http.StatusCreated, message, map[string]any{
		"order": orderJSON(o, tenant(c).Language, true), "coupon_not_applied": nullString(o.CouponNotApplied),
	})
}

// renameFields returns a copy of a validation error with field names renamed.
func renameFields(ve *model.ValidationError, names map[string]string) *model.ValidationError {
	out := &model.ValidationError{}
	for k, v := range ve.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		out.Add(k, v)
	}
	return out
}

// orderFilterParams are the parameters the order list takes, on the desk, in
// the API and in the CSV export. Any other is refused: a filter the list does
// not know (?purchase_id= before it knew it) would list every order as if
// they all matched.
var orderFilterParams = []string{"status", "payment_status", "procurement_status", "customer_email", "order_number",
	"purchase_id", "waybill", "created_from", "created_to", "ready", "procurement", "unpaid_hours", "sort", "after", "limit"}

// staffOrderFilterParams are the filters on the shop's purchases, which a
// customer's answer never shows.
var staffOrderFilterParams = []string{"purchase_id", "waybill", "procurement"}

// unknownOrderParams names the parameters of q that the order list does not
// take, sorted.
func unknownOrderParams(q url.Values) []string {
	var out []string
	for k := range q {
		if !slices.Contains(orderFilterParams, k) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// orderFilterFromQuery reads the list filters shared by the desk, the API and
// the CSV export from q (the query, or what a desk form posted); unknown
// values and unknown parameters are a validation error naming the parameter.
func orderFilterFromQuery(c echo.Context, q url.Values) (model.OrderFilter, error) {
	f := model.OrderFilter{
		Status: model.OrderStatus(q.Get("status")), PaymentStatus: model.OrderPaymentStatus(q.Get("payment_status")),
		ProcurementStatus: model.ProcurementStatus(q.Get("procurement_status")), Email: q.Get("customer_email"),
		Number: q.Get("order_number"), Sort: q.Get("sort"), After: q.Get("after"), Ready: q.Get("ready") == "1",
		PurchaseID: strings.TrimSpace(q.Get("purchase_id")), Waybill: strings.TrimSpace(q.Get("waybill")),
	}
	v := &model.ValidationError{}
	for _, k := range unknownOrderParams(q) {
		v.Add(k, "the order list has no such filter; it takes "+strings.Join(orderFilterParams, ", "))
	}
	if f.Status != "" && !f.Status.Valid() {
		v.Add("status", "unknown order status")
	}
	if f.PaymentStatus != "" && !f.PaymentStatus.Valid() {
		v.Add("payment_status", "unknown payment status")
	}
	if f.ProcurementStatus != "" && !f.ProcurementStatus.Valid() {
		v.Add("procurement_status", "unknown procurement status")
	}
	// The supplier's order ids and track numbers are what the warehouse scan
	// takes: the same limit.
	v.MaxLen("purchase_id", f.PurchaseID, model.MaxScanCodeLen)
	v.MaxLen("waybill", f.Waybill, model.MaxScanCodeLen)
	// The dashboard's lists: paid orders to buy, purchases needing a person,
	// orders waiting for their payment longer than some hours.
	switch q.Get("procurement") {
	case "":
	case "to_buy":
		f.ToBuy = true
	case "needs_person":
		f.ProcurementError = true
	default:
		v.Add("procurement", "choose to_buy or needs_person")
	}
	if s := q.Get("unpaid_hours"); s != "" {
		h, err := strconv.Atoi(s)
		if err != nil || h < 1 || h > 720 {
			v.Add("unpaid_hours", "give a number of hours from 1 to 720")
		} else {
			f.UnpaidFor = time.Duration(h) * time.Hour
		}
	}
	if f.Sort != "" && !slices.Contains(model.OrderSorts, f.Sort) {
		v.Add("sort", "sort by newest, oldest, total_desc or total_asc")
	}
	loc := tenant(c).Location()
	if s := q.Get("created_from"); s != "" {
		if d, err := parseDay(s, loc); err != nil {
			v.Add("created_from", "use a date like 2026-01-31")
		} else {
			f.CreatedFrom = &d
		}
	}
	if s := q.Get("created_to"); s != "" {
		if d, err := parseDay(s, loc); err != nil {
			v.Add("created_to", "use a date like 2026-01-31")
		} else {
			end := d.AddDate(0, 0, 1) // the whole "to" day is included
			f.CreatedTo = &end
		}
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			v.Add("limit", "give a number from 1 to 500")
		}
		f.Limit = n
	}
	return f, v.OrNil()
}

// APIOrders lists orders: staff see the tenant's orders with filters, a customer
// sees only their own. GET /api/orders/.
func (a *App) APIOrders(c echo.Context) error {
	// Who asks first: a stranger is told to sign in, whatever the parameters.
	who, err := a.apiCaller(c)
	if err != nil {
		return err
	}
	f, err := orderFilterFromQuery(c, c.QueryParams())
	if err != nil {
		return err
	}
	if who.customer != nil {
		v := &model.ValidationError{}
		for _, k := range staffOrderFilterParams {
			if c.QueryParams().Has(k) {
				v.Add(k, "only the shop's staff search by its purchases")
			}
		}
		if err := v.OrNil(); err != nil {
			return err
		}
		f.CustomerID = who.customer.ID
	}
	ctx := c.Request().Context()
	page, err := a.store.FindOrders(ctx, tenant(c).ID, f)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(page.Orders))
	if who.staff != nil {
		// Staff see each order's lines with their procurement: one more
		// query for the page, not one per order.
		if err := a.store.LoadOrderLines(ctx, tenant(c).ID, page.Orders); err != nil {
			return err
		}
		for _, o := range page.Orders {
			out = append(out, staffOrderJSON(o, tenant(c).Language, false))
		}
	} else {
		for _, o := range page.Orders {
			out = append(out, orderJSON(o, tenant(c).Language, false))
		}
	}
	return ok(c, http.StatusOK, "", map[string]any{"orders": out, "next": nullString(page.Next)})
}

// apiCaller is who calls the order API: a staff user or a customer.
type apiCaller struct {
	staff    *model.User
	customer *model.Customer
}

// apiCaller finds the signed-in staff user (who wins) or customer; neither is 401.
func (a *App) apiCaller(c echo.Context) (apiCaller, error) {
	u, err := a.loadUser(c)
	if err != nil {
		return apiCaller{}, err
	}
	if u != nil {
		c.Set(ctxUser, u)
		return apiCaller{staff: u}, nil
	}
	cu, err := a.currentCustomer(c)
	if err != nil {
		return apiCaller{}, err
	}
	if cu == nil {
		return apiCaller{}, echo.NewHTTPError(http.StatusUnauthorized, "Sign in first.")
	}
	return apiCaller{customer: cu}, nil
}

// APIOrder shows one order: GET /api/orders/{id}/. A customer asking for an
// order that is not theirs gets 404, as if it did not exist.
func (a *App) APIOrder(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	who, err := a.apiCaller(c)
	if err != nil {
		return err
	}
	var o *model.Order
	if who.customer != nil {
		o, err = a.store.FindCustomerOrder(c.Request().Context(), tenant(c).ID, who.customer.ID, id)
		if err != nil {
			return err
		}
		return ok(c, http.StatusOK, "", map[string]any{"order": orderJSON(o, tenant(c).Language, true)})
	}
	o, err = a.store.FindOrderByID(c.Request().Context(), tenant(c).ID, id)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, "", map[string]any{"order": staffOrderJSON(o, tenant(c).Language, true)})
}

// APIOrderUpdate changes an order's status (staff only): PATCH /api/orders/{id}/
// {status, tracking_number, tracking_carrier, note}. A forbidden change is 409.
func (a *App) APIOrderUpdate(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	var req struct {
		Status          string `json:"status"`
		TrackingNumber  string `json:"tracking_number"`
		TrackingCarrier string `json:"tracking_carrier"`
		Note            string `json:"note"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	if req.Status == "" {
		return &model.ValidationError{Fields: map[string]string{"status": "give the new status"}}
	}
	o, err := a.store.TransitionOrder(c.Request().Context(), tenant(c), id, model.OrderStatus(req.Status), model.StaffActor(currentUser(c)),
		model.TransitionInput{TrackingNumber: req.TrackingNumber, TrackingCarrier: req.TrackingCarrier, Note: req.Note})
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, apiMsg(c, "api.order.status_now", map[string]any{"Status": o.Status.Label(shopLang(c))}), map[string]any{"order": staffOrderJSON(o, tenant(c).Language, true)})
}

// APITrack is the public tracking of an order by its number:
// GET /api/orders/track/{order_number}/. Nothing personal is shown.
func (a *App) APITrack(c echo.Context) error {
	o, story, err := a.store.TrackOrder(c.Request().Context(), tenant(c).ID, c.Param("number"))
	if errors.Is(err, model.ErrNotFound) {
		return echo.NewHTTPError(http.StatusNotFound, "No order with this number.")
	}
	if err != nil {
		return err
	}
	out := trackingJSON(o, tenant(c).Language)
	out["story"] = storyJSON(story)
	return ok(c, http.StatusOK, "", map[string]any{"order": out})
}
