package handlers

import (
	"github.com/labstack/echo/v4"

	"orderdesk/views"
)

// stub answers storefront pages that are not written yet.
func (a *App) stub(c echo.Context) error {
	return a.comingSoon(views.SectionDashboard, "Shop", "The storefront is being built.")(c)
}

func (a *App) TrackForm(c echo.Context) error          { return a.stub(c) }
func (a *App) TrackPage(c echo.Context) error          { return a.stub(c) }
func (a *App) ShopIndex(c echo.Context) error          { return a.stub(c) }
func (a *App) ShopCartAdd(c echo.Context) error        { return a.stub(c) }
func (a *App) ShopCart(c echo.Context) error           { return a.stub(c) }
func (a *App) ShopCartUpdate(c echo.Context) error     { return a.stub(c) }
func (a *App) ShopCartCoupon(c echo.Context) error     { return a.stub(c) }
func (a *App) ShopCartBonus(c echo.Context) error      { return a.stub(c) }
func (a *App) ShopCheckout(c echo.Context) error       { return a.stub(c) }
func (a *App) ShopCheckoutSubmit(c echo.Context) error { return a.stub(c) }
func (a *App) ShopOrders(c echo.Context) error         { return a.stub(c) }
func (a *App) ShopOrder(c echo.Context) error          { return a.stub(c) }
func (a *App) ShopLoginPage(c echo.Context) error      { return a.stub(c) }
func (a *App) ShopLogin(c echo.Context) error          { return a.stub(c) }
func (a *App) ShopRegisterPage(c echo.Context) error   { return a.stub(c) }
func (a *App) ShopRegister(c echo.Context) error       { return a.stub(c) }
func (a *App) ShopLogout(c echo.Context) error         { return a.stub(c) }
