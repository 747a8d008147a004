package views

import (
	"testing"
	"time"

	"orderdesk/model"
	"orderdesk/views/locales"
)

func TestActorsAreShownAsPeople(t *testing.T) {
	people := People{"owner@demo.test": "Olga Owner", "maria@example.com": "Maria Ivanova"}
	cases := []struct {
		name, lang string
		actor      model.Actor
		want       string
	}{
		{"a staff member by name", "en", model.Actor("staff:owner@demo.test"), "Olga Owner"},
		{"a staff member the page has no name for, by e-mail", "en", model.Actor("staff:ops@demo.test"), "ops@demo.test"},
		{"a customer by name", "en", model.CustomerActor("maria@example.com"), "customer Maria Ivanova"},
		{"the system as OrderDesk", "en", model.SystemActor, "OrderDesk"},
		{"a job in words", "en", model.JobActor("expire-unpaid"), "OrderDesk (cancelling unpaid orders)"},
		{"a payment provider by its brand", "en", model.Actor("provider:yandexpay"), "Yandex Pay"},
		{"a customer in Russian", "ru", model.CustomerActor("maria@example.com"), locales.T("ru", "common.actor.customer", map[string]any{"Name": "Maria Ivanova"})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ActorName(tc.lang, tc.actor, people); got != tc.want {
				t.Errorf("ActorName(%q) = %q, want %q", tc.actor, got, tc.want)
			}
		})
	}
}

func TestFieldNamesAndDurationsAreWords(t *testing.T) {
	for field, want := range map[string]string{"first_name": "First name", "street1": "Street and house", "shipping_zone": "Shipping zone"} {
		if got := FieldName("en", field); got != want {
			t.Errorf("FieldName(%q) = %q, want %q", field, got, want)
		}
	}
	if got := FieldName("ru", "first_name"); got == "First name" || got == "first_name" {
		t.Errorf("Russian first_name = %q", got)
	}
	for d, want := range map[time.Duration]string{5 * time.Minute: "every 5 minutes", time.Hour: "every hour", 90 * time.Second: "every 90 seconds"} {
		if got := locales.Every("en", d); got != want {
			t.Errorf("Every(%v) = %q, want %q", d, got, want)
		}
	}
}
