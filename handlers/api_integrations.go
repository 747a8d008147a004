package handlers

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"orderdesk/model"
)

// integrationJSON is an integration for API clients: never a secret, only the
// last four characters of each.
func integrationJSON(i *model.Integration) map[string]any {
	m := map[string]any{
		"id": i.ID, "provider_type": i.Provider, "name": i.Name, "description": i.Description, "status": i.Status,
		"api_key_last4": i.APIKeyLast4, "api_secret_last4": i.APISecretLast4,
		"api_endpoint": i.APIEndpoint, "test_endpoint": i.TestEndpoint, "config": i.Config,
		"created_at": i.CreatedAt.UTC().Format(time.RFC3339), "updated_at": i.UpdatedAt.UTC().Format(time.RFC3339),
		"last_test": nil,
	}
	if i.LastTestAt != nil {
		m["last_test"] = map[string]any{"at": i.LastTestAt.UTC().Format(time.RFC3339), "ok": i.LastTestOK, "message": i.LastTestMessage}
	}
	return m
}

// integrationRequest is seed 001's integration body; absent fields stay as they are.
type integrationRequest struct {
	ProviderType *model.ProviderType      `json:"provider_type"`
	Name         *string                  `json:"name"`
	Description  *string                  `json:"description"`
	Status       *model.IntegrationStatus `json:"status"`
	APIKey       *string                  `json:"api_key"`
	APISecret    *string                  `json:"api_secret"`
	APIEndpoint  *string                  `json:"api_endpoint"`
	TestEndpoint *string                  `json:"test_endpoint"`
	Config       json.RawMessage          `json:"config"`
}

func (r integrationRequest) input() (model.IntegrationInput, error) {
	in := model.IntegrationInput{Provider: r.ProviderType, Name: r.Name, Description: r.Description, Status: r.Status,
		APIKey: r.APIKey, APISecret: r.APISecret, APIEndpoint: r.APIEndpoint, TestEndpoint: r.TestEndpoint}
	if len(r.Config) > 0 && string(r.Config) != "null" {
		cfg, err := parseConfig(r.Config)
		if err != nil {
			return in, &model.ValidationError{Fields: map[string]string{"config": err.Error()}}
		}
		in.Config = cfg
	}
	return in, nil
}

// APIIntegrations lists the tenant's integrations: GET /api/integrations/.
func (a *App) APIIntegrations(c echo.Context) error {
	list, err := a.store.FindIntegrations(c.Request().Context(), tenant(c).ID)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(list))
	for _, i := range list {
		out = append(out, integrationJSON(i))
	}
	return ok(c, http.StatusOK, "", map[string]any{"integrations": out})
}

// APIIntegrationCreate creates one: POST /api/integrations/.
func (a *App) APIIntegrationCreate(c echo.Context) error {
	var req integrationRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	i, err := a.integrations.Create(c.Request().Context(), tenant(c).ID, currentUser(c), in)
	if err != nil {
		return err
	}
	return ok(c, http.StatusCreated, "The integration was created.", map[string]any{"integration": integrationJSON(i)})
}

// APIIntegrationUpdate changes one: PATCH /api/integrations/{id}/ (seed 001
// step 3: {"status": "active", "api_key": …, "api_secret": …}). Going live
// tests the live keys at the live endpoint first: 409 with the test's words
// when it fails, and nothing changes.
func (a *App) APIIntegrationUpdate(c echo.Context) error {
	i, err := a.integrationParam(c)
	if err != nil {
		return err
	}
	var req integrationRequest
	if err := bindJSON(c, &req); err != nil {
		return err
	}
	in, err := req.input()
	if err != nil {
		return err
	}
	i, err = a.integrations.Update(c.Request().Context(), tenant(c).ID, currentUser(c), i.ID, in)
	if err != nil {
		return err
	}
	return ok(c, http.StatusOK, "The integration was updated.", map[string]any{"integration": integrationJSON(i)})
}

// APIIntegrationTest calls the provider: POST /api/integrations/{id}/test/.
func (a *App) APIIntegrationTest(c echo.Context) error {
	i, err := a.integrationParam(c)
	if err != nil {
		return err
	}
	if i, err = a.integrations.Test(c.Request().Context(), tenant(c).ID, i.ID); err != nil {
		return err
	}
	body := map[string]any{"success": i.LastTestOK, "message": i.LastTestMessage, "integration": integrationJSON(i)}
	return c.JSON(http.StatusOK, body)
}
