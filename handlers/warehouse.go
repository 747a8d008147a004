package handlers

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

// WarehouseIndex is the warehouse's scan page: GET /admin/warehouse.
func (a *App) WarehouseIndex(c echo.Context) error {
	p := a.page(c, pageT(c, "admin.warehouse.title"), views.SectionWarehouse)
	return a.render(c, http.StatusOK, p, views.Warehouse(p, views.WarehouseView{Loc: tenant(c).Location()}))
}

// WarehouseScan marks the lines of a scanned parcel arrived: POST
// /admin/warehouse/scan with the supplier's track number or a purchase id in
// code. htmx gets the scan part back (the field empty and focused for the
// next parcel), a plain form the whole page; an unknown number says so, and
// a parcel scanned again says it arrived already and changes nothing.
func (a *App) WarehouseScan(c echo.Context) error {
	t := tenant(c)
	v := views.WarehouseView{Loc: t.Location()}
	status := http.StatusOK
	scan, err := a.store.ScanArrival(c.Request().Context(), t, c.FormValue("code"), model.StaffActor(currentUser(c)))
	var ve *model.ValidationError
	switch {
	case errors.As(err, &ve):
		v.Code, v.Errors = c.FormValue("code"), ve.Fields
		if !isFragment(c) {
			status = statusInvalid
		}
	case err != nil:
		return err
	default:
		v.Scan = scan
	}
	p := a.page(c, pageT(c, "admin.warehouse.title"), views.SectionWarehouse)
	return a.renderParts(c, status, p, views.Warehouse(p, v), views.WarehouseScanPart(p, v))
}
