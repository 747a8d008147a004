package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"orderdesk/jobs"
	"orderdesk/model"
)

// The back office speaks in words: checkout fields by their names for
// people, how often a job runs, who did something.

func TestOrderSettingsNameTheCheckoutFieldsInWords(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	res, doc := owner.get("/admin/settings/orders")
	wantStatus(t, res, http.StatusOK)
	got := doc.Find(`[data-testid="required-field"]`).Text()
	for _, words := range []string{"First name", "Street and house", "Flat, suite, building", "Postal code", "Phone"} {
		if !strings.Contains(got, words) {
			t.Errorf("the required fields do not say %q: %q", words, got)
		}
	}
	for _, name := range []string{"first_name", "street1", "street2", "telephone", "zip"} {
		if strings.Contains(got, name) {
			t.Errorf("the required fields show the form name %q: %q", name, got)
		}
	}
}

func TestJobsPageSaysHowOftenInWords(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	res, doc := owner.get("/admin/jobs")
	wantStatus(t, res, http.StatusOK)
	card := doc.Find(`[data-testid="job"][data-job="` + jobs.ExpireUnpaidName + `"]`)
	if got := card.Find(`[data-testid="job-every"]`).Text(); got != "every 5 minutes" {
		t.Errorf("the expiry job runs %q", got)
	}
	if got := card.Find(`[data-testid="job-name"]`).Text(); got != "cancelling unpaid orders" {
		t.Errorf("the expiry job is called %q", got)
	}
	if page := doc.Find("main").Text(); strings.Contains(page, "5m0s") || strings.Contains(page, "every 10s") {
		t.Errorf("a Go duration on the page: %q", page)
	}
}

func TestIntegrationChangesNameThePerson(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	in := e.demoIntegration(t, model.ProviderCDEK)
	res, _ := owner.api("PATCH", fmt.Sprintf("/api/integrations/%d/", in.ID), map[string]any{"status": "disabled"})
	wantStatus(t, res, http.StatusOK)
	res, doc := owner.get(fmt.Sprintf("/admin/integrations/%d/edit", in.ID))
	wantStatus(t, res, http.StatusOK)
	actors := doc.Find(`[data-testid="integration-change-actor"]`)
	if actors.Length() < 2 {
		t.Fatalf("changes shown: %d", actors.Length())
	}
	// Newest first: the owner's change, then the demo's creation by OrderDesk.
	if got := actors.First().Text(); got != "owner@demo.test" {
		t.Errorf("the owner's change is by %q", got)
	}
	if got := actors.Last().Text(); got != "OrderDesk" {
		t.Errorf("the demo's creation is by %q", got)
	}
	if list := doc.Find(`[data-testid="integration-changes"]`).Text(); strings.Contains(list, "staff:") || strings.Contains(list, "system") {
		t.Errorf("machine words in the changes: %q", list)
	}
}

func TestIntegrationFormSaysWhatTheKeyIsForTheProvider(t *testing.T) {
	e := newEnv(t)
	owner := e.client(t, "")
	owner.login("owner@demo.test", demoPassword)
	in := e.demoIntegration(t, model.ProviderTinkoff)
	res, doc := owner.get(fmt.Sprintf("/admin/integrations/%d/edit", in.ID))
	wantStatus(t, res, http.StatusOK)
	key, secret := doc.Find(`[data-testid="api-key-label"]`).Text(), doc.Find(`[data-testid="api-secret-label"]`).Text()
	if !strings.Contains(key, "TerminalKey") || strings.Contains(key, "(for :") || !strings.Contains(secret, "Terminal password") {
		t.Errorf("the key is labelled %q, the secret %q", key, secret)
	}
}

// A user whose language is Russian reads every page of the back office
// outside the orders and the dashboard in Russian.
func TestRussianBackOfficeHeadings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	users, err := e.store.FindUsers(ctx, e.demo.ID)
	if err != nil {
		t.Fatal(err)
	}
	var owner *model.User
	for _, u := range users {
		if u.Email == "owner@demo.test" {
			owner = u
		}
	}
	if err := e.store.SetUserLanguage(ctx, e.demo.ID, owner.ID, "ru"); err != nil {
		t.Fatal(err)
	}
	in := e.demoIntegration(t, model.ProviderCDEK)
	c := e.client(t, "")
	c.login("owner@demo.test", demoPassword)
	for _, tc := range []struct{ path, h1 string }{
		{"/admin/integrations", "Интеграции"},
		{"/admin/integrations/new", "Добавить интеграцию"},
		{fmt.Sprintf("/admin/integrations/%d/edit", in.ID), "Изменить " + in.Name},
		{"/admin/payments", "Платежи"},
		{"/admin/procurement", "Закупки"},
		{"/admin/procurement/accounts", "Аккаунты Taobao"},
		{"/admin/procurement/ot/sessions", "OT Platform: сессии Taobao"},
		{"/admin/procurement/ot/activities", "Действия OT Platform"},
		{"/admin/jobs", "Фоновые задачи"},
		{"/admin/warehouse", "Склад"},
		{"/admin/messages", "Сообщения"},
		{"/admin/settings/orders", "Настройки заказов"},
		{"/admin/settings/delivery", "Настройки доставки"},
		{"/admin/settings/procurement", "Настройки закупок"},
		{"/admin/settings/users", "Пользователи"},
		{"/admin/settings/api-tokens", "API-токены"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, doc := c.get(tc.path)
			wantStatus(t, res, http.StatusOK)
			if got := strings.TrimSpace(doc.Find("main h1").First().Text()); got != tc.h1 {
				t.Errorf("h1 %q, want %q", got, tc.h1)
			}
			// Nothing of the page's own words is left in English.
			for _, english := range []string{"Status", "Order", "Save", "Name", "Provider"} {
				doc.Find("main th, main label, main button, main h2").Each(func(_ int, s *goquery.Selection) {
					if strings.TrimSpace(s.Text()) == english {
						t.Errorf("%q left in English", english)
					}
				})
			}
		})
	}
	res, doc := c.get("/admin/jobs")
	wantStatus(t, res, http.StatusOK)
	if got := doc.Find(`[data-job="` + jobs.ExpireUnpaidName + `"] [data-testid="job-every"]`).Text(); got != "каждые 5 минут" {
		t.Errorf("the expiry job runs %q in Russian", got)
	}
	if got := doc.Find(`[data-testid="job-run"]`).First().Text(); got != "Запустить" {
		t.Errorf("the run button says %q", got)
	}
}
