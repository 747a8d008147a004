package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
)

func customerJSON(cu *model.Customer) map[string]any {
	return map[string]any{"id": cu.ID, "email": cu.Email, "first_name": cu.FirstName, "last_name": cu.LastName, "phone": cu.Phone}
}

// signInCustomer starts a customer's server-side session (token renewed) and
// hands the shopper's guest cart over to them.
func (a *App) signInCustomer(c echo.Context, cu *model.Customer) error {
	ctx := c.Request().Context()
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.sessions.Put(ctx, sessTenantID, tenant(c).ID)
	a.sessions.Put(ctx, sessCustomerID, cu.ID)
	sess, st, err := a.cart(c, cu)
	if err != nil {
		return err
	}
	return a.saveShop(c, sess, st)
}

// APIRegister creates a customer account and signs in: POST /api/auth/register/.
func (a *App) APIRegister(c echo.Context) error {
	var req struct {
		Email     string `json:"email"`
		Password  string `json:"password"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Phone     string `json:"phone"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	cu, err := a.store.RegisterCustomer(c.Request().Context(), tenant(c).ID, model.NewCustomer{
		Email: req.Email, Password: req.Password, FirstName: req.FirstName, LastName: req.LastName, Phone: req.Phone})
	if err != nil {
		return err
	}
	if err := a.signInCustomer(c, cu); err != nil {
		return err
	}
	return ok(c, http.StatusCreated, apiMsg(c, "api.auth.registered"), map[string]any{"customer": customerJSON(cu)})
}

// APILogin signs a customer in: POST /api/auth/login/ {email, password}.
func (a *App) APILogin(c echo.Context) error {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	cu, err := a.store.AuthenticateCustomer(c.Request().Context(), tenant(c).ID, req.Email, req.Password, clientIP(c))
	if err != nil {
		return err
	}
	if err := a.signInCustomer(c, cu); err != nil {
		return err
	}
	return ok(c, http.StatusOK, apiMsg(c, "api.auth.signed_in"), map[string]any{"customer": customerJSON(cu)})
}

// APILogout ends the customer's session: POST /api/auth/logout/.
func (a *App) APILogout(c echo.Context) error {
	if err := a.signOutCustomer(c); err != nil {
		return err
	}
	return ok(c, http.StatusOK, apiMsg(c, "api.auth.signed_out"), nil)
}

// signOutCustomer ends the customer's session (token renewed) and empties the
// shopping state.
func (a *App) signOutCustomer(c echo.Context) error {
	ctx := c.Request().Context()
	if err := a.sessions.RenewToken(ctx); err != nil {
		return err
	}
	a.sessions.Remove(ctx, sessCustomerID)
	// The cart belonged to the customer; the next visitor of this browser starts
	// a fresh one.
	sess, st := a.loadShop(c)
	*st = shopState{}
	return a.saveShop(c, sess, st)
}

// parseDay reads a date (2006-01-02) as the start of that day in loc.
func parseDay(s string, loc *time.Location) (time.Time, error) {
	return time.ParseInLocation("2006-01-02", s, loc)
}
