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
	lang = Normalize(lang)
	if st := styleOf(lang, currencyCode); st != nil {
		return st.format(minor)
	}
	a, err := currency.NewAmountFromInt64(minor, currencyCode)
	if err != nil {
		return fallbackMoney(minor, currencyCode)
	}
	return formatter(lang).Format(a)
}

// moneyStyle is how a language writes amounts of one currency, read once from
// CLDR's formatter: the text before and after the number for each sign, and
// the number's separators. The formatter builds a strings.Replacer per call
// (a tenth of the order desk's time); this writes the same text directly.
type moneyStyle struct {
	digits         int          // fraction digits of the currency
	group, decimal string       // "," and "." in English
	around         [2][2]string // [negative][prefix, suffix]
}

type styleKey struct{ lang, code string }

// styles keeps a *moneyStyle per language and currency, or nil where the
// style is not the plain one moneyStyle writes (other digits, other
// groupings): those amounts go through the formatter.
var styles sync.Map // styleKey → *moneyStyle

func styleOf(lang, code string) *moneyStyle {
	k := styleKey{lang, code}
	if st, ok := styles.Load(k); ok {
		return st.(*moneyStyle)
	}
	d, ok := currency.GetDigits(code)
	if !ok {
		// Unknown codes are not kept: they may come from anywhere.
		return nil
	}
	st := readStyle(formatter(lang), code, int(d))
	styles.Store(k, st)
	return st
}

// readStyle reads the style from the formatter's writing of 1,234,567.99
// (to the currency's digits) and its negative, and keeps it only when it
// writes a set of amounts exactly as the formatter does.
func readStyle(f *currency.Formatter, code string, digits int) *moneyStyle {
	scale := int64(1)
	for range digits {
		scale *= 10
	}
	probe := 1234567*scale + scale - 1 // 1,234,567.99 (or .9, .999, or none)
	st := &moneyStyle{digits: digits}
	for neg, minor := range []int64{probe, -probe} {
		a, err := currency.NewAmountFromInt64(minor, code)
		if err != nil {
			return nil
		}
		out := f.Format(a)
		first, last := strings.IndexAny(out, "0123456789"), strings.LastIndexAny(out, "0123456789")
		if first < 0 {
			return nil
		}
		st.around[neg] = [2]string{out[:first], out[last+1:]}
		num := out[first : last+1]
		// "1" group "234" group "567" [decimal "99"]
		rest, ok := strings.CutPrefix(num, "1")
		if !ok {
			return nil
		}
		st.group, rest, ok = strings.Cut(rest, "234")
		if !ok {
			return nil
		}
		rest, ok = strings.CutPrefix(rest, st.group+"567")
		if !ok {
			return nil
		}
		if digits > 0 {
			st.decimal, ok = strings.CutSuffix(rest, strings.Repeat("9", digits))
			if !ok {
				return nil
			}
		} else if rest != "" {
			return nil
		}
	}
	for _, minor := range []int64{0, 1, -1, 5, 99, 100, -100, 999 * scale, 1000 * scale, -1000 * scale, 12345 * scale, 508900, 1086900,
		123456789 * scale, -98765432 * scale} {
		a, err := currency.NewAmountFromInt64(minor, code)
		if err != nil || f.Format(a) != st.format(minor) {
			return nil
		}
	}
	return st
}

// format writes minor units of the currency in the style.
func (st *moneyStyle) format(minor int64) string {
	neg := 0
	u := uint64(minor)
	if minor < 0 {
		neg, u = 1, uint64(-minor)
	}
	scale := uint64(1)
	for range st.digits {
		scale *= 10
	}
	major := strconv.FormatUint(u/scale, 10)
	var b strings.Builder
	b.Grow(len(st.around[neg][0]) + len(major) + len(major)/3*len(st.group) + len(st.decimal) + st.digits + len(st.around[neg][1]))
	b.WriteString(st.around[neg][0])
	// Groups of three from the right, the first group what is left over.
	head := len(major) % 3
	if head == 0 {
		head = 3
	}
	b.WriteString(major[:head])
	for i := head; i < len(major); i += 3 {
		b.WriteString(st.group)
		b.WriteString(major[i : i+3])
	}
	if st.digits > 0 {
		b.WriteString(st.decimal)
		frac := strconv.FormatUint(u%scale, 10)
		for range st.digits - len(frac) {
			b.WriteByte('0')
		}
		b.WriteString(frac)
	}
	b.WriteString(st.around[neg][1])
	return b.String()
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
	if st := numberStyleOf(lang); st != nil {
		return st.format(n)
	}
	return formatNumber(numberFormatter(lang), n)
}

// numberStyles keeps, per language, the moneyStyle (no currency, no
// fraction) that writes whole numbers as the CLDR formatter does, or nil
// where it does not: the formatter took a twentieth of the order desk's
// time for its tabs' counts.
var numberStyles sync.Map // lang → *moneyStyle

func numberStyleOf(lang string) *moneyStyle {
	if st, ok := numberStyles.Load(lang); ok {
		return st.(*moneyStyle)
	}
	st := readNumberStyle(numberFormatter(lang))
	numberStyles.Store(lang, st)
	return st
}

// readNumberStyle takes the group separator from the formatter's 1234567 and
// keeps the style only when it writes a set of numbers as the formatter does.
func readNumberStyle(f *currency.Formatter) *moneyStyle {
	out := formatNumber(f, 1234567)
	group, ok := strings.CutPrefix(out, "1")
	if !ok {
		return nil
	}
	if group, _, ok = strings.Cut(group, "234"); !ok {
		return nil
	}
	st := &moneyStyle{group: group, around: [2][2]string{{"", ""}, {"-", ""}}}
	for _, n := range []int64{0, 1, -1, 7, 999, 1000, -1000, 9999, 10000, 12345, 123456, 1234567, 98765432, -98765432, 1000000000} {
		if formatNumber(f, n) != st.format(n) {
			return nil
		}
	}
	return st
}

func numberFormatter(lang string) *currency.Formatter {
	if f, ok := numberFormatters.Load(lang); ok {
		return f.(*currency.Formatter)
	}
	nf := currency.NewFormatter(currency.NewLocale(lang))
	nf.CurrencyDisplay = currency.DisplayNone
	nf.MinDigits, nf.MaxDigits = 0, 0
	f, _ := numberFormatters.LoadOrStore(lang, nf)
	return f.(*currency.Formatter)
}

func formatNumber(f *currency.Formatter, n int64) string {
	// Any currency will do: none is shown, and no fraction digits are.
	a, err := currency.NewAmountFromInt64(n*100, "USD")
	if err != nil {
		return strconv.FormatInt(n, 10)
	}
	return f.Format(a)
}
