package gateway

import (
	"errors"
	"strings"

	"orderdesk/providers/dolyami"
	"orderdesk/providers/kuveyt"
	"orderdesk/providers/paypal"
	"orderdesk/providers/tinkoff"
	"orderdesk/providers/yandexpay"
)

// provider is what the gateway knows of one payment provider, so that adding
// one is one entry in table rather than a case in every function that asks.
type provider struct {
	// name is the provider's name for people.
	name string
	// open builds the provider's Gateway from a checked Config.
	open func(Config) (Gateway, error)
	// accepts reports whether the provider takes payments in an upper-case
	// ISO currency code.
	accepts func(currency string) bool
	// explain is the provider package's sentence for one of its errors.
	explain func(error) string
	// badSignature explains a notification (or 3-D Secure answer) that
	// failed its check.
	badSignature func(error) string
}

// table holds every payment provider, by its type name (Providers).
var table = map[string]provider{
	Tinkoff: {
		name: "T-Bank (Tinkoff)", open: newTinkoff, accepts: roublesOnly, explain: tinkoff.Explain,
		badSignature: says("A T-Bank notification failed the signature check (or was for another terminal) and was ignored: check the terminal password, or someone sent a fake notification."),
	},
	Dolyami: {
		name: "Dolyami", open: newDolyami, accepts: roublesOnly, explain: dolyami.Explain,
		badSignature: says("A Dolyami notification could not be confirmed with Dolyami (unreadable, or for an order Dolyami does not know) and was ignored."),
	},
	YandexPay: {
		name: "Yandex Pay", open: newYandexPay, accepts: roublesOnly, explain: yandexpay.Explain,
		badSignature: func(err error) string {
			switch {
			case errors.Is(err, yandexpay.ErrExpired):
				return "A Yandex Pay notification arrived expired and was ignored; the payment is checked by polling instead."
			case errors.Is(err, yandexpay.ErrMerchantMismatch):
				return "A Yandex Pay notification was meant for another merchant account and was ignored: check the integration's merchant id."
			}
			return "A message claiming to come from Yandex Pay had a wrong signature and was ignored."
		},
	},
	// PayPal takes the currencies of its own list, which it checks itself.
	PayPal: {
		name: "PayPal", open: newPayPal, accepts: func(c string) bool { return c != "" }, explain: paypal.Explain,
		badSignature: says("PayPal says this payment notification is not genuine; it was ignored."),
	},
	Kuveyt: {
		name: "Kuveyt Türk", open: newKuveyt, explain: kuveyt.Explain,
		accepts: func(c string) bool {
			_, ok := kuveytCurrencies[c]
			return ok
		},
		badSignature: says("The bank's 3-D Secure answer could not be confirmed with the bank (already used, for another order, or forged); no money was taken by it."),
	},
}

// Accepts reports whether a provider takes payments in a currency, so that a
// checkout offers only the methods that can take the shop's money: T-Bank,
// Dolyami and Yandex Pay take roubles only, Kuveyt Türk TRY, USD, EUR and GBP,
// PayPal the currencies of its own list (not checked here).
func Accepts(provider, currency string) bool {
	p, ok := table[provider]
	return ok && p.accepts(strings.ToUpper(strings.TrimSpace(currency)))
}

func roublesOnly(c string) bool { return c == "RUB" }

// says is an explanation that is the same whatever the error.
func says(sentence string) func(error) string {
	return func(error) string { return sentence }
}
