package views

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/a-h/templ"
	lru "github.com/hashicorp/golang-lru/v2"

	"orderdesk/model"
)

// fragments keeps parts of pages as rendered, each under a key that holds
// everything the part is made of, so that a change to any of it is another
// key, never a stale part. Rendering with templ escapes and writes each value
// on its own; parts that the next view of the same page shows again
// unchanged (the desk's rows, the dashboard's sales) were most of their
// pages' time. A part may have holes where each request's own value goes
// (the CSRF token of a form): it is kept cut at its holes, and filled in as
// it is written.
type fragments[K comparable] struct{ kept *lru.Cache[K, []string] }

func newFragments[K comparable](size int) fragments[K] {
	c, err := lru.New[K, []string](size)
	if err != nil {
		panic(err) // only for a size below one
	}
	return fragments[K]{c}
}

// hole stands in for the value of a request in a part rendered to be kept:
// random for each process and never sent, letters and digits so that
// escaping leaves it as it is.
var hole = "hole" + rand.Text()

// write writes the part kept under k with fill, escaped as templ escapes an
// attribute's value, in its holes. The first time, part renders it with hole
// for the value (a part without a hole ignores it) and it is kept; a part
// that is kept is not even made (a desk's fifty rows were fifty components
// made for nothing).
func (f fragments[K]) write(ctx context.Context, w io.Writer, k K, part func(fill string) templ.Component, fill string) error {
	pieces, ok := f.kept.Get(k)
	if !ok {
		var b strings.Builder
		if err := part(hole).Render(ctx, &b); err != nil {
			return err
		}
		pieces = strings.Split(b.String(), hole)
		f.kept.Add(k, pieces)
	}
	fill = templ.EscapeString(fill)
	for i, p := range pieces {
		if i > 0 {
			if _, err := io.WriteString(w, fill); err != nil {
				return err
			}
		}
		if _, err := io.WriteString(w, p); err != nil {
			return err
		}
	}
	return nil
}

// deskRowsKept is how many rendered rows of the order desk are kept: the
// first pages of every tab of a busy shop, in each language its staff use,
// at about 1.3 kB a row.
const deskRowsKept = 4096

// deskRows are the order desk's rows. A row is some twenty values each
// escaped and written, its labels and money formatted and its checkbox's
// label filled in; that was four tenths of the desk's time.
var deskRows = newFragments[deskRowKey](deskRowsKept)

// deskRowKey is everything deskRow shows: the page's language and time zone,
// whether the row is ticked, and the order's values the row reads.
// TestDeskRowKeyHoldsEverythingTheRowShows holds it to that.
type deskRowKey struct {
	lang, zone string
	checked    bool

	id, incrementID, total, createdNanos                         int64
	itemCount                                                    int
	number, email, firstName, lastName, currency, procurementErr string
	status                                                       model.OrderStatus
	payment                                                      model.OrderPaymentStatus
	procurement                                                  model.ProcurementStatus
}

func deskRowKeyOf(ctx context.Context, o *model.Order, checked bool) deskRowKey {
	l := LocaleOf(ctx)
	return deskRowKey{
		lang: l.Lang, zone: l.Loc.String(), checked: checked,
		id: o.ID, incrementID: o.IncrementID, total: o.Total, createdNanos: o.CreatedAt.UnixNano(),
		itemCount: o.ItemCount,
		number:    o.Number, email: o.Address.Email, firstName: o.Address.FirstName, lastName: o.Address.LastName,
		currency: o.Currency, procurementErr: o.ProcurementError,
		status: o.Status, payment: o.PaymentStatus, procurement: o.ProcurementStatus,
	}
}

// cachedDeskRow writes deskRow as kept in deskRows.
func cachedDeskRow(o *model.Order, checked bool) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return deskRows.write(ctx, w, deskRowKeyOf(ctx, o, checked), func(string) templ.Component { return deskRow(o, checked) }, "")
	})
}

// salesKept is how many dashboards' sales sections are kept: a shop's week
// changes with its orders, and is shown in a language or two.
const salesKept = 256

// salesSections are the dashboards' sales sections (figures, chart and its
// table): a hundred values formatted as money, dates and chart geometry, a
// sixth of the dashboard's time.
var salesSections = newFragments[salesKey](salesKept)

// salesKey is everything salesSection shows: the page's language and time
// zone, the currency and each day's totals (Day as its instant and zone).
type salesKey struct{ lang, zone, currency, days string }

func salesKeyOf(ctx context.Context, days []model.DayTotals, currency string) salesKey {
	l := LocaleOf(ctx)
	// Written out by hand: fmt's %v of the week was most of this kept part's
	// time (0.53 of 0.60 s in a profile of the dashboard).
	b := make([]byte, 0, 64*len(days))
	for _, d := range days {
		b = append(b, d.Day.Location().String()...)
		for _, n := range []int64{d.Day.UnixNano(), int64(d.PaidOrders), d.Sales, d.Refunds, d.Cost} {
			b = append(b, ' ')
			b = strconv.AppendInt(b, n, 10)
		}
		b = append(b, '\n')
	}
	return salesKey{lang: l.Lang, zone: l.Loc.String(), currency: currency, days: string(b)}
}

// cachedSalesSection writes salesSection as kept in salesSections.
func cachedSalesSection(days []model.DayTotals, currency string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return salesSections.write(ctx, w, salesKeyOf(ctx, days, currency), func(string) templ.Component { return salesSection(days, currency) }, "")
	})
}

// trackFactsKept is how many orders' tracking facts are kept, per language.
const trackFactsKept = 4096

// trackFactsParts are the tracking page's statuses, story and facts of an
// order: the page's busiest part, shown again and again unchanged to the
// customer waiting for the order.
var trackFactsParts = newFragments[trackFactsKey](trackFactsKept)

// trackFactsKey is everything trackFacts shows: the page's language and time
// zone, the order's values it reads (times as Unix nanoseconds, -1 for none)
// and its story written out. TestTrackFactsKeyHoldsEverythingTheyShow holds it
// to that.
type trackFactsKey struct {
	lang, zone                                          string
	status                                              model.OrderStatus
	payment                                             model.OrderPaymentStatus
	shippingName, trackingNumber, trackingURL, currency string
	created, shipped, delivered, total                  int64
	items                                               int
	story                                               string
}

func trackFactsKeyOf(ctx context.Context, o *model.Order, story []model.TrackStep) trackFactsKey {
	l := LocaleOf(ctx)
	var b strings.Builder
	for _, s := range story {
		// Unit and record separators: no key, track or link holds them.
		fmt.Fprintf(&b, "%s\x1f%d\x1f%s\x1f%s\x1f%s\x1e", s.Key, nanosOrNone(s.At), s.Detail, s.Carrier, s.URL)
	}
	return trackFactsKey{
		lang: l.Lang, zone: l.Loc.String(), status: o.Status, payment: o.PaymentStatus,
		shippingName: o.ShippingName, trackingNumber: o.TrackingNumber, trackingURL: o.TrackingURL, currency: o.Currency,
		created: o.CreatedAt.UnixNano(), shipped: nanosOrNone(o.ShippedAt), delivered: nanosOrNone(o.DeliveredAt), total: o.Total,
		items: o.ItemCount, story: b.String(),
	}
}

// nanosOrNone is a time that may not have happened yet, as Unix nanoseconds
// (-1 when it has not).
func nanosOrNone(t *time.Time) int64 {
	if t == nil {
		return -1
	}
	return t.UnixNano()
}

// cachedTrackFacts writes trackFacts as kept in trackFactsParts.
func cachedTrackFacts(o *model.Order, story []model.TrackStep) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return trackFactsParts.write(ctx, w, trackFactsKeyOf(ctx, o, story), func(string) templ.Component { return trackFacts(o, story) }, "")
	})
}

// productCardsKept is how many rendered cards of the storefront are kept:
// every product of a few hundred shelves, in each language shown.
const productCardsKept = 4096

// productCards are the storefront's cards, the shelf's page all but its
// frame: each a dozen values escaped and written, money formatted and the
// labels of its form; the CSRF token of its form is a hole.
var productCards = newFragments[productCardKey](productCardsKept)

// productCardKey is everything productCard shows: the page's language, the
// shop's currency and whether it buys to order, and the product's values
// the card reads. TestProductCardKeyHoldsEverythingItShows holds it to that.
type productCardKey struct {
	lang, currency     string
	zeroStock          bool
	id, price          int64
	stock              int
	title, description string
}

func productCardKeyOf(ctx context.Context, t *model.Tenant, p *model.Product) productCardKey {
	return productCardKey{lang: LocaleOf(ctx).Lang, currency: t.Currency, zeroStock: t.ZeroStock,
		id: p.ID, price: p.Price, stock: p.Stock, title: p.Title, description: p.Description}
}

// cachedProductCard writes productCard as kept in productCards, with csrf in
// its form.
func cachedProductCard(t *model.Tenant, p *model.Product, csrf string) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		card := func(csrf string) templ.Component { return productCard(t, p, csrf) }
		return productCards.write(ctx, w, productCardKeyOf(ctx, t, p), card, csrf)
	})
}

// shopHeadersKept is how many storefront headers are kept: per shop,
// language, page, cart size and signed-in customer.
const shopHeadersKept = 1024

// shopHeaders are the storefront's headers (name, menu, who is signed in),
// the CSRF token of the sign-out form a hole.
var shopHeaders = newFragments[shopHeaderKey](shopHeadersKept)

// shopHeaderKey is everything shopHeader shows but the CSRF token: the page's
// language and the header's values.
type shopHeaderKey struct {
	lang                    string
	shop, customer, current string
	cartCount               int
}

// cachedShopHeader writes shopHeader as kept in shopHeaders, with h.CSRF in
// its form.
func cachedShopHeader(h ShopHeader) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		k := shopHeaderKey{lang: LocaleOf(ctx).Lang, shop: h.Shop, customer: h.Customer, current: h.Current, cartCount: h.CartCount}
		header := func(csrf string) templ.Component {
			h := h
			h.CSRF = csrf
			return shopHeader(h)
		}
		return shopHeaders.write(ctx, w, k, header, h.CSRF)
	})
}

// topBarsKept is how many back-office bars are kept: per shop, member of
// staff, section and language.
const topBarsKept = 4096

// topBars are the back office's bars (the shop, the sections of the user's
// role, who is signed in), on every page of it; the CSRF token of the
// sign-out form is a hole.
var topBars = newFragments[topBarKey](topBarsKept)

// topBarKey is everything topBar shows but the CSRF token: the page's
// language, the shop's name, the user's name, e-mail and role, and the
// page's section. TestTopBarKeyHoldsEverythingItShows holds it to that.
type topBarKey struct {
	lang, shop, name, email string
	role                    model.Role
	section                 Section
}

func topBarKeyOf(ctx context.Context, p Page) topBarKey {
	return topBarKey{lang: LocaleOf(ctx).Lang, shop: p.Tenant.Name, name: p.User.Name, email: p.User.Email,
		role: p.User.Role, section: p.Section}
}

// cachedTopBar writes topBar as kept in topBars, with p.CSRF in its form.
func cachedTopBar(p Page) templ.Component {
	return templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		bar := func(csrf string) templ.Component {
			p := p
			p.CSRF = csrf
			return topBar(p)
		}
		return topBars.write(ctx, w, topBarKeyOf(ctx, p), bar, p.CSRF)
	})
}
