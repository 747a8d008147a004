package handlers

import (
	"context"
	"errors"

	"orderdesk/model"
)

// testConnection makes the cheapest real authenticated call to the integration's
// provider (at its current endpoint) and says in words what came back.
func testConnection(ctx context.Context, i *model.Integration, sec model.IntegrationSecrets) (string, error) {
	return "", errors.New("testing this provider is not available yet")
}

// explainProviderError turns a provider's error into words for shop staff.
func explainProviderError(err error) string {
	return err.Error()
}
