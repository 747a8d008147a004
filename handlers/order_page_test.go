package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/model"
	"orderdesk/views/locales"
)

// paidByCard places an order as a guest and pays it in T-Bank's sandbox.
func (e *env) paidByCard(t *testing.T) (*model.Order, *model.Payment) {
	t.Helper()
	c := e.client(t, "")
	o := e.placeOrder(t, c)
	pageURL, _ := e.startPayment(t, c, o, "tinkoff")
	e.browse(t, c, pageURL, "sandbox-pay")
	p := e.payments(t, o.ID)[0]
	if p.Status != model.PaymentCompleted {
		t.Fatalf("payment %s", p.Status)
	}
	return e.order(t, o.ID), p
}

// timelineEntries are the texts of the order page's timeline entries.
func timelineEntries(doc *goquery.Document) []string {
	var out []string
	doc.Find(`[data-testid="timeline"] [data-testid="event"]`).Each(func(_ int, s *goquery.Selection) {
		out = append(out, strings.Join(strings.Fields(s.Text()), " "))
	})
	return out
}

func TestOrderPageTimelineSaysEachEventOnceInWords(t *testing.T) {
	e := newEnv(t)
	o, pay := e.paidByCard(t)
	owner := e.owner(t)
	refund := fmt.Sprintf("/admin/payments/%d/refund", pay.ID)
	// Two partial refunds: the second leaves the payment partly refunded, as it was.
	for _, amount := range []string{"100.00", "50.00"} {
		res, _ := owner.postForm(refund, url.Values{"amount": {amount}, "confirm": {"1"}})
		wantStatus(t, res, http.StatusSeeOther)
	}
	res, doc := owner.get("/admin/orders/" + itoa(o.ID))
	wantStatus(t, res, http.StatusOK)
	entries := timelineEntries(doc)
	t.Logf("timeline:\n%s", strings.Join(entries, "\n"))
	if len(entries) == 0 || !strings.Contains(entries[0], "Order placed by Ahmet Yılmaz") {
		t.Fatalf("first entry: %q", entries)
	}
	for _, text := range entries {
		if strings.Count(text, "Order placed") > 1 {
			t.Errorf("said twice: %q", text)
		}
		if strings.Contains(text, "→") || strings.Contains(text, "partially_refunded") || strings.Contains(text, "customer:") || strings.Contains(text, "staff:") {
			t.Errorf("not in words: %q", text)
		}
	}
	count := func(s string) int {
		n := 0
		for _, text := range entries {
			if strings.Contains(text, s) {
				n++
			}
		}
		return n
	}
	// One entry per change of the payment, saying the order's payment status with it.
	if got := count("Payment " + pay.Number + ": Completed"); got != 1 {
		t.Errorf("%d entries of the payment completed, want 1", got)
	}
	if got := count("Payment " + pay.Number + ": Partially refunded"); got != 1 {
		t.Errorf("%d entries of the payment partly refunded, want 1 (the second refund changes nothing)", got)
	}
	if got := count("Payment status changed"); got != 0 {
		t.Errorf("the order's payment status has %d entries of its own, want it said with the payment's", got)
	}
	if got := count("the order is now Paid"); got != 1 {
		t.Errorf("%d entries say the order is paid, want 1", got)
	}
	// A refund asked for and made is one entry, saying it was made.
	if got := count(" reserved"); got != 0 {
		t.Errorf("%d refunds are said as reserved after they were made", got)
	}
	if got := count("Refund "); got != 2 {
		t.Errorf("%d refund entries, want 2", got)
	}
	if got := count("made by owner@demo.test"); got != 2 {
		t.Errorf("the refunds do not say who made them: %d", got)
	}
}

func TestOrderPageRefundForm(t *testing.T) {
	e := newEnv(t)
	o, pay := e.paidByCard(t)
	owner := e.owner(t)
	refund := fmt.Sprintf("/admin/payments/%d/refund", pay.ID)
	money := func(minor int64) string { return locales.Money("en", minor, pay.Currency) }

	t.Run("more than was paid is refused by the amount, keeping what was typed", func(t *testing.T) {
		htmx := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Hx-Request": {"true"}, "Hx-Target": {"order-payments"}}
		res, body := owner.do("POST", refund, strings.NewReader(url.Values{"amount": {"999999.00"}, "_csrf": {owner.csrf()}}.Encode()), htmx)
		wantStatus(t, res, http.StatusOK)
		part := parseHTML(t, body)
		if strings.Contains(body, "<html") || part.Find(`#order-payments`).Length() != 1 {
			t.Error("htmx did not get the payments block alone")
		}
		for name, doc := range map[string]*goquery.Document{"htmx": part} {
			checkRefundError(t, name, doc, pay, money)
		}
		res, doc := owner.postForm(refund, url.Values{"amount": {"999999.00"}})
		wantStatus(t, res, http.StatusUnprocessableEntity)
		checkRefundError(t, "page", doc, pay, money)
		if got := e.payment(t, pay.ID); got.RefundedAmount != 0 {
			t.Errorf("refunded %d", got.RefundedAmount)
		}
	})

	t.Run("the confirmation asks in words with both amounts", func(t *testing.T) {
		res, doc := owner.postForm(refund, url.Values{"amount": {"100.00"}})
		wantStatus(t, res, http.StatusOK)
		want := "Refund " + money(10000) + " of " + money(pay.Amount) + "?"
		if got := strings.TrimSpace(doc.Find(`[data-testid="refund-confirm-text"]`).Text()); got != want {
			t.Errorf("confirmation: got %q, want %q", got, want)
		}
	})

	t.Run("after a partial refund the totals and the margin show it", func(t *testing.T) {
		// The lines were bought: 10.00 of the shop's money each.
		if _, err := e.store.DB.W.Exec(`UPDATE order_lines SET cost_fen = 500, cost_minor = 1000, purchase_id = 'P-1' WHERE order_id = ?`, o.ID); err != nil {
			t.Fatal(err)
		}
		res, _ := owner.postForm(refund, url.Values{"amount": {"100.00"}, "confirm": {"1"}})
		wantStatus(t, res, http.StatusSeeOther)
		res, doc := owner.get("/admin/orders/" + itoa(o.ID))
		wantStatus(t, res, http.StatusOK)
		margin, err := e.store.FindOrderMargin(context.Background(), e.demo.ID, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		for id, want := range map[string]string{
			"detail-total":         money(o.Total),
			"detail-paid":          money(pay.Amount),
			"detail-refunded":      "−" + money(10000),
			"detail-net-paid":      money(pay.Amount - 10000),
			"margin-after-refunds": "Margin after refunds " + money(margin.Margin-10000),
		} {
			if got := strings.TrimSpace(doc.Find(`[data-testid="` + id + `"]`).Text()); got != want {
				t.Errorf("%s: got %q, want %q", id, got, want)
			}
		}
	})
}

func checkRefundError(t *testing.T, name string, doc *goquery.Document, pay *model.Payment, money func(int64) string) {
	t.Helper()
	input := doc.Find(`#refund-amount-` + itoa(pay.ID))
	if v, _ := input.Attr("value"); v != "999999.00" {
		t.Errorf("%s: the amount typed is not kept: %q", name, v)
	}
	errText := doc.Find(`#refund-amount-` + itoa(pay.ID) + `-error`).Text()
	if !strings.Contains(errText, "up to "+money(pay.Amount)) {
		t.Errorf("%s: error by the amount: %q", name, errText)
	}
	if d, _ := input.Attr("aria-describedby"); d != "refund-amount-"+itoa(pay.ID)+"-error" {
		t.Errorf("%s: the amount is not described by its error: %q", name, d)
	}
	if doc.Find(`label[for="refund-amount-`+itoa(pay.ID)+`"]`).Length() != 1 {
		t.Errorf("%s: the amount has no label", name)
	}
}

func TestOrderPageShowsOnlyTheActionsOfTheRole(t *testing.T) {
	e := newEnv(t)
	o, pay := e.paidByCard(t)
	staff := e.client(t, "")
	staff.login("staff@demo.test", demoPassword)
	owner := e.owner(t)
	page := "/admin/orders/" + itoa(o.ID)

	res, doc := owner.get(page)
	wantStatus(t, res, http.StatusOK)
	if doc.Find(`[data-testid="refund-form"]`).Length() != 1 || doc.Find(`[data-testid="status-refunded"]`).Length() != 1 {
		t.Error("the owner is not offered the refund")
	}
	res, doc = staff.get(page)
	wantStatus(t, res, http.StatusOK)
	if n := doc.Find(`[data-testid="refund-form"], [data-testid="refund-submit"], [data-testid="status-refunded"]`).Length(); n != 0 {
		t.Errorf("staff see %d refund buttons", n)
	}
	// And the rule the page follows is the route's.
	res, _ = staff.postForm(fmt.Sprintf("/admin/payments/%d/refund", pay.ID), url.Values{"amount": {"1.00"}, "confirm": {"1"}})
	wantStatus(t, res, http.StatusForbidden)
	for _, r := range model.Roles {
		if got, want := r.Can(model.ActionRefund), r == model.RoleOwner || r == model.RoleAdmin; got != want {
			t.Errorf("%s may refund: %v, want %v", r, got, want)
		}
	}
}

func TestOrderPageAndDeskSpeakTheUsersLanguage(t *testing.T) {
	e := newEnv(t)
	_, pay := e.paidByCard(t)
	if _, err := e.store.DB.W.Exec(`UPDATE users SET language = 'ru' WHERE email = 'owner@demo.test'`); err != nil {
		t.Fatal(err)
	}
	owner := e.owner(t)
	res, doc := owner.postForm(fmt.Sprintf("/admin/payments/%d/refund", pay.ID), url.Values{"amount": {"100.00"}})
	wantStatus(t, res, http.StatusOK)
	want := "Вернуть " + locales.Money("ru", 10000, pay.Currency) + " из " + locales.Money("ru", pay.Amount, pay.Currency) + "?"
	if got := strings.TrimSpace(doc.Find(`[data-testid="refund-confirm-text"]`).Text()); got != want {
		t.Errorf("confirmation: got %q, want %q", got, want)
	}
	if !strings.Contains(want, "100,00\u00a0₽") {
		t.Errorf("Russian money: %q", want)
	}
	res, doc = owner.get("/admin/orders?limit=5&status=")
	wantStatus(t, res, http.StatusOK)
	total := len(demoOrders(t, e, model.OrderFilter{}))
	if got := strings.TrimSpace(doc.Find(`[data-testid="page-range"]`).Text()); got != fmt.Sprintf("1–5 из %d", total) {
		t.Errorf("range: %q", got)
	}
	if got := strings.TrimSpace(doc.Find(`[data-testid="tab-all"]`).Text()); !strings.HasPrefix(got, "Все") {
		t.Errorf("All tab: %q", got)
	}
}
