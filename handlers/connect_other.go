package handlers

import (
	"context"
	"errors"

	"orderdesk/model"
)

// testOtherConnection tests the delivery, messaging and e-mail providers.
func testOtherConnection(ctx context.Context, i *model.Integration, sec model.IntegrationSecrets) (string, error) {
	return "", errors.New("testing " + string(i.Provider) + " is not available yet")
}
