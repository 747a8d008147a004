package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
	"orderdesk/views"
)

func canManage(c echo.Context) bool {
	u := currentUser(c)
	return u != nil && u.Role.CanManageUsers()
}

// IntegrationsIndex lists the tenant's integrations.
func (a *App) IntegrationsIndex(c echo.Context) error {
	list, err := a.store.FindIntegrations(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	p := a.page(c, pageT(c, "admin.integrations.title"), views.SectionIntegrations)
	return a.render(c, http.StatusOK, p, views.Integrations(p, list, canManage(c)))
}

// integrationInputFromForm reads the create/edit form. An empty key or secret
// means "keep the stored one".
func integrationInputFromForm(c echo.Context) (model.IntegrationInput, views.IntegrationForm, error) {
	f := views.IntegrationForm{Provider: c.FormValue("provider_type"), Name: c.FormValue("name"), Description: c.FormValue("description"),
		Status: c.FormValue("status"), APIEndpoint: c.FormValue("api_endpoint"), TestEndpoint: c.FormValue("test_endpoint"), Config: c.FormValue("config")}
	provider, status := model.ProviderType(f.Provider), model.IntegrationStatus(f.Status)
	in := model.IntegrationInput{Provider: &provider, Name: &f.Name, Description: &f.Description, Status: &status,
		APIEndpoint: &f.APIEndpoint, TestEndpoint: &f.TestEndpoint}
	if k := c.FormValue("api_key"); k != "" {
		in.APIKey = &k
	}
	if s := c.FormValue("api_secret"); s != "" {
		in.APISecret = &s
	}
	if strings.TrimSpace(f.Config) != "" {
		cfg, err := parseConfig([]byte(f.Config))
		if err != nil {
			return in, f, &model.ValidationError{Fields: map[string]string{"config": err.Error()}}
		}
		in.Config = cfg
	}
	return in, f, nil
}

// parseConfig reads an integration's config: a JSON object whose values are
// kept as text (numbers and booleans are written as they were typed).
func parseConfig(b []byte) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, errors.New("write a JSON object, e.g. {\"return_url\": \"https://…\"}")
	}
	out := map[string]string{}
	for k, v := range raw {
		var s string
		if json.Unmarshal(v, &s) == nil {
			out[k] = s
		} else {
			out[k] = string(v)
		}
	}
	return out, nil
}

// IntegrationNew shows the create form.
func (a *App) IntegrationNew(c echo.Context) error {
	p := a.page(c, pageT(c, "admin.integrations.add"), views.SectionIntegrations)
	return a.render(c, http.StatusOK, p, views.IntegrationEdit(p, views.IntegrationForm{Status: string(model.IntegrationTest), Config: "{}"}))
}

// IntegrationCreate saves a new integration; errors come back by the fields with
// everything typed kept, except the secrets.
func (a *App) IntegrationCreate(c echo.Context) error {
	in, f, err := integrationInputFromForm(c)
	if err == nil {
		_, err = a.integrations.Create(c.Request().Context(), tenant(c).ID, currentUser(c), in)
	}
	if status, fields, ok := formErrors(err); ok {
		f.Errors = fields
		p := a.page(c, pageT(c, "admin.integrations.add"), views.SectionIntegrations)
		return a.render(c, status, p, views.IntegrationEdit(p, f))
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/admin/integrations")
}

func (a *App) integrationParam(c echo.Context) (*model.Integration, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return nil, model.ErrNotFound
	}
	return a.store.FindIntegrationByID(c.Request().Context(), tenant(c).ID, id)
}

// IntegrationEditPage shows the edit form with the recorded changes.
func (a *App) IntegrationEditPage(c echo.Context) error {
	i, err := a.integrationParam(c)
	if err != nil {
		return err
	}
	changes, err := a.store.FindIntegrationChanges(c.Request().Context(), tenant(c).ID, i.ID)
	if err != nil {
		return err
	}
	p := a.page(c, pageT(c, "admin.integrations.edit_title", map[string]any{"Name": i.Name}), views.SectionIntegrations)
	return a.render(c, http.StatusOK, p, views.IntegrationEdit(p, views.FormFromIntegration(i, changes)))
}

// IntegrationUpdate saves the edit form.
func (a *App) IntegrationUpdate(c echo.Context) error {
	i, err := a.integrationParam(c)
	if err != nil {
		return err
	}
	in, f, err := integrationInputFromForm(c)
	in.Provider = nil // the provider of an integration does not change
	if err == nil {
		_, err = a.integrations.Update(c.Request().Context(), tenant(c).ID, currentUser(c), i.ID, in)
	}
	if status, fields, ok := formErrors(err); ok {
		f.ID, f.Provider, f.KeyLast4, f.SecretLast4, f.Errors = i.ID, string(i.Provider), i.APIKeyLast4, i.APISecretLast4, fields
		p := a.page(c, pageT(c, "admin.integrations.edit_title", map[string]any{"Name": i.Name}), views.SectionIntegrations)
		return a.render(c, status, p, views.IntegrationEdit(p, f))
	}
	if err != nil {
		return err
	}
	return a.redirect(c, "/admin/integrations")
}

// IntegrationLiveConfirm asks before changing the mode, naming what changes.
func (a *App) IntegrationLiveConfirm(c echo.Context) error {
	i, err := a.integrationParam(c)
	if err != nil {
		return err
	}
	to := model.IntegrationStatus(c.QueryParam("to"))
	if to != model.IntegrationActive {
		to = model.IntegrationTest
	}
	p := a.page(c, pageT(c, "admin.integrations.title"), views.SectionIntegrations)
	if isFragment(c) {
		return a.renderComponent(c, http.StatusOK, views.IntegrationLiveConfirm(p, i, to, nil))
	}
	return a.render(c, http.StatusOK, p, views.TableWrap(views.IntegrationLiveConfirm(p, i, to, nil)))
}

// formErrors says how an integration form shows err: the field errors of a
// *model.ValidationError (422), or a refusal to go live (409) by the status
// field, in the test's words.
func formErrors(err error) (int, map[string]string, bool) {
	var ve *model.ValidationError
	var ce *model.ConflictError
	switch {
	case errors.As(err, &ve):
		return statusInvalid, ve.Fields, true
	case errors.As(err, &ce):
		return http.StatusConflict, map[string]string{"status": ce.Msg}, true
	}
	return 0, nil, false
}

// IntegrationSetStatus flips an integration between test and live (owners and
// admins), optionally with new production keys, and records who did it. Going
// live runs the test of the live keys first; when it fails the confirmation
// comes back with the test's words and nothing changes.
func (a *App) IntegrationSetStatus(c echo.Context) error {
	i, err := a.integrationParam(c)
	if err != nil {
		return err
	}
	to := model.IntegrationStatus(c.FormValue("status"))
	in := model.IntegrationInput{Status: &to}
	if k := c.FormValue("api_key"); k != "" {
		in.APIKey = &k
	}
	if s := c.FormValue("api_secret"); s != "" {
		in.APISecret = &s
	}
	updated, err := a.integrations.Update(c.Request().Context(), tenant(c).ID, currentUser(c), i.ID, in)
	p := a.page(c, pageT(c, "admin.integrations.title"), views.SectionIntegrations)
	if status, fields, ok := formErrors(err); ok {
		// htmx swaps only 2xx answers: the fragment comes back with 200.
		if isFragment(c) {
			return a.renderComponent(c, http.StatusOK, views.IntegrationLiveConfirm(p, i, to, fields))
		}
		return a.render(c, status, p, views.TableWrap(views.IntegrationLiveConfirm(p, i, to, fields)))
	}
	if err != nil {
		return err
	}
	if !isFragment(c) {
		return a.redirect(c, "/admin/integrations")
	}
	msg := pageT(c, "admin.integrations.now_test")
	if updated.Status == model.IntegrationActive {
		msg = pageT(c, "admin.integrations.now_live", map[string]any{"Endpoint": updated.APIEndpoint})
	}
	return a.renderComponent(c, http.StatusOK, views.IntegrationRow(p, updated, true, msg))
}

// IntegrationTest makes a real call to the provider and keeps what came back.
func (a *App) IntegrationTest(c echo.Context) error {
	i, err := a.integrationParam(c)
	if err != nil {
		return err
	}
	if i, err = a.integrations.Test(c.Request().Context(), tenant(c).ID, i.ID); err != nil {
		return err
	}
	if !isFragment(c) {
		return a.redirect(c, "/admin/integrations")
	}
	return a.renderComponent(c, http.StatusOK, views.IntegrationRow(a.page(c, "", ""), i, true, ""))
}
