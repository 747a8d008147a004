package locales

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bojanz/currency"
)

// formatters keeps one CLDR money formatter per language; a Formatter is
// read-only once made, so one is shared by every request.
var formatters sync.Map // lang → *currency.Formatter

func formatter(lang string) *currency.Formatter {
	lang = Normalize(lang)
	if f, ok := formatters.Load(lang); ok {
		return f.(*currency.Formatter)
	}
	f, _ := formatters.LoadOrStore(lang, currency.NewFormatter(currency.NewLocale(lang)))
	return f.(*currency.Formatter)
}

// Money writes an amount of minor units the way lang writes money, by CLDR:
// "5 089,00 ₽" in Russian, "₺1.234,56" in Turkish, "RUB 5,089.00" in
// English. The spaces in it are no-break spaces, so an amount never wraps. A
// currency CLDR does not know is written "150.00 XYZ" rather than lost.
//
// This is the one way money is shown to people, on pages and in messages;
// the API's fields keep model.FormatAmount's "150.00".
func Money(lang string, minor int64, currencyCode string) string {
	a, err := currency.NewAmountFromInt64(minor, currencyCode)
	if err != nil {
		return fallbackMoney(minor, currencyCode)
	}
	return formatter(lang).Format(a)
}

func fallbackMoney(minor int64, code string) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	frac := strconv.FormatInt(minor%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return sign + strconv.FormatInt(minor/100, 10) + "." + frac + "\u00a0" + code
}

// dateLayouts are each language's dates and times, after CLDR's: the medium
// date in English ("Nov 27, 2025", Go's month names being English), the
// numeric short date in Russian and Turkish (which avoids month names Go
// cannot write), and the 24-hour clock but in English.
var dateLayouts = map[string]struct{ date, dateTime, clock string }{
	"en": {"Jan 2, 2006", "Jan 2, 2006, 3:04 PM", "3:04 PM"},
	"ru": {"02.01.2006", "02.01.2006, 15:04", "15:04"},
	"tr": {"02.01.2006", "02.01.2006 15:04", "15:04"},
}

// Date writes t's day in lang (t already in the time zone to show).
func Date(lang string, t time.Time) string { return t.Format(dateLayouts[Normalize(lang)].date) }

// DateTime writes t's day and time in lang (t already in the time zone to show).
func DateTime(lang string, t time.Time) string {
	return t.Format(dateLayouts[Normalize(lang)].dateTime)
}

// Clock writes t's time of day in lang.
func Clock(lang string, t time.Time) string { return t.Format(dateLayouts[Normalize(lang)].clock) }

// Duration says a length of time in words, roughly: "2 days", "5 h 20 min",
// "7 min", "less than a minute".
func Duration(lang string, d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d >= 48*time.Hour:
		return N(lang, "common.time.days", int64(d/(24*time.Hour)))
	case d >= time.Hour:
		return T(lang, "common.time.hours_minutes", map[string]any{"H": int64(d / time.Hour), "M": int64(d%time.Hour) / int64(time.Minute)})
	case d >= time.Minute:
		return T(lang, "common.time.minutes", map[string]any{"M": int64(d / time.Minute)})
	}
	return T(lang, "common.time.under_a_minute")
}

// Wait says how long to wait in words, to the second under a minute: "30
// seconds", "2 min".
func Wait(lang string, d time.Duration) string {
	if d < time.Minute {
		return N(lang, "common.time.seconds", max(int64((d+time.Second/2)/time.Second), 1))
	}
	return Duration(lang, d)
}

// Relative says when t is from now in words: "in 5 h 20 min", "3 min ago".
func Relative(lang string, now, t time.Time) string {
	d := t.Sub(now)
	if d > 0 {
		return T(lang, "common.time.in", map[string]any{"D": Duration(lang, d)})
	}
	return T(lang, "common.time.ago", map[string]any{"D": Duration(lang, -d)})
}

// Every says how often something runs: "every 5 minutes", "every hour",
// "every 3 seconds".
func Every(lang string, d time.Duration) string {
	unit, n := "seconds", int64((d+time.Second/2)/time.Second)
	switch {
	case d <= 0:
		return T(lang, "common.every.never")
	case d%(24*time.Hour) == 0:
		unit, n = "days", int64(d/(24*time.Hour))
	case d%time.Hour == 0:
		unit, n = "hours", int64(d/time.Hour)
	case d%time.Minute == 0:
		unit, n = "minutes", int64(d/time.Minute)
	}
	if n == 1 {
		// "every minute", not "every 1 minute"; the plural forms cannot say
		// it, since Russian's "one" also holds 21 and 31.
		return T(lang, "common.every."+strings.TrimSuffix(unit, "s"))
	}
	return N(lang, "common.every."+unit, n)
}

// numberFormatters keeps one CLDR formatter per language that writes a
// whole number without a currency.
var numberFormatters sync.Map // lang → *currency.Formatter

// Number writes a whole number with lang's digit grouping, by CLDR: "1,234"
// in English, "1 234" in Russian (a no-break space), "1.234" in Turkish.
func Number(lang string, n int64) string {
	lang = Normalize(lang)
	f, ok := numberFormatters.Load(lang)
	if !ok {
		nf := currency.NewFormatter(currency.NewLocale(lang))
		nf.CurrencyDisplay = currency.DisplayNone
		nf.MinDigits, nf.MaxDigits = 0, 0
		f, _ = numberFormatters.LoadOrStore(lang, nf)
	}
	// Any currency will do: none is shown, and no fraction digits are.
	a, err := currency.NewAmountFromInt64(n*100, "USD")
	if err != nil {
		return strconv.FormatInt(n, 10)
	}
	return f.(*currency.Formatter).Format(a)
}
