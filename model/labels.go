package model

// Human labels for statuses (and the API's few fixed messages, "msg.…", and the
// maintenance page's words, "maintenance.…"), per tenant language. English is the default and the fallback; Turkish follows seed
// 001's words, Russian the Russian shops of the seeds.
var labels = map[string]map[string]string{
	"en": {
		"maintenance.title": "Down for maintenance",
		"maintenance.body":  "We are working on the shop and will be back shortly. Please try again in a few minutes.",
		"maintenance.staff": "Staff sign-in",
		"maintenance.api":   "The shop is down for maintenance; please try again later.",

		"order.pending": "Pending", "order.confirmed": "Confirmed", "order.processing": "Processing",
		"order.holded": "On hold", "order.shipped": "Shipped", "order.delivered": "Delivered",
		"order.completed": "Completed", "order.cancelled": "Cancelled", "order.refunded": "Refunded",
		"payment.pending": "Awaiting payment", "payment.processing": "Payment processing", "payment.paid": "Paid",
		"payment.suspected_fraud": "Suspected fraud", "payment.partially_refunded": "Partially refunded",
		"payment.refunded": "Refunded", "payment.canceled": "Payment cancelled",
		"procurement.pending": "Not purchased", "procurement.created": "Purchase created",
		"procurement.paid": "Purchase paid", "procurement.shipped": "Supplier shipped",
		"procurement.completed": "Received", "procurement.cancelled": "Purchase cancelled",
		"msg.order_placed": "The order was placed.",
	},
	"tr": {
		"maintenance.title": "Bakım çalışması",
		"maintenance.body":  "Mağazamızda çalışma yapıyoruz, kısa süre içinde geri döneceğiz. Lütfen birkaç dakika sonra tekrar deneyin.",
		"maintenance.staff": "Personel girişi",
		"maintenance.api":   "Mağaza bakımda; lütfen daha sonra tekrar deneyin.",

		"order.pending": "Beklemede", "order.confirmed": "Onaylandı", "order.processing": "Hazırlanıyor",
		"order.holded": "İncelemede", "order.shipped": "Kargoya Verildi", "order.delivered": "Teslim Edildi",
		"order.completed": "Tamamlandı", "order.cancelled": "İptal Edildi", "order.refunded": "İade Edildi",
		"payment.pending": "Ödeme Bekleniyor", "payment.processing": "Ödeme İşleniyor", "payment.paid": "Ödendi",
		"payment.suspected_fraud": "Şüpheli Ödeme", "payment.partially_refunded": "Kısmen İade Edildi",
		"payment.refunded": "İade Edildi", "payment.canceled": "Ödeme İptal Edildi",
		"procurement.pending": "Satın Alınmadı", "procurement.created": "Satın Alma Oluşturuldu",
		"procurement.paid": "Satın Alma Ödendi", "procurement.shipped": "Tedarikçi Gönderdi",
		"procurement.completed": "Teslim Alındı", "procurement.cancelled": "Satın Alma İptal Edildi",
		"msg.order_placed": "Sipariş oluşturuldu.",
	},
	"ru": {
		"maintenance.title": "Технические работы",
		"maintenance.body":  "Мы обновляем магазин и скоро вернёмся. Пожалуйста, зайдите через несколько минут.",
		"maintenance.staff": "Вход для сотрудников",
		"maintenance.api":   "Магазин на техническом обслуживании; пожалуйста, попробуйте позже.",

		"order.pending": "Ожидает", "order.confirmed": "Подтверждён", "order.processing": "Собирается",
		"order.holded": "На проверке", "order.shipped": "Отправлен", "order.delivered": "Доставлен",
		"order.completed": "Выполнен", "order.cancelled": "Отменён", "order.refunded": "Возвращён",
		"payment.pending": "Ожидает оплаты", "payment.processing": "Оплата обрабатывается", "payment.paid": "Оплачен",
		"payment.suspected_fraud": "Подозрение на мошенничество", "payment.partially_refunded": "Частичный возврат",
		"payment.refunded": "Деньги возвращены", "payment.canceled": "Оплата отменена",
		"procurement.pending": "Не выкуплен", "procurement.created": "Заказ у поставщика создан",
		"procurement.paid": "Выкуплен", "procurement.shipped": "Поставщик отправил",
		"procurement.completed": "Получен", "procurement.cancelled": "Выкуп отменён",
		"msg.order_placed": "Заказ оформлен.",
	},
}

// Label returns the human label of a status key such as "order.shipped" in lang,
// falling back to English, then to the key itself.
func Label(lang, key string) string {
	if l, ok := labels[lang][key]; ok {
		return l
	}
	if l, ok := labels["en"][key]; ok {
		return l
	}
	return key
}

// Label is the status's human label in lang.
func (s OrderStatus) Label(lang string) string { return Label(lang, "order."+string(s)) }

// Label is the status's human label in lang.
func (s OrderPaymentStatus) Label(lang string) string { return Label(lang, "payment."+string(s)) }

// Label is the status's human label in lang.
func (s ProcurementStatus) Label(lang string) string { return Label(lang, "procurement."+string(s)) }
