package views

import (
	"context"
	"strings"
	"time"

	"orderdesk/model"
	"orderdesk/views/locales"
)

// People is who an actor's e-mail stands for: staff and customers by
// e-mail, their names as a page shows them. A page's handler fills it from
// the users and customers the page mentions; an e-mail it lacks is shown as
// the e-mail.
type People map[string]string

// actorName says who made a change in words, never as the stored
// "staff:owner@demo.test": the person's name (else e-mail), "customer Maria
// Ivanova", "OrderDesk" for the system, "OrderDesk (buying paid orders on
// Taobao)" for a job, the provider's or carrier's name.
func actorName(ctx context.Context, a model.Actor, people People) string {
	return ActorName(lang(ctx), a, people)
}

// ActorName is actorName in lang, for text built outside a page (e-mails,
// API answers, exports).
func ActorName(lang string, a model.Actor, people People) string {
	kind, who, _ := strings.Cut(string(a), ":")
	person := func() string {
		if n := people[who]; n != "" {
			return n
		}
		return who
	}
	switch kind {
	case "", "system":
		return locales.T(lang, "common.actor.system")
	case "staff":
		return person()
	case "customer":
		if who == "" {
			return locales.T(lang, "common.actor.guest")
		}
		return locales.T(lang, "common.actor.customer", map[string]any{"Name": person()})
	case "job":
		if who == "cli" {
			return locales.T(lang, "common.actor.cli")
		}
		return locales.T(lang, "common.actor.job", map[string]any{"Job": JobName(lang, who)})
	case "provider", "carrier":
		return locales.T(lang, "common.actor.provider", map[string]any{"Name": providerName(who)})
	}
	return string(a)
}

// userName is how the top bar and the pages name a staff user: their name,
// else their e-mail.
func userName(u *model.User) string {
	if u == nil {
		return ""
	}
	if n := strings.TrimSpace(u.Name); n != "" {
		return n
	}
	return u.Email
}

// JobName is a background job's name in words ("buying paid orders on
// Taobao"); a job the files do not know keeps its name.
func JobName(lang, name string) string {
	id := "common.job." + name
	if !locales.Has(id) {
		return name
	}
	return locales.T(lang, id)
}

// jobName is JobName in the page's language.
func jobName(ctx context.Context, name string) string { return JobName(lang(ctx), name) }

// FieldName is a form or API field's name in words: "first_name" → "First
// name". A field the files do not know reads as its words ("shipping_zone"
// → "Shipping zone") rather than as a code.
func FieldName(lang, field string) string {
	id := "common.field." + field
	if locales.Has(id) {
		return locales.T(lang, id)
	}
	words := strings.TrimSpace(strings.ReplaceAll(strings.ReplaceAll(field, "_", " "), ".", " "))
	if words == "" {
		return field
	}
	return strings.ToUpper(words[:1]) + words[1:]
}

// fieldName is FieldName in the page's language.
func fieldName(ctx context.Context, field string) string { return FieldName(lang(ctx), field) }

// duration says a length of time in words: "2 days", "5 h 20 min", "7 min"
// (never "5m0s").
func duration(ctx context.Context, d time.Duration) string { return locales.Duration(lang(ctx), d) }

// providerName is a provider's or carrier's code as people know it.
func providerName(code string) string {
	if n, ok := providerNames[code]; ok {
		return n
	}
	return code
}

// providerNames are the brand names of the providers OrderDesk talks to.
var providerNames = map[string]string{
	string(model.ProviderKuveyt):     "Kuveyt Türk",
	string(model.ProviderTinkoff):    "T-Bank",
	string(model.ProviderDolyami):    "Dolyami",
	string(model.ProviderYandexPay):  "Yandex Pay",
	string(model.ProviderPayPal):     "PayPal",
	string(model.ProviderTaobao):     "Taobao",
	string(model.ProviderOTAPI):      "OT Platform",
	string(model.ProviderCDEK):       "CDEK",
	string(model.ProviderDostavista): "Dostavista",
	string(model.ProviderWazzup):     "Wazzup",
}
