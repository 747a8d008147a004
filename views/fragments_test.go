package views

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"orderdesk/model"
)

// deskOrder is an order as the desk lists it, every field of it set.
func deskOrder() *model.Order {
	created := time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)
	return &model.Order{ID: 41, TenantID: 1, Number: "ORD-1041", IncrementID: 1041, CustomerID: 3, CartID: "cart",
		Address: model.Address{FirstName: "Aysel", LastName: "Məmmədova", Email: "aysel@example.com", Telephone: "+994",
			Street1: "Nizami 5", Street2: "2", City: "Baku", State: "Baku", Zip: "1000", Country: "AZ"},
		ShippingMethodID: 2, ShippingName: "Courier", Status: model.OrderConfirmed, PaymentStatus: model.PayPaid,
		ProcurementStatus: model.ProcPending, ProcurementError: "", Currency: "RUB", Subtotal: 500000, Discount: 100,
		BonusUsed: 200, Shipping: 30000, Total: 508900, ItemCount: 2, CouponCode: "WELCOME", StockReserved: true,
		TrackingNumber: "TRK1", TrackingCarrier: "cdek", TrackingURL: "https://example.com/t", NeedsAttention: "",
		CreatedAt: created, UpdatedAt: created}
}

func renderDeskRow(t *testing.T, ctx context.Context, o *model.Order, checked bool) string {
	t.Helper()
	var b strings.Builder
	if err := deskRow(o, checked).Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// changeField sets v, a field of an order, to some other value of its kind.
func changeField(t *testing.T, name string, v reflect.Value) bool {
	switch v.Interface().(type) {
	case time.Time:
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(26*time.Hour + 7*time.Minute)))
		return true
	case *time.Time:
		at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
		v.Set(reflect.ValueOf(&at))
		return true
	}
	switch v.Kind() {
	case reflect.String:
		// Statuses are strings too: another of its type that exists.
		switch v.Interface().(type) {
		case model.OrderStatus:
			v.SetString(string(model.OrderShipped))
		case model.OrderPaymentStatus:
			v.SetString(string(model.PayRefunded))
		case model.ProcurementStatus:
			v.SetString(string(model.ProcCancelled))
		default:
			v.SetString(v.String() + "-changed")
		}
	case reflect.Int, reflect.Int64:
		v.SetInt(v.Int()*3 + 7)
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Slice:
		return false // the lines: the row does not read them (a summary has none)
	default:
		t.Fatalf("field %s of kind %s: teach changeField to change it", name, v.Kind())
	}
	return true
}

// A desk row kept by cachedDeskRow must never show an order as it was: any
// field of an order that changes what the row shows must change its key.
// The test changes each field of Order in turn, so a field the row starts
// to show without being in the key fails here.
func TestDeskRowKeyHoldsEverythingTheRowShows(t *testing.T) {
	ctx := WithLocale(context.Background(), Locale{Lang: "ru", Loc: time.FixedZone("Europe/Moscow", 3*3600)})
	base := deskOrder()
	baseHTML, baseKey := renderDeskRow(t, ctx, base, false), deskRowKeyOf(ctx, base, false)

	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f, name := v.Field(i), prefix+v.Type().Field(i).Name
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Time{}) {
				walk(name+".", f)
				continue
			}
			old := reflect.New(f.Type()).Elem()
			old.Set(f)
			if !changeField(t, name, f) {
				continue
			}
			if html := renderDeskRow(t, ctx, base, false); html != baseHTML && deskRowKeyOf(ctx, base, false) == baseKey {
				t.Errorf("the row shows %s, but its key does not hold it: a changed %s would show as it was", name, name)
			}
			f.Set(old)
		}
	}
	walk("", reflect.ValueOf(base).Elem())

	if renderDeskRow(t, ctx, base, true) != baseHTML && deskRowKeyOf(ctx, base, true) == baseKey {
		t.Error("a ticked row has the key of an unticked one")
	}
	en := WithLocale(context.Background(), Locale{Lang: "en", Loc: time.FixedZone("Europe/Moscow", 3*3600)})
	if deskRowKeyOf(en, base, false) == baseKey {
		t.Error("a row in English has the key of the same row in Russian")
	}
	utc := WithLocale(context.Background(), Locale{Lang: "ru", Loc: time.UTC})
	if deskRowKeyOf(utc, base, false) == baseKey {
		t.Error("a row in UTC has the key of the same row in Moscow time")
	}
}

// The kept row is the row: rendered once and then taken from deskRows, the
// order desk shows the same HTML, and a change to the order shows at once.
func TestAKeptDeskRowShowsTheOrderAsItIsNow(t *testing.T) {
	ctx := WithLocale(context.Background(), Locale{Lang: "en", Loc: time.UTC})
	o := deskOrder()
	o.ID = 987654 // a row no other test keeps
	want := renderDeskRow(t, ctx, o, false)
	for range 2 {
		var b strings.Builder
		if err := cachedDeskRow(o, false).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Fatalf("kept row\n%s\nwant\n%s", b.String(), want)
		}
	}
	o.Status = model.OrderCancelled
	var b strings.Builder
	if err := cachedDeskRow(o, false).Render(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `data-status="cancelled"`) {
		t.Errorf("after the order was cancelled the row still shows\n%s", b.String())
	}
}

// The dashboard's kept sales section is the section: rendered once and then
// taken as kept, it is the same HTML, and any change to a day's totals, the
// currency, the language or the time zone shows at once.
func TestAKeptSalesSectionShowsTheWeekAsItIsNow(t *testing.T) {
	moscow := time.FixedZone("Europe/Moscow", 3*3600)
	days := make([]model.DayTotals, 7)
	for i := range days {
		days[i] = model.DayTotals{Day: time.Date(2026, 11, 26+i, 0, 0, 0, 0, moscow), PaidOrders: i, Sales: int64(i) * 150000,
			Refunds: int64(i) * 1000, Cost: int64(i) * 90000}
	}
	render := func(ctx context.Context, days []model.DayTotals, currency string, kept bool) string {
		t.Helper()
		c := salesSection(days, currency)
		if kept {
			c = cachedSalesSection(days, currency)
		}
		var b strings.Builder
		if err := c.Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	ru := WithLocale(context.Background(), Locale{Lang: "ru", Loc: moscow})
	for range 2 {
		if got, want := render(ru, days, "RUB", true), render(ru, days, "RUB", false); got != want {
			t.Fatalf("kept section\n%s\nwant\n%s", got, want)
		}
	}
	changed := slices.Clone(days)
	for _, change := range []func(d *model.DayTotals){
		func(d *model.DayTotals) { d.Sales += 100 },
		func(d *model.DayTotals) { d.Refunds += 100 },
		func(d *model.DayTotals) { d.Cost += 100 },
		func(d *model.DayTotals) { d.PaidOrders++ },
		func(d *model.DayTotals) { d.Day = d.Day.AddDate(0, 0, 1) },
	} {
		change(&changed[6])
		if got, want := render(ru, changed, "RUB", true), render(ru, changed, "RUB", false); got != want {
			t.Fatalf("after a change to today the kept section\n%s\nwant\n%s", got, want)
		}
	}
	en := WithLocale(context.Background(), Locale{Lang: "en", Loc: time.UTC})
	for _, tc := range []struct {
		ctx      context.Context
		currency string
	}{{ru, "TRY"}, {en, "RUB"}} {
		if got, want := render(tc.ctx, days, tc.currency, true), render(tc.ctx, days, tc.currency, false); got != want {
			t.Fatalf("in %s, %s the kept section\n%s\nwant\n%s", LocaleOf(tc.ctx).Lang, tc.currency, got, want)
		}
	}
}

// The tracking page's kept facts never show an order as it was: any field of
// the order or of a step of its story that changes what they show changes
// their key (each field changed in turn, as for the desk's rows).
func TestTrackFactsKeyHoldsEverythingTheyShow(t *testing.T) {
	ctx := WithLocale(context.Background(), Locale{Lang: "tr", Loc: time.FixedZone("Europe/Istanbul", 3*3600)})
	o := deskOrder()
	shipped, paid := o.CreatedAt.Add(48*time.Hour), o.CreatedAt.Add(time.Hour)
	o.ShippedAt, o.Status = &shipped, model.OrderShipped
	story := []model.TrackStep{{Key: "ordered", At: &o.CreatedAt}, {Key: "paid", At: &paid}, {Key: "bought"},
		{Key: "on_the_way", Detail: "YT1, YT2"}, {Key: "arrived"},
		{Key: "handed_over", At: &shipped, Detail: "TRK1", Carrier: "CDEK", URL: "https://example.com/t"}, {Key: "delivered"}}
	render := func() string {
		var b strings.Builder
		if err := trackFacts(o, story).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	baseHTML, baseKey := render(), trackFactsKeyOf(ctx, o, story)

	check := func(name string, v reflect.Value) {
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		if !changeField(t, name, v) {
			return
		}
		if render() != baseHTML && trackFactsKeyOf(ctx, o, story) == baseKey {
			t.Errorf("the tracking facts show %s, but their key does not hold it", name)
		}
		v.Set(old)
	}
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for i := range v.NumField() {
			f, name := v.Field(i), prefix+v.Type().Field(i).Name
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Time{}) {
				walk(name+".", f)
				continue
			}
			check(name, f)
		}
	}
	walk("Order.", reflect.ValueOf(o).Elem())
	for i := range story {
		walk(fmt.Sprintf("story[%d].", i), reflect.ValueOf(&story[i]).Elem())
	}
	// A step that happens (its time set) and one that is undone.
	story[2].At = &paid
	if render() == baseHTML || trackFactsKeyOf(ctx, o, story) == baseKey {
		t.Error("a step that happened did not change the facts or their key")
	}
	story[2].At = nil
	en := WithLocale(context.Background(), Locale{Lang: "en", Loc: time.FixedZone("Europe/Istanbul", 3*3600)})
	if trackFactsKeyOf(en, o, story) == baseKey {
		t.Error("the facts in English have the key of the same facts in Turkish")
	}

	// Kept, they are the facts.
	for range 2 {
		var b strings.Builder
		if err := cachedTrackFacts(o, story).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if b.String() != baseHTML {
			t.Fatalf("kept facts\n%s\nwant\n%s", b.String(), baseHTML)
		}
	}
}

// walkFields calls change with each field of the struct v points at, nested
// structs (but times) walked into.
func walkFields(prefix string, v reflect.Value, change func(name string, f reflect.Value)) {
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Time{}) {
			walkFields(name+".", f, change)
			continue
		}
		change(name, f)
	}
}

// A kept product card never shows a product or a shop as it was, and its
// form carries the CSRF token of the page it is on: every field of the
// product and of the shop is changed in turn, and the card kept twice is the
// card rendered with each page's own token.
func TestProductCardKeyHoldsEverythingItShows(t *testing.T) {
	ctx := WithLocale(context.Background(), Locale{Lang: "ru", Loc: time.UTC})
	shop := &model.Tenant{ID: 7, Slug: "demo", Name: "Demo", Language: "az", Currency: "AZN", Timezone: "Asia/Baku",
		CreatedAt: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)}
	p := &model.Product{ID: 555001, TenantID: 7, SKU: "SKU-1", Title: "Çay <dəsti>", Description: "Armudu stəkan & nəlbəki",
		Price: 2450, Stock: 3, Source: "taobao", ProviderItemID: "1", ProviderSKUID: "2", CostFen: 900, Active: true,
		WeightG: 300, LengthCm: 10, WidthCm: 10, HeightCm: 5}
	render := func(csrf string) string {
		var b strings.Builder
		if err := productCard(shop, p, csrf).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	baseHTML, baseKey := render("token"), productCardKeyOf(ctx, shop, p)
	check := func(name string, v reflect.Value) {
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		if !changeField(t, name, v) {
			return
		}
		if render("token") != baseHTML && productCardKeyOf(ctx, shop, p) == baseKey {
			t.Errorf("the product card shows %s, but its key does not hold it", name)
		}
		v.Set(old)
	}
	walkFields("Product.", reflect.ValueOf(p).Elem(), check)
	walkFields("Tenant.", reflect.ValueOf(shop).Elem(), check)
	p.Stock = 0 // sold out: no form
	if render("token") == baseHTML || productCardKeyOf(ctx, shop, p) == baseKey {
		t.Error("a sold-out product did not change the card or its key")
	}
	p.Stock = 3
	en := WithLocale(context.Background(), Locale{Lang: "en", Loc: time.UTC})
	if productCardKeyOf(en, shop, p) == baseKey {
		t.Error("the card in English has the key of the same card in Russian")
	}

	for _, token := range []string{"first-token", "second-token", `"><script>`} {
		var b strings.Builder
		if err := cachedProductCard(shop, p, token).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if want := render(token); b.String() != want {
			t.Fatalf("kept card with token %q\n%s\nwant\n%s", token, b.String(), want)
		}
	}
}

// The storefront's kept header is the header: for a guest and a signed-in
// customer (whose sign-out form carries the page's CSRF token), on each page,
// with each cart size, it is the header rendered afresh.
func TestAKeptShopHeaderIsTheHeader(t *testing.T) {
	ctx := WithLocale(context.Background(), Locale{Lang: "tr", Loc: time.UTC})
	for _, h := range []ShopHeader{
		{Shop: "Demo", Current: "products", CSRF: "one"},
		{Shop: "Demo", Current: "products", CSRF: "two"},
		{Shop: "Demo", Current: "cart", CartCount: 2, CSRF: "two"},
		{Shop: "Demo", Current: "cart", CartCount: 2, Customer: "ayse@example.com", CSRF: "three"},
		{Shop: "Demo", Current: "cart", CartCount: 2, Customer: "ayse@example.com", CSRF: "four"},
		{Shop: "Başka", Current: "orders", CartCount: 3, Customer: "mehmet@example.com", CSRF: "four"},
	} {
		var kept, fresh strings.Builder
		if err := cachedShopHeader(h).Render(ctx, &kept); err != nil {
			t.Fatal(err)
		}
		if err := shopHeader(h).Render(ctx, &fresh); err != nil {
			t.Fatal(err)
		}
		if kept.String() != fresh.String() {
			t.Fatalf("kept header for %+v\n%s\nwant\n%s", h, kept.String(), fresh.String())
		}
	}
}

// The back office's kept bar never shows a shop, a user or a section as it
// was, and its sign-out form carries the page's own CSRF token: each field of
// the page's shop and user is changed in turn, and the bar kept is the bar
// rendered afresh with each token.
func TestTopBarKeyHoldsEverythingItShows(t *testing.T) {
	ctx := WithLocale(context.Background(), Locale{Lang: "ru", Loc: time.UTC})
	p := Page{Title: "Orders", Section: SectionOrders,
		Tenant: &model.Tenant{ID: 3, Slug: "demo", Name: "Demo <shop>", Language: "ru", Currency: "RUB", Timezone: "Europe/Moscow"},
		User: &model.User{ID: 5, TenantID: 3, Email: "olga@example.com", Name: "Olga & co", Role: model.RoleStaff, Active: true,
			CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), SessionVersion: 2, Language: "ru"},
		CSRF: "token"}
	render := func(p Page) string {
		var b strings.Builder
		if err := topBar(p).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	baseHTML, baseKey := render(p), topBarKeyOf(ctx, p)
	check := func(name string, v reflect.Value) {
		old := reflect.New(v.Type()).Elem()
		old.Set(v)
		if !changeField(t, name, v) {
			return
		}
		if render(p) != baseHTML && topBarKeyOf(ctx, p) == baseKey {
			t.Errorf("the bar shows %s, but its key does not hold it", name)
		}
		v.Set(old)
	}
	walkFields("Tenant.", reflect.ValueOf(p.Tenant).Elem(), check)
	walkFields("User.", reflect.ValueOf(p.User).Elem(), check)
	for _, role := range []model.Role{model.RoleOwner, model.RoleAdmin, model.RoleOperator} {
		q := p
		u := *p.User
		u.Role, q.User = role, &u
		if render(q) == baseHTML || topBarKeyOf(ctx, q) == baseKey {
			t.Errorf("the bar of a %s is the bar of staff, or has its key", role)
		}
	}
	for _, section := range []Section{SectionDashboard, SectionProcurement} {
		q := p
		q.Section = section
		if render(q) != baseHTML && topBarKeyOf(ctx, q) == baseKey {
			t.Errorf("the bar in section %s has the key of the orders' bar", section)
		}
	}
	en := WithLocale(context.Background(), Locale{Lang: "en", Loc: time.UTC})
	if topBarKeyOf(en, p) == baseKey {
		t.Error("the bar in English has the key of the same bar in Russian")
	}
	for _, token := range []string{"first", "second", `"><script>`} {
		q := p
		q.CSRF = token
		var b strings.Builder
		if err := cachedTopBar(q).Render(ctx, &b); err != nil {
			t.Fatal(err)
		}
		if want := render(q); b.String() != want {
			t.Fatalf("kept bar with token %q\n%s\nwant\n%s", token, b.String(), want)
		}
	}
}
