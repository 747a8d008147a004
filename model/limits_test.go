package model_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"orderdesk/model"
)

func TestLengthLimitsNameTheField(t *testing.T) {
	s := newShop(t, 100)
	ctx := context.Background()
	long := strings.Repeat("x", 1000)
	var ve *model.ValidationError

	t.Run("a checkout with 1,000 characters in every field names each field", func(t *testing.T) {
		cart, _ := s.store.EnsureCart(ctx, s.tenant.ID, "", 0)
		if err := s.store.AddToCart(ctx, s.tenant.ID, cart, s.product.ID, 1); err != nil {
			t.Fatal(err)
		}
		a := model.Address{FirstName: long, LastName: long, Email: long + "@example.com", Telephone: long, Street1: long,
			Street2: long, City: long, State: long, Zip: long, Country: long}
		_, err := s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: cart, Address: a, ShippingMethodID: s.shipping.ID,
			Pricing: model.CartPricing{PromoCode: long}})
		if !errors.As(err, &ve) {
			t.Fatalf("got %v, want a validation error", err)
		}
		for _, f := range append(model.AddressFields, "coupon_code") {
			if !strings.Contains(ve.Fields[f], "at most") && !(f == "country" && ve.Fields[f] != "") {
				t.Errorf("%s: %q", f, ve.Fields[f])
			}
		}
		if n, _ := s.store.FindOrders(ctx, s.tenant.ID, model.OrderFilter{}); len(n.Orders) != 0 {
			t.Errorf("an order was stored: %d", len(n.Orders))
		}
	})

	t.Run("names at the limit in Turkish letters are taken, as is a 3-letter country", func(t *testing.T) {
		a := s.addr("limit@example.com")
		a.FirstName, a.Country = strings.Repeat("ı", model.MaxNameLen), "TUR"
		cart, _ := s.store.EnsureCart(ctx, s.tenant.ID, "", 0)
		if err := s.store.AddToCart(ctx, s.tenant.ID, cart, s.product.ID, 1); err != nil {
			t.Fatal(err)
		}
		if _, err := s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: cart, Address: a, ShippingMethodID: s.shipping.ID}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("a country that is not a code is refused", func(t *testing.T) {
		cart, _ := s.store.EnsureCart(ctx, s.tenant.ID, "", 0)
		a := s.addr("c@example.com")
		a.Country = "Türkiye"
		_, err := s.store.PlaceOrder(ctx, s.tenant, model.PlaceOrderInput{CartID: cart, Address: a, ShippingMethodID: s.shipping.ID})
		if !errors.As(err, &ve) || !strings.Contains(ve.Fields["country"], "country code") {
			t.Errorf("got %v", err)
		}
	})

	for _, tc := range []struct {
		name, field string
		do          func() error
	}{
		{"registration: first name", "first_name", func() error {
			_, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "r1@example.com", Password: "password1", FirstName: long})
			return err
		}},
		{"registration: last name", "last_name", func() error {
			_, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "r2@example.com", Password: "password1", LastName: long})
			return err
		}},
		{"registration: phone", "phone", func() error {
			_, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "r3@example.com", Password: "password1", Phone: long})
			return err
		}},
		{"registration: e-mail", "email", func() error {
			_, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: long + "@example.com", Password: "password1"})
			return err
		}},
		{"registration: a password bcrypt cannot hash", "password", func() error {
			_, err := s.store.RegisterCustomer(ctx, s.tenant.ID, model.NewCustomer{Email: "r4@example.com", Password: long})
			return err
		}},
		{"staff user: name", "name", func() error {
			_, err := s.store.CreateUser(ctx, s.tenant.ID, model.NewUser{Email: "u1@example.com", Name: long, Role: model.RoleStaff, Password: "password1"})
			return err
		}},
		{"staff user: password", "password", func() error {
			_, err := s.store.CreateUser(ctx, s.tenant.ID, model.NewUser{Email: "u2@example.com", Role: model.RoleStaff, Password: long})
			return err
		}},
		{"coupon code", "code", func() error {
			_, err := s.store.CreateCoupon(ctx, s.tenant.ID, model.Coupon{Code: long, Kind: "fixed", Value: 1})
			return err
		}},
		{"cart promo code", "coupon_code", func() error {
			_, err := s.store.PriceCart(ctx, s.tenant, "no-cart", nil, model.CartPricing{PromoCode: long})
			return err
		}},
		{"internal note", "note", func() error {
			o := s.orderAs(t, nil, "n@example.com", "")
			return s.store.AddOrderNote(ctx, s.tenant.ID, o.ID, model.SystemActor, long+long+long)
		}},
		{"tracking number", "tracking_number", func() error {
			o := s.orderAs(t, nil, "n@example.com", "")
			_, err := s.store.TransitionOrder(ctx, s.tenant, o.ID, model.OrderConfirmed, model.SystemActor, model.TransitionInput{TrackingNumber: long})
			return err
		}},
		{"status change note", "note", func() error {
			o := s.orderAs(t, nil, "n@example.com", "")
			_, err := s.store.TransitionOrder(ctx, s.tenant, o.ID, model.OrderConfirmed, model.SystemActor, model.TransitionInput{Note: long + long + long})
			return err
		}},
		{"integration name", "name", func() error {
			p, name, key, ep := model.ProviderKuveyt, long, "k", "https://example.test/"
			_, err := s.store.CreateIntegration(ctx, s.tenant.ID, nil, model.IntegrationInput{Provider: &p, Name: &name, APIKey: &key, TestEndpoint: &ep})
			return err
		}},
		{"integration description", "description", func() error {
			p, name, desc, key, ep := model.ProviderKuveyt, "Kuveyt", long, "k", "https://example.test/"
			_, err := s.store.CreateIntegration(ctx, s.tenant.ID, nil, model.IntegrationInput{Provider: &p, Name: &name, Description: &desc, APIKey: &key, TestEndpoint: &ep})
			return err
		}},
		{"integration description, changed", "description", func() error {
			p, name, key, ep := model.ProviderKuveyt, "Kuveyt", "k", "https://example.test/"
			in, err := s.store.CreateIntegration(ctx, s.tenant.ID, nil, model.IntegrationInput{Provider: &p, Name: &name, APIKey: &key, TestEndpoint: &ep})
			if err != nil {
				t.Fatal(err)
			}
			desc := long
			_, err = s.store.UpdateIntegration(ctx, s.tenant.ID, nil, in.ID, model.IntegrationInput{Description: &desc})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if !errors.As(err, &ve) || ve.Fields[tc.field] == "" {
				t.Fatalf("got %v, want a validation error on %s", err, tc.field)
			}
			if !strings.Contains(ve.Fields[tc.field], "at most") {
				t.Errorf("%s: %q", tc.field, ve.Fields[tc.field])
			}
		})
	}
}
