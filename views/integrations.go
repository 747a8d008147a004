package views

import (
	"context"
	"encoding/json"

	"orderdesk/model"
)

// IntegrationForm is the create/edit form with what was typed and the errors.
// Keys are never put back in the form: only their last four characters show.
type IntegrationForm struct {
	ID           int64 // 0 when creating
	Provider     string
	Name         string
	Description  string
	Status       string
	APIEndpoint  string
	TestEndpoint string
	Config       string // JSON
	KeyLast4     string
	SecretLast4  string
	Errors       FormErrors
	Changes      []model.IntegrationChange
}

// FormFromIntegration fills the edit form from a stored integration.
func FormFromIntegration(i *model.Integration, changes []model.IntegrationChange) IntegrationForm {
	cfg, _ := json.MarshalIndent(i.Config, "", "  ")
	return IntegrationForm{ID: i.ID, Provider: string(i.Provider), Name: i.Name, Description: i.Description, Status: string(i.Status),
		APIEndpoint: i.APIEndpoint, TestEndpoint: i.TestEndpoint, Config: string(cfg), KeyLast4: i.APIKeyLast4,
		SecretLast4: i.APISecretLast4, Changes: changes}
}

// Fragment ids of the integrations page.
const IntegrationRowPrefix = "integration-"

func providerLabel(p model.ProviderType) string {
	if i, ok := p.Info(); ok {
		return i.Label
	}
	return string(p)
}

func integrationFormAction(f IntegrationForm) string {
	if f.ID == 0 {
		return "/admin/integrations"
	}
	return "/admin/integrations/" + idStr(f.ID)
}

func keepPlaceholder(ctx context.Context, last4 string) string {
	if last4 == "" {
		return ""
	}
	return tr(ctx, "admin.integrations.keep", map[string]any{"Last4": last4})
}
