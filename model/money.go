package model

import (
	"strconv"
	"strings"
)

// Money amounts are int64 minor units (cents, kuruş, kopecks) of a currency; never
// floats. Every currency we serve has two decimals.

// FormatAmount writes minor units as a decimal string: 15000 → "150.00".
func FormatAmount(minor int64) string {
	sign := ""
	if minor < 0 {
		sign, minor = "-", -minor
	}
	frac := strconv.FormatInt(minor%100, 10)
	if len(frac) == 1 {
		frac = "0" + frac
	}
	return sign + strconv.FormatInt(minor/100, 10) + "." + frac
}

// FormatMoney writes an amount with its currency: "150.00 TRY".
func FormatMoney(minor int64, currency string) string {
	return FormatAmount(minor) + " " + currency
}

// ParseAmount reads "150", "150.5" or "150.50" as minor units.
func ParseAmount(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || strings.HasPrefix(whole, "-") {
		return 0, false
	}
	for len(frac) < 2 {
		frac += "0"
	}
	w, err1 := strconv.ParseInt(whole, 10, 64)
	f, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil || f < 0 {
		return 0, false
	}
	return w*100 + f, true
}

// percentOf is p percent of amount, rounded down to the minor unit.
func percentOf(amount int64, p int64) int64 { return amount * p / 100 }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
