package gateway

import "strings"

// Accepts reports whether a provider takes payments in a currency, so that a
// checkout offers only the methods that can take the shop's money: T-Bank,
// Dolyami and Yandex Pay take roubles only, Kuveyt Türk TRY, USD, EUR and GBP,
// PayPal the currencies of its own list (not checked here).
func Accepts(provider, currency string) bool {
	c := strings.ToUpper(strings.TrimSpace(currency))
	switch provider {
	case Tinkoff, Dolyami, YandexPay:
		return c == "RUB"
	case Kuveyt:
		_, ok := kuveytCurrencies[c]
		return ok
	case PayPal:
		return c != ""
	}
	return false
}
