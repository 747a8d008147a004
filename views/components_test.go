package views

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/a-h/templ"

	"orderdesk/model"
)

// render renders c as a page in lang would, in Istanbul's time zone.
func render(t *testing.T, lang string, c templ.Component) *goquery.Document {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Istanbul")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	ctx := WithLocale(context.Background(), Locale{Lang: lang, Loc: loc})
	if err := c.Render(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	doc, err := goquery.NewDocumentFromReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestPaginationSaysWhichRowsOfHowMany(t *testing.T) {
	link := func(off int) string { return "/admin/orders?offset=" + strconv.Itoa(off) }
	cases := []struct {
		name, lang       string
		pager            Pager
		want, prev, next string
	}{
		{"the second page of many in English", "en", Pager{Offset: 50, Limit: 50, Total: 1234, Link: link}, "51–100 of 1,234", "/admin/orders?offset=0", "/admin/orders?offset=100"},
		{"the same page in Russian groups with a space", "ru", Pager{Offset: 50, Limit: 50, Total: 1234, Link: link}, "51–100 из 1\u00a0234", "/admin/orders?offset=0", "/admin/orders?offset=100"},
		{"the same page in Turkish groups with a dot", "tr", Pager{Offset: 50, Limit: 50, Total: 1234, Link: link}, "51–100 / 1.234", "/admin/orders?offset=0", "/admin/orders?offset=100"},
		{"the last, short page has no Next", "en", Pager{Offset: 1200, Limit: 50, Total: 1234, Link: link}, "1,201–1,234 of 1,234", "/admin/orders?offset=1150", ""},
		{"the first page has no Previous", "en", Pager{Offset: 0, Limit: 50, Total: 7, Link: link}, "1–7 of 7", "", ""},
		{"an empty list says so", "en", Pager{Limit: 50, Link: link}, "Nothing to show", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := render(t, tc.lang, Pagination(tc.pager))
			if got := doc.Find(`[data-testid="pagination-range"]`).Text(); got != tc.want {
				t.Errorf("range = %q, want %q", got, tc.want)
			}
			if got, _ := doc.Find(`[data-testid="pagination-previous"]`).Attr("href"); got != tc.prev {
				t.Errorf("previous = %q, want %q", got, tc.prev)
			}
			if got, _ := doc.Find(`[data-testid="pagination-next"]`).Attr("href"); got != tc.next {
				t.Errorf("next = %q, want %q", got, tc.next)
			}
		})
	}
	doc := render(t, "ru", Pagination(Pager{Offset: 50, Limit: 50, Total: 1234, Link: link}))
	if got := doc.Find(`[data-testid="pagination-next"]`).Text(); got != "Вперёд" {
		t.Errorf("Russian Next = %q, want Вперёд", got)
	}
}

func TestMoneyIsOneFigureInTheLocalesFormat(t *testing.T) {
	doc := render(t, "ru", Money(508900, "RUB"))
	s := doc.Find("span.money")
	if got, want := s.Text(), "5\u00a0089,00\u00a0₽"; got != want {
		t.Errorf("money = %q, want %q", got, want)
	}
	if strings.Contains(s.Text(), " ") {
		t.Errorf("money %q has a breaking space", s.Text())
	}
	doc = render(t, "tr", MoneyAttrs(123456, "TRY", templ.Attributes{"data-testid": "grand-total", "class": "grand"}))
	if got, want := doc.Find(`[data-testid="grand-total"].money.grand`).Text(), "₺1.234,56"; got != want {
		t.Errorf("grand total = %q, want %q", got, want)
	}
}

func TestDatesAreInTheShopsZone(t *testing.T) {
	at := time.Date(2025, 11, 27, 11, 5, 0, 0, time.UTC) // 14:05 in Istanbul
	doc := render(t, "tr", DateTime(at))
	el := doc.Find("time")
	if got, want := el.Text(), "27.11.2025 14:05"; got != want {
		t.Errorf("date-time = %q, want %q", got, want)
	}
	if got, _ := el.Attr("datetime"); got != "2025-11-27T14:05:00+03:00" {
		t.Errorf("datetime = %q", got)
	}
	doc = render(t, "en", Relative(at, at.Add(3*time.Hour+20*time.Minute)))
	if got, want := doc.Find("time").Text(), "in 3 h 20 min"; got != want {
		t.Errorf("relative = %q, want %q", got, want)
	}
}

func TestLiveAndTestBadgesLookDifferent(t *testing.T) {
	live := render(t, "en", IntegrationModeBadge(model.IntegrationActive)).Find(`[data-testid="integration-status"]`)
	test := render(t, "en", IntegrationModeBadge(model.IntegrationTest)).Find(`[data-testid="integration-status"]`)
	lc, _ := live.Attr("class")
	tc, _ := test.Attr("class")
	if lc == tc {
		t.Errorf("live and test badges share the class %q", lc)
	}
	if live.Text() != "Live" || test.Text() != "Test mode" {
		t.Errorf("labels = %q, %q", live.Text(), test.Text())
	}
	if got := render(t, "tr", OrderStatusBadge(model.OrderShipped)).Find(`[data-testid="order-status"]`).Text(); got == "" || got == "Shipped" || got == "shipped" {
		t.Errorf("Turkish order badge = %q, want the Turkish word", got)
	}
}

func TestFieldErrorIsTiedToItsInput(t *testing.T) {
	doc := render(t, "en", Field(FieldProps{Name: "amount", Label: "Amount", Value: "abc", Error: "enter an amount like 150.00", Help: "In the order's currency", Required: true, TestID: "refund-amount"}))
	in := doc.Find(`input[data-testid="refund-amount"]`)
	id, _ := in.Attr("id")
	if got, _ := doc.Find("label").Attr("for"); got != id || id == "" {
		t.Errorf("label for = %q, input id = %q", got, id)
	}
	if got, _ := in.Attr("value"); got != "abc" {
		t.Errorf("value = %q, want what was typed", got)
	}
	if got, _ := in.Attr("aria-invalid"); got != "true" {
		t.Errorf("aria-invalid = %q", got)
	}
	desc, _ := in.Attr("aria-describedby")
	for _, want := range []string{"amount-error", "amount-help"} {
		ok := false
		for _, ref := range strings.Fields(desc) {
			if strings.HasSuffix(ref, want) && doc.Find("#"+ref).Length() == 1 {
				ok = true
			}
		}
		if !ok {
			t.Errorf("aria-describedby %q does not name the %s element", desc, want)
		}
	}
	if got := doc.Find(`[data-testid="field-error"]`).Text(); got != "enter an amount like 150.00" {
		t.Errorf("error = %q", got)
	}
}

func TestHtmxFormDisablesItsButtonsAndShowsASpinner(t *testing.T) {
	c := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		return Form(FormProps{Action: "/admin/orders/1/refunds", CSRF: "tok", Hx: true, Target: "#refund", Confirm: "Refund?", TestID: "refund-form"}).
			Render(templ.WithChildren(ctx, Button(ButtonProps{Label: "Refund", Kind: "danger"})), w)
	})
	doc := render(t, "en", c)
	f := doc.Find(`form[data-testid="refund-form"]`)
	for attr, want := range map[string]string{"method": "post", "action": "/admin/orders/1/refunds", "hx-post": "/admin/orders/1/refunds", "hx-target": "#refund", "hx-disabled-elt": "find button", "hx-indicator": "find .spinner", "hx-confirm": "Refund?"} {
		if got, _ := f.Attr(attr); got != want {
			t.Errorf("%s = %q, want %q", attr, got, want)
		}
	}
	if got, _ := f.Find(`input[name="_csrf"]`).Attr("value"); got != "tok" {
		t.Errorf("csrf = %q", got)
	}
	if f.Find("button.danger .spinner.htmx-indicator").Length() != 1 {
		t.Error("the button has no spinner")
	}
	b := render(t, "en", Button(ButtonProps{Label: "Run now", Attrs: templ.Attributes{"hx-post": "/admin/jobs/x/run"}})).Find("button")
	if got, _ := b.Attr("hx-disabled-elt"); got != "this" {
		t.Errorf("a button posting by itself: hx-disabled-elt = %q, want this", got)
	}
}

func TestTableCellsNameTheirColumn(t *testing.T) {
	c := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
		row := templ.ComponentFunc(func(ctx context.Context, w io.Writer) error {
			if _, err := io.WriteString(w, "<tr>"); err != nil {
				return err
			}
			if err := Cell("Customer").Render(templ.WithChildren(ctx, templ.Raw("Maria")), w); err != nil {
				return err
			}
			_, err := io.WriteString(w, "</tr>")
			return err
		})
		return Table("orders-table", []string{"Customer"}).Render(templ.WithChildren(ctx, row), w)
	})
	doc := render(t, "en", c)
	if doc.Find(`table.stack[data-testid="orders-table"] thead th[scope="col"]`).Text() != "Customer" {
		t.Error("no column heading")
	}
	if got, _ := doc.Find("tbody td").Attr("data-label"); got != "Customer" {
		t.Errorf("data-label = %q", got)
	}
}
