package handlers

import (
	"testing"

	"orderdesk/model"
)

func TestHostRules(t *testing.T) {
	a := &App{cfg: Config{DefaultTenant: "demo", BaseURL: "https://orderdesk.example"}, baseHost: "orderdesk.example"}

	t.Run("a host is a shop of ours only under the base host or as an IP address", func(t *testing.T) {
		for _, tc := range []struct {
			host, slug string
			ok         bool
		}{
			{"orderdesk.example", "demo", true},
			{"ORDERDESK.example.:443", "demo", true},
			{"shop2.orderdesk.example", "shop2", true},
			{"www.shop2.orderdesk.example:8443", "shop2", true},
			{"203.0.113.7:8080", "demo", true},
			{"[2001:db8::1]:443", "demo", true},
			{"evil.test", "", false},
			{"orderdesk.example.evil.test", "", false},
			{"evilorderdesk.example", "", false},
			{"", "", false},
		} {
			slug, ok := a.tenantSlug(tc.host)
			if slug != tc.slug || ok != tc.ok {
				t.Errorf("tenantSlug(%q) = %q, %v; want %q, %v", tc.host, slug, ok, tc.slug, tc.ok)
			}
		}
	})

	t.Run("a shop's address comes from the base URL and its slug", func(t *testing.T) {
		if got := a.shopURL(&model.Tenant{Slug: "demo"}); got != "https://orderdesk.example" {
			t.Errorf("default shop: %q", got)
		}
		if got := a.shopURL(&model.Tenant{Slug: "demo-tr"}); got != "https://demo-tr.orderdesk.example" {
			t.Errorf("another shop: %q", got)
		}
		b := &App{cfg: Config{DefaultTenant: "demo", BaseURL: "http://localhost:8080/ignored/path"}, baseHost: "localhost"}
		if got := b.shopURL(&model.Tenant{Slug: "shop2"}); got != "http://shop2.localhost:8080" {
			t.Errorf("with a port: %q", got)
		}
	})
}
