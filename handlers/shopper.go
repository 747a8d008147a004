package handlers

import (
	"errors"
	"net/http"

	"github.com/gorilla/sessions"
	"github.com/labstack/echo/v4"

	"orderdesk/model"
)

// shopCookie is the anonymous shopping state: signed and encrypted in a cookie
// (gorilla/sessions), so a guest needs no server-side session to shop.
const shopCookie = "orderdesk_shop"

// Session keys of the shopper's server-side (scs) session.
const sessCustomerID = "customer_id"

// shopState is the shopper's cart id and promo/bonus state, in seed 004's words.
type shopState struct {
	CartID    string
	PromoCode string // promocode
	IsActive  bool   // isActive: the promo code applies
	Message   string // message: what the promo code did
	UseBonus  bool   // useBonus
	Bonus     int64  // bonus: points used, in minor units
}

func newCookieStore(keys *model.Keyring, secure bool) *sessions.CookieStore {
	// A hash key signs the cookie, a block key encrypts it (AES-256).
	cs := sessions.NewCookieStore(keys.Derive("shop-cookie/hash", 64), keys.Derive("shop-cookie/block", 32))
	cs.Options = &sessions.Options{Path: "/", MaxAge: 30 * 24 * 3600, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode}
	return cs
}

// loadShop reads the shopping state; a damaged or foreign cookie is a fresh start.
func (a *App) loadShop(c echo.Context) (*sessions.Session, *shopState) {
	sess, _ := a.shopCookies.Get(c.Request(), shopCookie)
	st := &shopState{}
	st.CartID, _ = sess.Values["cart_id"].(string)
	st.PromoCode, _ = sess.Values["promocode"].(string)
	st.IsActive, _ = sess.Values["isActive"].(bool)
	st.Message, _ = sess.Values["message"].(string)
	st.UseBonus, _ = sess.Values["useBonus"].(bool)
	st.Bonus, _ = sess.Values["bonus"].(int64)
	return sess, st
}

// saveShop writes the shopping state back into its cookie.
func (a *App) saveShop(c echo.Context, sess *sessions.Session, st *shopState) error {
	sess.Values["cart_id"] = st.CartID
	sess.Values["promocode"] = st.PromoCode
	sess.Values["isActive"] = st.IsActive
	sess.Values["message"] = st.Message
	sess.Values["useBonus"] = st.UseBonus
	sess.Values["bonus"] = st.Bonus
	return sess.Save(c.Request(), c.Response())
}

// currentCustomer is the signed-in customer of this tenant, or nil.
func (a *App) currentCustomer(c echo.Context) (*model.Customer, error) {
	ctx := c.Request().Context()
	id := a.sessions.GetInt64(ctx, sessCustomerID)
	if id == 0 || a.sessions.GetInt64(ctx, sessTenantID) != tenant(c).ID {
		return nil, nil
	}
	cu, err := a.store.FindCustomerByID(ctx, tenant(c).ID, id)
	if errors.Is(err, model.ErrNotFound) {
		return nil, nil
	}
	return cu, err
}

// cart makes sure the shopper has a cart of this tenant and returns the state.
func (a *App) cart(c echo.Context, customer *model.Customer) (*sessions.Session, *shopState, error) {
	sess, st := a.loadShop(c)
	var cid int64
	if customer != nil {
		cid = customer.ID
	}
	id, err := a.store.EnsureCart(c.Request().Context(), tenant(c).ID, st.CartID, cid)
	if err != nil {
		return nil, nil, err
	}
	st.CartID = id
	return sess, st, nil
}

// priceShopCart prices the shopper's cart with their promo code and bonus choice,
// and records the verdict in the state (isActive, message, bonus).
func (a *App) priceShopCart(c echo.Context, customer *model.Customer, st *shopState, shippingID int64) (*model.CartView, error) {
	view, err := a.store.PriceCart(c.Request().Context(), tenant(c), st.CartID, customer, model.CartPricing{
		PromoCode: st.PromoCode, UseBonus: st.UseBonus, ShippingMethodID: shippingID,
	})
	if err != nil {
		return nil, err
	}
	st.IsActive = view.Coupon != nil
	st.Message = view.CouponMessage
	st.Bonus = view.Totals.Bonus
	return view, nil
}
