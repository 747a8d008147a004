package handlers

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/services/payments"
	"orderdesk/views"
)

// The small HTML storefront: the catalogue, the cart (promo code and bonus
// swapped in place by htmx), the checkout, the customer's orders, sign-in and
// registration. It keeps the same shopping state as the JSON API (shopper.go)
// and calls the same model functions, so both flows price and order alike.

// shopOrdersPageSize is how many orders "My orders" shows per page.
const shopOrdersPageSize = 20

// shopFrame builds the layout data and the shop header of a storefront page.
// view is the shopper's priced cart when the handler has it; otherwise the header
// counts the cart's units itself.
func (a *App) shopFrame(c echo.Context, title, current string, customer *model.Customer, view *model.CartView) (views.Page, views.ShopHeader, error) {
	p := a.page(c, title, "")
	p.User = nil // the storefront never shows the staff bar
	h := views.ShopHeader{Shop: tenant(c).Name, CSRF: p.CSRF, Current: current}
	if customer != nil {
		h.Customer = customer.Email
	}
	if view != nil {
		h.CartCount = view.ItemCount()
		return p, h, nil
	}
	_, st := a.loadShop(c)
	if st.CartID != "" {
		// Read only: a look at the header must not create a cart.
		v, err := a.store.PriceCart(c.Request().Context(), tenant(c), st.CartID, nil, model.CartPricing{})
		if err != nil {
			return p, h, err
		}
		h.CartCount = v.ItemCount()
	}
	return p, h, nil
}

// shopNotFound answers 404 inside the storefront's frame. Everything that is not
// the shopper's (another customer's order, an unknown id) gets this same page.
func (a *App) shopNotFound(c echo.Context, customer *model.Customer, msg string) error {
	p, h, err := a.shopFrame(c, shopMsg(c, "common.error.title_404"), "", customer, nil)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusNotFound, p, views.ShopNotFound(h, msg))
}

// shopTotals is the totals box of a priced cart with the shopper's state.
func shopTotals(id string, view *model.CartView, st *shopState, customer *model.Customer) views.ShopTotals {
	return views.ShopTotals{
		ID: id, Cart: view, PromoCode: st.PromoCode, PromoActive: st.IsActive, Message: st.Message,
		SignedIn: customer != nil, UseBonus: st.UseBonus && customer != nil,
	}
}

// shopLoginURL is the sign-in page that comes back to next afterwards.
func shopLoginURL(next string) string {
	// Slashes may stay as they are in a query: /shop/login?next=/shop/orders reads well.
	return "/shop/login?next=" + strings.ReplaceAll(url.QueryEscape(next), "%2F", "/")
}

// safeShopNext keeps the after-sign-in address on this site's storefront, so the
// sign-in form cannot send people elsewhere.
func safeShopNext(next string) string {
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || strings.ContainsAny(next, "\\\r\n\t") ||
		strings.Contains(next, "..") || (u.Path != "/shop" && !strings.HasPrefix(u.Path, "/shop/")) ||
		!strings.HasPrefix(next, "/shop") {
		return "/shop"
	}
	return next
}

// ShopIndex lists the tenant's products with an add-to-cart form each: GET /shop.
func (a *App) ShopIndex(c echo.Context) error {
	return a.renderShopProducts(c, http.StatusOK, "")
}

func (a *App) renderShopProducts(c echo.Context, status int, alert string) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	products, err := a.store.FindShelf(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	p, h, err := a.shopFrame(c, shopMsg(c, "shop.products.title"), "products", customer, nil)
	if err != nil {
		return err
	}
	return a.render(c, status, p, views.ShopProducts(h, tenant(c), products, alert))
}

// ShopCartAdd adds a product to the cart: POST /shop/cart/add {product_id,
// quantity}, then 303 to the cart.
func (a *App) ShopCartAdd(c echo.Context) error {
	productID, err := strconv.ParseInt(c.FormValue("product_id"), 10, 64)
	if err != nil {
		return a.renderShopProducts(c, statusInvalid, shopMsg(c, "shop.msg.choose_product"))
	}
	qty := 1
	if s := strings.TrimSpace(c.FormValue("quantity")); s != "" {
		if qty, err = strconv.Atoi(s); err != nil {
			return a.renderShopProducts(c, statusInvalid, shopMsg(c, "shop.msg.quantity_add"))
		}
	}
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	err = a.store.AddToCart(c.Request().Context(), tenant(c).ID, st.CartID, productID, qty)
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		// The new cart id is kept even when nothing was added.
		if serr := a.saveShop(c, sess, st); serr != nil {
			return serr
		}
		return a.renderShopProducts(c, statusInvalid, shopMsg(c, "shop.msg.not_added", map[string]any{"Why": ve.Error()}))
	}
	if err != nil {
		return err
	}
	if _, err := a.priceShopCart(c, customer, st, 0); err != nil {
		return err
	}
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	return a.redirect(c, "/shop/cart")
}

// ShopCart shows the cart: GET /shop/cart.
func (a *App) ShopCart(c echo.Context) error {
	return a.renderShopCart(c, http.StatusOK, views.ShopCartPage{})
}

// renderShopCart renders the cart page; page carries the notice, or a refused
// promo code with its error, and the rest is filled in here.
func (a *App) renderShopCart(c echo.Context, status int, page views.ShopCartPage) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	_, st := a.loadShop(c)
	view := &model.CartView{Currency: tenant(c).Currency}
	if st.CartID != "" {
		// A shopper without a cart sees an empty one; a cart is created only when
		// something is put in it.
		var sess *sessions.Session
		if sess, st, err = a.cart(c, customer); err != nil {
			return err
		}
		if view, err = a.priceShopCart(c, customer, st, 0); err != nil {
			return err
		}
		if err := a.saveShop(c, sess, st); err != nil {
			return err
		}
	}
	p, h, err := a.shopFrame(c, shopMsg(c, "shop.nav.cart"), "cart", customer, view)
	if err != nil {
		return err
	}
	page.Totals, page.CSRF = shopTotals(views.ShopCartTotalsID, view, st, customer), p.CSRF
	return a.render(c, status, p, views.ShopCart(h, page))
}

// ShopCartUpdate sets a line's quantity (0 removes it): POST /shop/cart/update
// {product_id, quantity}, then 303 to the cart.
func (a *App) ShopCartUpdate(c echo.Context) error {
	productID, err1 := strconv.ParseInt(c.FormValue("product_id"), 10, 64)
	qty, err2 := strconv.Atoi(strings.TrimSpace(c.FormValue("quantity")))
	if err1 != nil || err2 != nil || qty < 0 || qty > 1000 {
		return a.renderShopCart(c, statusInvalid, views.ShopCartPage{Notice: shopMsg(c, "shop.msg.quantity_update")})
	}
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	if err := a.store.SetCartQuantity(c.Request().Context(), tenant(c).ID, st.CartID, productID, qty); err != nil {
		return err
	}
	if _, err := a.priceShopCart(c, customer, st, 0); err != nil {
		return err
	}
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	return a.redirect(c, "/shop/cart")
}

// ShopCartCoupon applies a promo code, or removes it when empty: POST
// /shop/cart/coupon {coupon_code}. htmx gets the totals box back; a plain form
// goes back to the cart.
func (a *App) ShopCartCoupon(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	typed := strings.ToUpper(strings.TrimSpace(c.FormValue("coupon_code")))
	if err := model.CheckPromoCode(typed); err != nil {
		// Too long to be a code: it does not go into the cookie, and the code
		// applied before stays.
		var ve *model.ValidationError
		if !errors.As(err, &ve) {
			return err
		}
		return a.refuseCouponCode(c, customer, st, typed, ve.Fields["coupon_code"])
	}
	// A refused code stays in the state (isActive false) so the shopper sees what
	// they typed and why it does not apply, as the API does.
	st.PromoCode = typed
	return a.answerCartTotals(c, customer, sess, st)
}

// refuseCouponCode answers a promo code that is bad input: htmx gets the totals
// box (as it was) with the reason, a plain form the cart page (422) with what
// was typed and the reason beside the field.
func (a *App) refuseCouponCode(c echo.Context, customer *model.Customer, st *shopState, typed, msg string) error {
	c.Response().Header().Add("Vary", "HX-Request")
	if !isFragment(c) {
		return a.renderShopCart(c, statusInvalid, views.ShopCartPage{
			CouponCode: typed, Errors: views.FormErrors{"coupon_code": msg},
		})
	}
	view, err := a.priceShopCart(c, customer, st, 0)
	if err != nil {
		return err
	}
	totals := shopTotals(views.ShopCartTotalsID, view, st, customer)
	totals.PromoActive, totals.Message = false, shopMsg(c, "shop.msg.promo_refused", map[string]any{"Why": msg})
	return a.renderComponent(c, http.StatusOK, views.ShopTotalsBox(totals))
}

// ShopCartBonus turns paying with bonus points on or off: POST /shop/cart/bonus
// {use_bonus=1}. Only a signed-in customer has points.
func (a *App) ShopCartBonus(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	st.UseBonus = customer != nil && c.FormValue("use_bonus") == "1"
	return a.answerCartTotals(c, customer, sess, st)
}

// answerCartTotals prices the cart, saves seed 004's state, and answers htmx with
// the totals box (200, since htmx 2 swaps no error answer) and a browser without
// JavaScript with a 303 back to the cart.
func (a *App) answerCartTotals(c echo.Context, customer *model.Customer, sess *sessions.Session, st *shopState) error {
	view, err := a.priceShopCart(c, customer, st, 0)
	if err != nil {
		return err
	}
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	c.Response().Header().Add("Vary", "HX-Request")
	if isFragment(c) {
		return a.renderComponent(c, http.StatusOK, views.ShopTotalsBox(shopTotals(views.ShopCartTotalsID, view, st, customer)))
	}
	return c.Redirect(http.StatusSeeOther, "/shop/cart")
}

// ShopCheckout shows the checkout form: GET /shop/checkout. With htmx and a
// shipping_method_id (a radio button changed) it answers the summary's totals
// box with that shipping included.
func (a *App) ShopCheckout(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	if _, st := a.loadShop(c); st.CartID == "" {
		return a.redirect(c, "/shop/cart")
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	methods, err := a.store.FindShippingMethods(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	shippingID, _ := strconv.ParseInt(c.QueryParam("shipping_method_id"), 10, 64)
	shippingID = knownShipping(methods, shippingID)
	view, err := a.priceShopCart(c, customer, st, shippingID)
	if err != nil {
		return err
	}
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	if isFragment(c) {
		c.Response().Header().Add("Vary", "HX-Request")
		return a.renderComponent(c, http.StatusOK, views.ShopTotalsBox(checkoutTotals(view, st, customer, shippingID)))
	}
	if len(view.Lines) == 0 {
		return a.redirect(c, "/shop/cart")
	}
	form := views.ShopCheckoutForm{ShippingMethodID: shippingID}
	if form.Address, err = a.checkoutPrefill(c, customer); err != nil {
		return err
	}
	return a.renderCheckout(c, http.StatusOK, customer, st, view, methods, form)
}

// knownShipping is id when it is one of the offered methods, else 0.
func knownShipping(methods []*model.ShippingMethod, id int64) int64 {
	for _, m := range methods {
		if m.ID == id {
			return id
		}
	}
	return 0
}

func checkoutTotals(view *model.CartView, st *shopState, customer *model.Customer, shippingID int64) views.ShopTotals {
	t := shopTotals(views.ShopCheckoutTotalsID, view, st, customer)
	t.WithShipping, t.ShippingChosen = true, shippingID != 0
	return t
}

// checkoutPrefill is a signed-in customer's address: their account's name, e-mail
// and telephone, and the street of their last order.
func (a *App) checkoutPrefill(c echo.Context, customer *model.Customer) (model.Address, error) {
	var addr model.Address
	if customer == nil {
		return addr, nil
	}
	page, err := a.store.FindOrders(c.Request().Context(), tenant(c).ID, model.OrderFilter{CustomerID: customer.ID, Limit: 1})
	if err != nil {
		return addr, err
	}
	if len(page.Orders) > 0 {
		addr = page.Orders[0].Address
	}
	addr.Email = customer.Email
	if customer.FirstName != "" {
		addr.FirstName = customer.FirstName
	}
	if customer.LastName != "" {
		addr.LastName = customer.LastName
	}
	if customer.Phone != "" {
		addr.Telephone = customer.Phone
	}
	return addr, nil
}

func (a *App) renderCheckout(c echo.Context, status int, customer *model.Customer, st *shopState, view *model.CartView,
	methods []*model.ShippingMethod, form views.ShopCheckoutForm) error {
	p, h, err := a.shopFrame(c, shopMsg(c, "shop.checkout.title"), "cart", customer, view)
	if err != nil {
		return err
	}
	payments, err := a.shopPaymentOptions(c)
	if err != nil {
		return err
	}
	return a.render(c, status, p, views.ShopCheckout(h, views.ShopCheckoutPage{
		Tenant: tenant(c), Form: form, Methods: methods, CSRF: p.CSRF, Payments: payments, HomeCountry: shopCountry(tenant(c)),
		Totals: checkoutTotals(view, st, customer, form.ShippingMethodID),
	}))
}

// ShopCheckoutSubmit places the order: POST /shop/checkout. A form with errors
// comes back (422) with every typed value and the message beside each field; a
// product out of stock is an alert at the top (409).
func (a *App) ShopCheckoutSubmit(c echo.Context) error {
	ctx := c.Request().Context()
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	if _, st := a.loadShop(c); st.CartID == "" {
		return a.redirect(c, "/shop/cart")
	}
	sess, st, err := a.cart(c, customer)
	if err != nil {
		return err
	}
	methods, err := a.store.FindShippingMethods(ctx, tenant(c).ID)
	if err != nil {
		return err
	}
	form := views.ShopCheckoutForm{Address: model.Address{
		FirstName: c.FormValue("first_name"), LastName: c.FormValue("last_name"), Email: c.FormValue("email"),
		Telephone: c.FormValue("telephone"), Street1: c.FormValue("street1"), Street2: c.FormValue("street2"),
		City: c.FormValue("city"), State: c.FormValue("state"), Zip: c.FormValue("zip"), Country: c.FormValue("country"),
	}}
	form.ShippingMethodID, _ = strconv.ParseInt(c.FormValue("shipping_method_id"), 10, 64)
	form.PaymentProvider = c.FormValue("payment_provider")
	view, err := a.priceShopCart(c, customer, st, knownShipping(methods, form.ShippingMethodID))
	if err != nil {
		return err
	}
	if len(view.Lines) == 0 {
		if err := a.saveShop(c, sess, st); err != nil {
			return err
		}
		return a.redirect(c, "/shop/cart")
	}
	// A code that does not apply (refused in the cart already, or since, say for
	// this e-mail) never stops the order: it goes without the discount, and the
	// order's page says why.
	o, err := a.store.PlaceOrder(ctx, tenant(c), model.PlaceOrderInput{
		CartID: st.CartID, Customer: customer, Address: form.Address, ShippingMethodID: form.ShippingMethodID,
		Pricing: model.CartPricing{PromoCode: st.PromoCode, UseBonus: st.UseBonus},
	})
	var ve *model.ValidationError
	switch {
	case errors.As(err, &ve):
		form.Errors = views.FormErrors{}
		for field, msg := range ve.Fields {
			switch field {
			case "cart_id":
				form.Alert = shopMsg(c, "shop.cart.empty")
			case "coupon_code":
				form.Alert = shopMsg(c, "shop.msg.promo_not_for_order", map[string]any{"Why": msg})
			default:
				form.Errors[field] = msg
			}
		}
		if err := a.saveShop(c, sess, st); err != nil {
			return err
		}
		return a.renderCheckout(c, statusInvalid, customer, st, view, methods, form)
	case errors.Is(err, model.ErrConflict):
		form.Alert = err.Error() + " " + shopMsg(c, "shop.msg.change_quantity")
		if err := a.saveShop(c, sess, st); err != nil {
			return err
		}
		return a.renderCheckout(c, http.StatusConflict, customer, st, view, methods, form)
	case err != nil:
		return err
	}
	a.rememberPlacedOrder(c, o.ID)
	// The promo code is used up by this order (or was refused for it); a guest's
	// cart stays until paid.
	st.PromoCode, st.IsActive, st.Message, st.UseBonus, st.Bonus = "", false, "", false, 0
	if err := a.saveShop(c, sess, st); err != nil {
		return err
	}
	if o.CouponNotApplied != "" {
		// Shown once, on the order's page, wherever the shopper lands on it.
		a.sessions.Put(ctx, orderNoticeKey(o.Number), o.CouponNotApplied)
	}
	if form.PaymentProvider != "" {
		// On to the provider's payment page; a payment that cannot start shows
		// its reason on the return page, and the order waits to be paid.
		p, err := a.pay.Start(ctx, tenant(c), payments.StartInput{OrderID: o.ID, Provider: model.ProviderType(form.PaymentProvider), ClientIP: clientIP(c)})
		if err == nil {
			return a.redirect(c, p.PaymentURL)
		}
		if p == nil {
			list, ferr := a.store.FindPayments(ctx, tenant(c).ID, model.PaymentFilter{OrderID: o.ID, Limit: 1})
			if ferr != nil {
				a.log.Error("find the payment of an order whose payment did not start", "order", o.Number, "err", ferr)
			} else if len(list) > 0 {
				p = list[0]
			}
		}
		if p != nil {
			return a.redirect(c, "/pay/return/"+p.Number)
		}
		a.log.Warn("payment could not start", "order", o.Number, "err", err)
	}
	if customer != nil {
		return a.redirect(c, "/shop/orders/"+strconv.FormatInt(o.ID, 10))
	}
	return a.redirect(c, "/track/"+url.PathEscape(o.Number)+"?placed=1")
}

// ShopOrders lists the signed-in customer's orders, newest first, a page at a
// time: GET /shop/orders[?after=cursor].
func (a *App) ShopOrders(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	if customer == nil {
		return a.redirect(c, shopLoginURL("/shop/orders"))
	}
	page, err := a.store.FindOrders(c.Request().Context(), tenant(c).ID, model.OrderFilter{
		CustomerID: customer.ID, After: c.QueryParam("after"), Limit: shopOrdersPageSize,
	})
	if err != nil {
		return err
	}
	v := views.ShopOrdersPage{Tenant: tenant(c), Orders: page.Orders, PayDue: map[int64]bool{}}
	for _, o := range page.Orders {
		if !o.PaymentDue() {
			continue
		}
		// Due unless a payment of it is open right now (being paid, or
		// waiting at the provider).
		open, err := a.store.FindPayments(c.Request().Context(), tenant(c).ID, model.PaymentFilter{OrderID: o.ID, Open: true, Limit: 1})
		if err != nil {
			return err
		}
		v.PayDue[o.ID] = len(open) == 0
	}
	if page.Next != "" {
		v.NextURL = "/shop/orders?after=" + url.QueryEscape(page.Next)
	}
	p, h, err := a.shopFrame(c, shopMsg(c, "shop.orders.title"), "orders", customer, nil)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, p, views.ShopOrders(h, v))
}

// ShopOrder shows one of the customer's orders: GET /shop/orders/{id}. Another
// customer's order is the same 404 as one that does not exist.
func (a *App) ShopOrder(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	if customer == nil {
		return a.redirect(c, shopLoginURL("/shop/orders/"+url.PathEscape(c.Param("id"))))
	}
	missing := shopMsg(c, "shop.msg.no_such_order")
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return a.shopNotFound(c, customer, missing)
	}
	o, err := a.store.FindCustomerOrder(c.Request().Context(), tenant(c).ID, customer.ID, id)
	if errors.Is(err, model.ErrNotFound) {
		return a.shopNotFound(c, customer, missing)
	}
	if err != nil {
		return err
	}
	p, h, err := a.shopFrame(c, shopMsg(c, "shop.order.title", map[string]any{"Number": o.Number}), "orders", customer, nil)
	if err != nil {
		return err
	}
	notice := a.sessions.PopString(c.Request().Context(), orderNoticeKey(o.Number))
	offer, err := a.payOffer(c, o, p.CSRF)
	if err != nil {
		return err
	}
	return a.render(c, http.StatusOK, p, views.ShopOrder(h, tenant(c), o, notice, offer))
}

// orderNoticeKey is the session key of what the shopper must hear about an order
// they just placed (a promo code that was not applied): a one-time notice for
// the order's page.
func orderNoticeKey(number string) string { return "order_notice:" + number }

// ShopLoginPage shows the customer sign-in form: GET /shop/login[?next=/shop/…].
func (a *App) ShopLoginPage(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	if customer != nil {
		return a.redirect(c, safeShopNext(c.QueryParam("next")))
	}
	return a.renderShopAuth(c, http.StatusOK, "login", views.ShopAuthForm{Next: c.QueryParam("next")})
}

func (a *App) renderShopAuth(c echo.Context, status int, which string, form views.ShopAuthForm) error {
	title, comp := shopMsg(c, "shop.nav.sign_in"), views.ShopLogin
	if which == "register" {
		title, comp = shopMsg(c, "shop.auth.create"), views.ShopRegister
	}
	p, h, err := a.shopFrame(c, title, which, nil, nil)
	if err != nil {
		return err
	}
	return a.render(c, status, p, comp(h, form))
}

// shopThrottled fills the form's message for a throttled attempt and reports
// whether err was one.
func shopThrottled(c echo.Context, err error, form *views.ShopAuthForm) bool {
	var te *model.ThrottledError
	if !errors.As(err, &te) {
		return false
	}
	c.Response().Header().Set("Retry-After", itoa(te.RetryAfterSeconds))
	form.Errors = views.FormErrors{"": shopMsg(c, "shop.msg.throttled", map[string]any{"Wait": te.RetryIn()})}
	return true
}

// ShopLogin signs a customer in: POST /shop/login {email, password, next}. The
// guest cart becomes theirs.
func (a *App) ShopLogin(c echo.Context) error {
	form := views.ShopAuthForm{Email: strings.TrimSpace(c.FormValue("email")), Next: c.FormValue("next")}
	password := c.FormValue("password")
	v := views.FormErrors{}
	if form.Email == "" {
		v["email"] = shopMsg(c, "shop.msg.enter_email")
	}
	if password == "" {
		v["password"] = shopMsg(c, "shop.msg.enter_password")
	}
	if len(v) > 0 {
		form.Errors = v
		return a.renderShopAuth(c, statusInvalid, "login", form)
	}
	cu, err := a.store.AuthenticateCustomer(c.Request().Context(), tenant(c).ID, form.Email, password, clientIP(c))
	switch {
	case shopThrottled(c, err, &form):
		return a.renderShopAuth(c, http.StatusTooManyRequests, "login", form)
	case errors.Is(err, model.ErrInvalidCredentials):
		form.Errors = views.FormErrors{"": shopMsg(c, "shop.msg.bad_credentials")}
		return a.renderShopAuth(c, http.StatusUnauthorized, "login", form)
	case err != nil:
		return err
	}
	if err := a.signInCustomer(c, cu); err != nil {
		return err
	}
	return a.redirect(c, safeShopNext(form.Next))
}

// ShopRegisterPage shows the registration form: GET /shop/register.
func (a *App) ShopRegisterPage(c echo.Context) error {
	customer, err := a.currentCustomer(c)
	if err != nil {
		return err
	}
	if customer != nil {
		return a.redirect(c, safeShopNext(c.QueryParam("next")))
	}
	return a.renderShopAuth(c, http.StatusOK, "register", views.ShopAuthForm{Next: c.QueryParam("next")})
}

// ShopRegister creates a customer account and signs in: POST /shop/register.
func (a *App) ShopRegister(c echo.Context) error {
	form := views.ShopAuthForm{
		Email: strings.TrimSpace(c.FormValue("email")), FirstName: c.FormValue("first_name"),
		LastName: c.FormValue("last_name"), Phone: c.FormValue("phone"), Next: c.FormValue("next"),
	}
	cu, err := a.store.RegisterCustomer(c.Request().Context(), tenant(c).ID, model.NewCustomer{
		Email: form.Email, Password: c.FormValue("password"), FirstName: form.FirstName, LastName: form.LastName, Phone: form.Phone,
	})
	var ve *model.ValidationError
	switch {
	case errors.As(err, &ve):
		form.Errors = ve.Fields
		return a.renderShopAuth(c, statusInvalid, "register", form)
	case shopThrottled(c, err, &form):
		return a.renderShopAuth(c, http.StatusTooManyRequests, "register", form)
	case err != nil:
		return err
	}
	if err := a.signInCustomer(c, cu); err != nil {
		return err
	}
	return a.redirect(c, safeShopNext(form.Next))
}

// ShopLogout signs the customer out: POST /shop/logout.
func (a *App) ShopLogout(c echo.Context) error {
	if err := a.signOutCustomer(c); err != nil {
		return err
	}
	return a.redirect(c, "/shop")
}
