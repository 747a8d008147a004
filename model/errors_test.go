package model_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"orderdesk/model"
)

// TestStoreErrorsNameWhatFailed: a failure of the store reaches the log with
// the operation and its ids ("find order by id (tenantID=1 id=7): context
// canceled"), while the answers people read — not found — keep their words.
func TestStoreErrorsNameWhatFailed(t *testing.T) {
	s := newShop(t, 5)
	canceled, cancel := context.WithCancel(context.Background())
	cancel()

	_, err := s.store.FindOrderByID(canceled, s.tenant.ID, 7)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled inside", err)
	}
	if want := "find order by id (tenantID="; !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), " id=7)") {
		t.Errorf("err = %q, want it to name the operation and its ids", err)
	}

	// The refusal of a used authorization link is shown to the operator as
	// it is ("Nothing was stored: the authorization link is invalid…").
	_, err = s.store.UseOAuthState(context.Background(), s.tenant.ID, 1, "no-such-state")
	if !errors.Is(err, model.ErrInvalidState) || err.Error() != model.ErrInvalidState.Error() {
		t.Errorf("an unknown authorization link: %q, want the words people are shown", err)
	}

	_, err = s.store.FindOrderByID(context.Background(), s.tenant.ID, 987654)
	if !errors.Is(err, model.ErrNotFound) || err.Error() != "not found" {
		t.Errorf("a missing order: %q, want the plain not found people are shown", err)
	}
}
