package model

import "orderdesk/views/locales"

// Label returns the human label of a status key such as "order.shipped" in
// lang: the message "common.status.order.shipped" of the message files
// (views/locales), in English where lang lacks it, and the key itself for a
// status no file knows.
func Label(lang, key string) string {
	id := "common.status." + key
	if !locales.Has(id) {
		return key
	}
	return locales.T(lang, id)
}

// Label is the status's human label in lang.
func (s OrderStatus) Label(lang string) string { return Label(lang, "order."+string(s)) }

// Label is the status's human label in lang.
func (s OrderPaymentStatus) Label(lang string) string { return Label(lang, "payment."+string(s)) }

// Label is the status's human label in lang.
func (s ProcurementStatus) Label(lang string) string { return Label(lang, "procurement."+string(s)) }

// Label is the payment's status in lang.
func (s PaymentStatus) Label(lang string) string { return Label(lang, "payment_record."+string(s)) }

// Label is the integration's mode in lang: test mode, live, disabled.
func (s IntegrationStatus) Label(lang string) string { return Label(lang, "integration."+string(s)) }
