package model

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Length limits of the text people type, in characters (a Turkish "ı" is one).
// Every model function that stores text from a form or an API body checks its
// fields against these with ValidationError.MaxLen, and the pages use the same
// numbers for their inputs' maxlength, so that a browser stops where the server
// would refuse. They are generous for real values and small enough that no
// request can store megabytes.
const (
	// MaxEmailLen is the longest address a mail server accepts (RFC 5321's path).
	MaxEmailLen = 254
	// MaxNameLen is a first or last name, or a staff member's name.
	MaxNameLen = 100
	// MaxPhoneLen fits an international number with spaces and an extension.
	MaxPhoneLen = 32
	// MaxAddressLineLen is a street line of an address.
	MaxAddressLineLen = 200
	// MaxCityLen is a city, or a state or province.
	MaxCityLen = 100
	// MaxZipLen is a postal code.
	MaxZipLen = 20
	// MaxPromoCodeLen is a promo code as typed. The shopping cookie carries the
	// code and a message quoting it, and must stay under the browser's 4 KB.
	MaxPromoCodeLen = 64
	// MaxNoteLen is an internal note or a status change's note.
	MaxNoteLen = 2000
	// MaxTrackingNumberLen is a carrier's tracking number.
	MaxTrackingNumberLen = 64
	// MaxCarrierLen is a carrier's name or code.
	MaxCarrierLen = 50
	// MaxDescriptionLen is an integration's description.
	MaxDescriptionLen = 500
	// MaxMaintenanceMessageLen is the note shown on the maintenance page
	// ("back at noon").
	MaxMaintenanceMessageLen = 500
	// MaxPasswordBytes is bcrypt's limit: it refuses longer passwords outright
	// (bytes, not characters).
	MaxPasswordBytes = 72
)

// MaxLen records a message for field when value has more than n characters, and
// reports whether the value fits.
func (e *ValidationError) MaxLen(field, value string, n int) bool {
	if utf8.RuneCountInString(value) <= n {
		return true
	}
	e.Add(field, "use at most "+strconv.Itoa(n)+" characters")
	return false
}

// addressMaxLen is the limit of each address field, by its fecshop name.
var addressMaxLen = map[string]int{
	"first_name": MaxNameLen, "last_name": MaxNameLen, "email": MaxEmailLen, "telephone": MaxPhoneLen,
	"street1": MaxAddressLineLen, "street2": MaxAddressLineLen, "city": MaxCityLen, "state": MaxCityLen,
	"zip": MaxZipLen, "country": 3,
}

// AddressFieldMaxLen is the most characters an address field takes (the
// checkout form's maxlength).
func AddressFieldMaxLen(field string) int { return addressMaxLen[field] }

// validateAddress checks the length of every field of an address, and that a
// country, when given, is an ISO 3166 code of 2 or 3 letters.
func validateAddress(v *ValidationError, a Address) {
	// The country first: "use the code" helps more than "too long" for Türkiye.
	if c := strings.TrimSpace(a.Country); c != "" && !isCountryCode(c) {
		v.Add("country", "use the 2- or 3-letter country code, e.g. TR")
	}
	for _, f := range AddressFields {
		v.MaxLen(f, strings.TrimSpace(a.field(f)), addressMaxLen[f])
	}
}

func isCountryCode(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// checkPassword checks a new password: long enough to resist guessing, and
// within what bcrypt can hash.
func checkPassword(v *ValidationError, field, password string) {
	switch {
	case len(password) < MinPasswordLength:
		v.Add(field, "use at least "+strconv.Itoa(MinPasswordLength)+" characters")
	case len(password) > MaxPasswordBytes:
		v.Add(field, "use at most "+strconv.Itoa(MaxPasswordBytes)+" bytes (72 plain letters, fewer with accents or other scripts)")
	}
}
