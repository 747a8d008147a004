package handlers

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

// UsersIndex lists the tenant's staff with the form to add one.
func (a *App) UsersIndex(c echo.Context) error {
	return a.renderUsers(c, http.StatusOK, views.UserForm{Role: string(model.RoleStaff)}, views.UserRowError{})
}

func (a *App) renderUsers(c echo.Context, status int, form views.UserForm, rowErr views.UserRowError) error {
	users, err := a.store.FindUsers(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	p := a.page(c, pageT(c, "admin.users.title"), views.SectionSettings)
	return a.render(c, status, p, views.Users(p, users, form, rowErr))
}

// UserCreate adds a staff user; errors come back beside the fields with what was
// typed (but never the password).
func (a *App) UserCreate(c echo.Context) error {
	form := views.UserForm{Email: c.FormValue("email"), Name: c.FormValue("name"), Role: c.FormValue("role")}
	role := model.Role(form.Role)
	if !currentUser(c).Role.CanGrant(role) && role.Valid() {
		form.Errors = views.FormErrors{"role": "only an owner can make an owner"}
		return a.renderUsers(c, statusInvalid, form, views.UserRowError{})
	}
	_, err := a.store.CreateUser(c.Request().Context(), tenant(c).ID, model.NewUser{
		Email: form.Email, Name: form.Name, Role: role, Password: c.FormValue("password"),
	})
	var ve *model.ValidationError
	if errors.As(err, &ve) {
		form.Errors = ve.Fields
		return a.renderUsers(c, statusInvalid, form, views.UserRowError{})
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/admin/settings/users")
}

// UserUpdate changes a user's role and active flag. htmx gets the user's row back;
// a plain form goes back to the list.
func (a *App) UserUpdate(c echo.Context) error {
	ctx := c.Request().Context()
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.ErrNotFound
	}
	u, err := a.store.UpdateUser(ctx, tenant(c).ID, currentUser(c), id, model.Role(c.FormValue("role")), c.FormValue("active") == "1")
	var ce *model.ConflictError
	var ve *model.ValidationError
	if errors.As(err, &ce) || errors.As(err, &ve) {
		msg := err.Error()
		if isFragment(c) {
			// htmx swaps only 2xx answers: the row comes back as it was, with the reason.
			old, ferr := a.store.FindUserByID(ctx, tenant(c).ID, id)
			if ferr != nil {
				return ferr
			}
			return a.renderComponent(c, http.StatusOK, views.UserRow(a.page(c, "", ""), old, msg))
		}
		return a.renderUsers(c, http.StatusConflict, views.UserForm{Role: string(model.RoleStaff)}, views.UserRowError{UserID: id, Message: msg})
	}
	if err != nil {
		return err
	}
	if isFragment(c) {
		return a.renderComponent(c, http.StatusOK, views.UserRow(a.page(c, "", ""), u, ""))
	}
	return a.redirect(c, "/admin/settings/users")
}
