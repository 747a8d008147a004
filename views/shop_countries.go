package views

import (
	"context"
	"slices"
	"strings"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
)

// shopCountryCodes are the countries the checkout lists (ISO 3166 codes):
// where the shops' customers live and what they ship to. The shop's own
// country comes first whether or not it is here.
var shopCountryCodes = []string{
	"AM", "AZ", "BY", "DE", "FR", "GB", "GE", "IL", "IT", "KG", "KZ", "MD", "MN", "NL", "PL",
	"RS", "RU", "TJ", "TM", "TR", "AE", "US", "UZ", "CY", "CN",
}

// CountryOption is one country of the checkout's list.
type CountryOption struct {
	Code string // ISO 3166 alpha-2, what the order keeps
	Name string // the country's name in the page's language
}

// shopCountries is the checkout's country list in the page's language: the
// shop's country first, then the others by name. A code the customer's form
// already holds (a previous order's) is kept in the list, so that nothing
// typed is lost.
func shopCountries(ctx context.Context, home, current string) []CountryOption {
	tag := language.Make(lang(ctx))
	namer := display.Regions(tag)
	name := func(code string) string {
		r, err := language.ParseRegion(code)
		if err != nil || namer == nil {
			return code
		}
		if n := namer.Name(r); n != "" {
			return n
		}
		return code
	}
	home, current = strings.ToUpper(strings.TrimSpace(home)), strings.ToUpper(strings.TrimSpace(current))
	var rest []CountryOption
	for _, code := range shopCountryCodes {
		if code != home {
			rest = append(rest, CountryOption{Code: code, Name: name(code)})
		}
	}
	if current != "" && current != home && !slices.Contains(shopCountryCodes, current) {
		rest = append(rest, CountryOption{Code: current, Name: name(current)})
	}
	col := collate.New(tag)
	slices.SortFunc(rest, func(a, b CountryOption) int { return col.CompareString(a.Name, b.Name) })
	if home == "" {
		return rest
	}
	return append([]CountryOption{{Code: home, Name: name(home)}}, rest...)
}
