package model

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// DemoTenantSlug is the slug of the demo shop that `make run` creates.
const DemoTenantSlug = "demo"

// DemoOwnerEmail is the demo owner's sign-in.
const DemoOwnerEmail = "owner@demo.test"

// DemoCustomerEmail is the demo customer's sign-in on the storefront.
const DemoCustomerEmail = "customer@demo.test"

// DemoTurkishSlug is the second demo shop: seed 001's Turkish shop, in lira and
// Turkish, paid with Kuveyt Türk (which takes no roubles). It is reached at
// demo-tr.localhost:8080.
const DemoTurkishSlug = "demo-tr"

// DemoTurkishRequiredFields are the checkout fields the Turkish demo shop
// requires: those of seed 001's order body (customer_email, names, phone,
// address_line1, city, postal_code, country), which has no state. The rouble
// demo keeps fecshop's default list, which has it.
var DemoTurkishRequiredFields = []string{"first_name", "last_name", "email", "telephone", "street1", "country", "city", "zip"}

// demoRate prices the demo catalogue in a tenant's currency: minor units of it
// per 100 kopecks of the rouble catalogue.
var demoRate = map[string]int64{"RUB": 100, "TRY": 40, "USD": 1}

// DemoCatalogue is the demo shop's catalogue, in roubles: three of the five
// payment providers (T-Bank, Dolyami, Yandex Pay) take roubles only. The supplier item and SKU ids are
// those of the Taobao sandbox's catalogue (providers/taobao DemoItems), so that
// the demo's purchases go through; one product has no SKU to show that error.
var DemoCatalogue = []Product{
	{SKU: "TS-WHITE-M", Title: "Cotton T-shirt, white, M", Price: 99000, Stock: 40, Source: "taobao", ProviderItemID: "652871233140", ProviderSKUID: "4893019283744", CostFen: 3900, WeightG: 250},
	{SKU: "JK-DENIM-L", Title: "Denim jacket, blue, L", Price: 459000, Stock: 12, Source: "taobao", ProviderItemID: "652871233141", ProviderSKUID: "4893019283745", CostFen: 15900, WeightG: 900},
	{SKU: "BAG-TOTE", Title: "Canvas tote bag, beige", Price: 69000, Stock: 60, Source: "taobao", ProviderItemID: "652871233142", ProviderSKUID: "4893019283746", CostFen: 2500, WeightG: 300},
	{SKU: "TEA-SET6", Title: "Ceramic tea set, 6 cups", Price: 249000, Stock: 8, Source: "taobao", ProviderItemID: "701245560311", ProviderSKUID: "5012238871101", CostFen: 8800, WeightG: 2200},
	{SKU: "STAND-BAMBOO", Title: "Bamboo phone stand", Price: 39000, Stock: 100, Source: "taobao", ProviderItemID: "701245560312", ProviderSKUID: "5012238871102", CostFen: 1200, WeightG: 200},
	{SKU: "LAMP-LED", Title: "LED desk lamp, USB", Price: 179000, Stock: 25, Source: "taobao", ProviderItemID: "701245560313", ProviderSKUID: "5012238871103", CostFen: 6500, WeightG: 800},
	{SKU: "EARBUDS-TM", Title: "Wireless earbuds (Tmall)", Price: 549000, Stock: 5, Source: "tmall", ProviderItemID: "612093384455", ProviderSKUID: "4421097735501", CostFen: 19900, WeightG: 150},
	{SKU: "SCARF-SILK", Title: "Silk scarf (supplier SKU missing)", Price: 129000, Stock: 15, Source: "taobao", ProviderItemID: "652871239999", CostFen: 4200, WeightG: 120},
}

// DemoDeliverySettings are the demo shops' delivery settings.
var DemoDeliverySettings = DeliverySettings{SenderName: "Demo Shop warehouse", SenderPhone: "+79990001122", SenderCountry: "RU",
	SenderCity: "Москва", SenderPostalCode: "101000", SenderAddress: "Складская улица, 1", CDEKTariffCode: 137, PackageWeightG: 500,
	PackageLengthCm: 30, PackageWidthCm: 20, PackageHeightCm: 10, DostavistaVehicleType: 6, DostavistaWindowHours: 4}

// SeedDemo creates the demo tenant when it does not exist yet: its staff, a
// catalogue, shipping methods, the DEMO10 coupon, a customer with bonus points
// and a few dozen orders spread over the statuses. It reports whether it created
// anything, so that a second start does not seed again.
func (s *Store) SeedDemo(ctx context.Context, password string) (_ bool, err error) {
	defer wrapErr(&err, "seed demo")
	if _, err := s.FindTenantBySlug(ctx, DemoTenantSlug); err == nil {
		return false, nil
	} else if !errors.Is(err, ErrNotFound) {
		return false, err
	}
	t, err := s.CreateTenant(ctx, NewTenant{Slug: DemoTenantSlug, Name: "Demo Shop", Currency: "RUB", Timezone: "Europe/Moscow"})
	if err != nil {
		return false, err
	}
	var owner *User
	for _, u := range []NewUser{
		{Email: DemoOwnerEmail, Name: "Demo Owner", Role: RoleOwner},
		{Email: "staff@demo.test", Name: "Demo Staff", Role: RoleStaff},
		{Email: "operator@demo.test", Name: "Demo Operator", Role: RoleOperator},
	} {
		u.Password = password
		created, err := s.CreateUser(ctx, t.ID, u)
		if err != nil {
			return false, err
		}
		if owner == nil {
			owner = created
		}
	}
	if err := s.seedDemoShop(ctx, t, owner, password); err != nil {
		return false, fmt.Errorf("demo shop: %w", err)
	}
	tr, err := s.CreateTenant(ctx, NewTenant{Slug: DemoTurkishSlug, Name: "Demo Mağaza", Currency: "TRY", Language: "tr", Timezone: "Europe/Istanbul"})
	if err != nil {
		return false, err
	}
	tr.RequiredAddressFields = DemoTurkishRequiredFields
	if err := s.UpdateOrderSettings(ctx, tr.ID, tr.OrderSettings); err != nil {
		return false, err
	}
	trOwner, err := s.CreateUser(ctx, tr.ID, NewUser{Email: DemoOwnerEmail, Name: "Demo Sahibi", Role: RoleOwner, Password: password})
	if err != nil {
		return false, err
	}
	if err := s.seedDemoShop(ctx, tr, trOwner, password); err != nil {
		return false, fmt.Errorf("seed the Turkish demo shop: %w", err)
	}
	return true, nil
}

// DemoTenants are the slugs SeedDemo creates.
var DemoTenants = []string{DemoTenantSlug, DemoTurkishSlug}

func (s *Store) seedDemoShop(ctx context.Context, t *Tenant, owner *User, password string) error {
	rate := demoRate[t.Currency]
	price := func(rub int64) int64 { return rub * rate / 100 }
	var products []*Product
	for _, p := range DemoCatalogue {
		p.Price = price(p.Price)
		p.Stock += 40 // room for the demo orders below
		created, err := s.CreateProduct(ctx, t.ID, p)
		if err != nil {
			return err
		}
		products = append(products, created)
	}
	// The demo's parcels leave from a Moscow warehouse, so that the CDEK and
	// Dostavista sandboxes take its shipments as they come.
	if err := s.SaveDeliverySettings(ctx, t.ID, DemoDeliverySettings); err != nil {
		return err
	}
	var methods []*ShippingMethod
	for _, m := range []ShippingMethod{
		{Name: "Standard (Aras Kargo)", Carrier: "aras", Price: price(49900), TrackingURL: "https://kargotakip.araskargo.com.tr/mainpage.aspx?code={number}"},
		{Name: "Express (CDEK)", Carrier: "cdek", Price: price(129900), TrackingURL: "https://www.cdek.ru/ru/tracking?order_id={number}"},
		{Name: "Courier (Dostavista)", Carrier: "dostavista", Price: price(89900), TrackingURL: "https://dostavista.ru/track?order={number}"},
	} {
		created, err := s.CreateShippingMethod(ctx, t.ID, m)
		if err != nil {
			return err
		}
		methods = append(methods, created)
	}
	if _, err := s.CreateCoupon(ctx, t.ID, Coupon{Code: "DEMO10", Kind: "percent", Value: 10}); err != nil {
		return err
	}
	if _, err := s.CreateCoupon(ctx, t.ID, Coupon{Code: "WELCOME500", Kind: "fixed", Value: price(50000), MinSubtotal: price(250000), MaxUsesPerCustomer: ptr(1)}); err != nil {
		return err
	}
	customer, err := s.RegisterCustomer(ctx, t.ID, NewCustomer{Email: DemoCustomerEmail, Password: password, FirstName: "Ayşe", LastName: "Demir", Phone: "+905551234567"})
	if err != nil {
		return err
	}
	if err := s.AdjustBonus(ctx, t.ID, customer.ID, price(50000)); err != nil {
		return err
	}

	// A few dozen orders placed over the last days, walked to their statuses
	// through the same functions as real ones. The pending ones are recent, so
	// that the expiry job does not cancel them at the demo's first start. None
	// is refunded: only refunds of real payments make an order refunded.
	plan := []struct {
		status OrderStatus
		n      int
	}{
		{OrderPending, 6}, {OrderConfirmed, 7}, {OrderProcessing, 5}, {OrderHolded, 2}, {OrderShipped, 5},
		{OrderDelivered, 3}, {OrderCompleted, 4}, {OrderCancelled, 3},
	}
	paths := map[OrderStatus][]OrderStatus{
		OrderPending:    {},
		OrderConfirmed:  {OrderConfirmed},
		OrderProcessing: {OrderConfirmed, OrderProcessing},
		OrderHolded:     {OrderConfirmed, OrderHolded},
		OrderShipped:    {OrderConfirmed, OrderProcessing, OrderShipped},
		OrderDelivered:  {OrderConfirmed, OrderProcessing, OrderShipped, OrderDelivered},
		OrderCompleted:  {OrderConfirmed, OrderProcessing, OrderShipped, OrderDelivered, OrderCompleted},
		OrderCancelled:  {OrderCancelled},
	}
	names := [][2]string{{"Ahmet", "Yılmaz"}, {"Elif", "Kaya"}, {"Ivan", "Petrov"}, {"Olga", "Smirnova"}, {"Li", "Wei"},
		{"Murad", "Aliyev"}, {"Leyla", "Huseynova"}, {"Mehmet", "Öztürk"}, {"Anna", "Ivanova"}, {"Zhang", "Min"}}
	base := s.now()
	seed := *s
	i := 0
	for _, p := range plan {
		for k := 0; k < p.n; k++ {
			i++
			age := time.Duration(36*i) * time.Hour / 10 // spread over about five days
			if p.status == OrderPending {
				age = time.Duration(20*k+5) * time.Minute
			}
			placed := base.Add(-age)
			seed.Now = func() time.Time { return placed }
			name := names[i%len(names)]
			var who *Customer
			email := fmt.Sprintf("%s.%s@example.com", lower(name[0]), lower(name[1]))
			if i%4 == 0 {
				who, email = customer, customer.Email
			}
			cartID, err := seed.EnsureCart(ctx, t.ID, "", customerID(who))
			if err != nil {
				return err
			}
			for j := 0; j <= i%3; j++ {
				if err := seed.AddToCart(ctx, t.ID, cartID, products[(i+j*3)%7].ID, 1+(i+j)%2); err != nil {
					return err
				}
			}
			o, err := seed.PlaceOrder(ctx, t, PlaceOrderInput{
				CartID: cartID, Customer: who, ShippingMethodID: methods[i%len(methods)].ID,
				Address: Address{FirstName: name[0], LastName: name[1], Email: email, Telephone: fmt.Sprintf("+90555%07d", 1000000+i*7919),
					Street1: fmt.Sprintf("%d Demo Street", i), City: "Istanbul", State: "Istanbul", Zip: "34000", Country: "TR"},
			})
			if err != nil {
				return err
			}
			for step, next := range paths[p.status] {
				seed.Now = func() time.Time { return placed.Add(time.Duration(step+1) * 3 * time.Hour / 2) }
				in := TransitionInput{}
				if next == OrderShipped {
					in = TransitionInput{TrackingNumber: fmt.Sprintf("DEMO%09d", 100000000+i*7907), TrackingCarrier: methods[i%len(methods)].Carrier}
				}
				if _, err := seed.TransitionOrder(ctx, t, o.ID, next, StaffActor(owner), in); err != nil {
					return fmt.Errorf("demo order %d to %s: %w", i, next, err)
				}
			}
		}
	}
	// The made-up history queued the messages its changes imply; telling its
	// made-up customers days late would only fill the sandboxes' inboxes.
	_, err = s.DB.W.ExecContext(ctx, `UPDATE outbox SET status = 'skipped', last_error = 'Demo history: not sent.' WHERE tenant_id = ? AND status = 'pending'`, t.ID)
	return err
}

func customerID(c *Customer) int64 {
	if c == nil {
		return 0
	}
	return c.ID
}

func ptr[T any](v T) *T { return &v }

func lower(s string) string {
	out := []rune{}
	for _, r := range s {
		if r >= 'A' && r <= 'Z' {
			r += 'a' - 'A'
		}
		if r < 128 {
			out = append(out, r)
		}
	}
	return string(out)
}
