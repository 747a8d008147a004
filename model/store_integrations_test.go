package model_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"orderdesk/model"
)

// What was tested is what is saved: an update that carries a passing test is
// refused when the integration changed after the test read it.
func TestUpdateIntegrationRefusesAChangeSinceTheTest(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	in := s.integration(t, model.ProviderTinkoff)
	read := in.UpdatedAt
	s.clock = s.clock.Add(time.Minute)
	if _, err := s.store.UpdateIntegration(ctx, s.tenant.ID, nil, in.ID, model.IntegrationInput{APIEndpoint: ptr("https://other.example.com/api")}); err != nil {
		t.Fatal(err)
	}
	live := model.IntegrationActive
	_, err := s.store.UpdateIntegration(ctx, s.tenant.ID, nil, in.ID, model.IntegrationInput{Status: &live,
		Tested: &model.IntegrationTestResult{OK: true, Message: "Connected."}, UnchangedSince: &read})
	if !errors.Is(err, model.ErrConflict) {
		t.Fatalf("err = %v, want a conflict", err)
	}
	got, _ := s.store.FindIntegrationByID(ctx, s.tenant.ID, in.ID)
	if got.Status != model.IntegrationTest || got.LastTestAt != nil {
		t.Errorf("after the refusal: %s, tested %v", got.Status, got.LastTestAt)
	}

	// Read again, it goes live with its test recorded.
	read = got.UpdatedAt
	got, err = s.store.UpdateIntegration(ctx, s.tenant.ID, nil, in.ID, model.IntegrationInput{Status: &live,
		Tested: &model.IntegrationTestResult{OK: true, Message: "Connected."}, UnchangedSince: &read})
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != model.IntegrationActive || !got.LastTestOK || got.LastTestMessage != "Connected." || got.LastTestAt == nil {
		t.Errorf("live: %+v", got)
	}
}

// A test is of the settings it ran with: new keys or endpoints forget it, so
// the page never shows a ✓ for keys that were never tried.
func TestNewKeysForgetTheLastTest(t *testing.T) {
	s := newShop(t, 10)
	ctx := context.Background()
	in := s.integration(t, model.ProviderTinkoff)
	if err := s.store.RecordIntegrationTest(ctx, s.tenant.ID, in.ID, true, "Connected."); err != nil {
		t.Fatal(err)
	}
	got, err := s.store.UpdateIntegration(ctx, s.tenant.ID, nil, in.ID, model.IntegrationInput{Name: ptr("Renamed")})
	if err != nil || got.LastTestAt == nil {
		t.Fatalf("a new name forgot the test: %v %+v", err, got)
	}
	got, err = s.store.UpdateIntegration(ctx, s.tenant.ID, nil, in.ID, model.IntegrationInput{APISecret: ptr("new-password")})
	if err != nil || got.LastTestAt != nil || got.LastTestOK {
		t.Fatalf("new keys kept the old test: %v %+v", err, got)
	}
}
