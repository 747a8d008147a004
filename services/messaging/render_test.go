package messaging

import (
	"strings"
	"testing"

	"orderdesk/model"
)

// TestEveryKindIsWrittenInEveryLanguage: each kind of message, in each
// language, names the shop, the order and what the customer needs (the
// amount, the links, the track, the courier), and says it in the shop's
// language.
func TestEveryKindIsWrittenInEveryLanguage(t *testing.T) {
	d := Data{Shop: "Bruler", Number: "ORD-DEMO-20261202-1A2B3C4D", Amount: "5,089.00 RUB", Name: "Анна",
		TrackURL: "http://demo.localhost:8080/track/ORD-DEMO-20261202-1A2B3C4D", PayURL: "http://demo.localhost:8080/track/ORD-DEMO-20261202-1A2B3C4D",
		PaymentNumber: "PAY-DEMO-20261202-99AA", Carrier: "CDEK", Track: "1106000001", CarrierURL: "https://www.cdek.ru/ru/tracking?order_id=1106000001",
		CourierName: "Иван Курьеров", CourierPhone: "+7 999 000-11-22"}
	// A word of each language that its texts use, and no other's.
	words := map[string]string{"en": "order", "ru": "заказ", "tr": "sipariş"}
	for _, lang := range Languages {
		for _, kind := range model.MessageKinds {
			t.Run(lang+" "+kind, func(t *testing.T) {
				r, err := Render(lang, kind, d)
				if err != nil {
					t.Fatal(err)
				}
				all := r.Subject + "\n" + r.Body
				want := []string{d.Shop, d.Number, d.TrackURL}
				switch kind {
				case model.MsgOrderPlaced, model.MsgPaid:
					want = append(want, d.Amount)
				case model.MsgPaymentFailed:
					want = append(want, d.Amount, d.PaymentNumber, d.PayURL)
				case model.MsgShipped:
					want = append(want, d.Carrier, d.Track, d.CarrierURL)
				case model.MsgCourierAssigned:
					want = append(want, d.CourierName, d.CourierPhone, d.CarrierURL)
				}
				for _, w := range want {
					if !strings.Contains(all, w) {
						t.Errorf("lacks %q:\n%s", w, all)
					}
				}
				if !strings.Contains(strings.ToLower(all), words[lang]) {
					t.Errorf("not in %s:\n%s", lang, all)
				}
				if r.Subject == "" || strings.Contains(r.Subject, "\n") || !strings.Contains(r.Subject, d.Number) {
					t.Errorf("subject %q", r.Subject)
				}
				if strings.Contains(all, "<no value>") || strings.Contains(all, "{{") {
					t.Errorf("a hole in the text:\n%s", all)
				}
			})
		}
	}
}

func TestAMessageIsNeverSentHalfWritten(t *testing.T) {
	if _, err := Render("en", model.MsgShipped, Data{Shop: "S", Number: "N"}); err == nil {
		t.Error("a shipped message without a track was written")
	}
	if _, err := Render("en", model.MsgCourierAssigned, Data{Shop: "S", Number: "N"}); err == nil {
		t.Error("a courier message without a courier was written")
	}
	if _, err := Render("en", "email_confirmation", Data{}); err == nil {
		t.Error("an old kind was written")
	}
	// A shop in a language without texts gets English.
	r, err := Render("de", model.MsgPaid, Data{Shop: "S", Number: "N-1", Amount: "1.00 EUR", TrackURL: "http://x/track/N-1"})
	if err != nil || !strings.Contains(r.Body, "We received your payment of 1.00 EUR") {
		t.Errorf("German shop: %+v, %v", r, err)
	}
	// Without a first name the greeting stays whole.
	r, _ = Render("ru", model.MsgDelivered, Data{Shop: "S", Number: "N-1", TrackURL: "http://x/track/N-1"})
	if !strings.HasPrefix(r.Body, "Здравствуйте! Ваш заказ N-1 доставлен.") {
		t.Errorf("greeting without a name: %q", r.Body)
	}
}
