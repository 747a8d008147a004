package views

import (
	"context"
	"time"

	"orderdesk/views/locales"
)

// Locale is how a page speaks: its language and the shop's time zone. The
// handlers put it in the request's context before rendering (WithLocale), so
// that every component, however deep, writes words, money and dates the same
// way without passing them down.
type Locale struct {
	// Lang is the page's language: the shop's on the storefront, the signed-in
	// user's (or else the shop's) in the back office.
	Lang string
	// Loc is the shop's time zone; dates are shown in it.
	Loc *time.Location
}

type localeKey struct{}

// WithLocale returns ctx carrying l for the components rendered with it. The
// language is normalised here, once a page, not on each of the page's
// hundreds of words and figures.
func WithLocale(ctx context.Context, l Locale) context.Context {
	return context.WithValue(ctx, localeKey{}, normalLocale(l))
}

// LocaleOf is the locale ctx carries: English and UTC when it carries none.
func LocaleOf(ctx context.Context) Locale {
	if l, ok := ctx.Value(localeKey{}).(Locale); ok {
		return l
	}
	return normalLocale(Locale{})
}

// normalLocale is l with a language OrderDesk speaks and a time zone.
func normalLocale(l Locale) Locale {
	l.Lang = locales.Normalize(l.Lang)
	if l.Loc == nil {
		l.Loc = time.UTC
	}
	return l
}

// lang is the page's language, for <html lang> and for model's labels.
func lang(ctx context.Context) string { return LocaleOf(ctx).Lang }

// tr is the message id in the page's language, data filling its {{.Name}}
// fields: { tr(ctx, "common.sign_out") }.
func tr(ctx context.Context, id string, data ...map[string]any) string {
	return locales.T(lang(ctx), id, data...)
}

// trn is the counted message id in the page's language: "3 orders",
// "3 заказа"; {{.Count}} is n.
func trn(ctx context.Context, id string, n int, data ...map[string]any) string {
	return locales.N(lang(ctx), id, int64(n), data...)
}

// money writes an amount the way the page's language writes money, by CLDR
// ("5 089,00 ₽", "₺1.234,56", "RUB 5,089.00"). In markup use the Money
// component, which also keeps the amount on one line; this is for text
// built around it (a confirmation's question, an attribute).
func money(ctx context.Context, minor int64, currency string) string {
	return locales.Money(lang(ctx), minor, currency)
}

// fen writes an amount in the supplier's currency, yuan.
func fen(ctx context.Context, v int64) string { return money(ctx, v, "CNY") }

// date writes t's day in the shop's time zone and the page's language.
func date(ctx context.Context, t time.Time) string {
	l := LocaleOf(ctx)
	return locales.Date(l.Lang, t.In(l.Loc))
}

// dateTime writes t's day and time in the shop's time zone and the page's
// language: "27.11.2025, 14:05", "Nov 27, 2025, 2:05 PM".
func dateTime(ctx context.Context, t time.Time) string {
	l := LocaleOf(ctx)
	return locales.DateTime(l.Lang, t.In(l.Loc))
}

// dateTimePtr is dateTime of a time that may not have happened yet: "—".
func dateTimePtr(ctx context.Context, t *time.Time) string {
	if t == nil {
		return tr(ctx, "common.none")
	}
	return dateTime(ctx, *t)
}

// relative says when t is from now in words: "in 3 h 20 min", "7 min ago"
// (count-downs of sessions, runs, retries).
func relative(ctx context.Context, now, t time.Time) string {
	return locales.Relative(lang(ctx), now, t)
}

// every says how often a job runs: "every 5 minutes".
func every(ctx context.Context, d time.Duration) string { return locales.Every(lang(ctx), d) }
