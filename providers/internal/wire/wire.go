// Package wire holds the small types and conversions the provider clients
// and sandboxes share on the wire: JSON fields that providers send as a
// string one day and a number the next, and money as a decimal string or
// number converted exactly to integer minor units (never through a float).
package wire

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// String accepts a JSON string, a number (kept as its exact text, so a
// 20-digit id keeps every digit) or null ("").
type String string

// UnmarshalJSON reads a string, a number or null.
func (f *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = String(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		*f = String(b)
	default:
		return fmt.Errorf("want a string or a number, got %.20s", b)
	}
	return nil
}

// Int accepts a JSON integer, a string holding one, or null (0).
type Int int64

// UnmarshalJSON reads an integer, a string holding one, or null.
func (f *Int) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(string(s), 10, 64)
	if err != nil {
		return fmt.Errorf("want an integer, got %q", string(s))
	}
	*f = Int(n)
	return nil
}

// Money is an amount in minor units that travels as a decimal number of
// major units with two places (1500.50): written as that exact literal and
// read from a number, a string holding one, or null (0).
type Money int64

// MarshalJSON writes the amount as a JSON number with two decimals.
func (m Money) MarshalJSON() ([]byte, error) { return []byte(FormatMinor(int64(m))), nil }

// UnmarshalJSON reads a number, a string holding one, or null.
func (m *Money) UnmarshalJSON(b []byte) error {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return err
	}
	if s == "" {
		*m = 0
		return nil
	}
	v, err := ParseMinor(string(s))
	if err != nil {
		return err
	}
	*m = Money(v)
	return nil
}

// MoneyString is Money that travels as a JSON string ("1500.50"), as some
// providers document it; it is read as loosely as Money.
type MoneyString int64

// MarshalJSON writes the amount as a JSON string with two decimals.
func (m MoneyString) MarshalJSON() ([]byte, error) { return json.Marshal(FormatMinor(int64(m))) }

// UnmarshalJSON reads a string holding a number, a number, or null.
func (m *MoneyString) UnmarshalJSON(b []byte) error { return (*Money)(m).UnmarshalJSON(b) }

// FormatMinor renders minor units as a decimal with two places: 150050 →
// "1500.50", -5 → "-0.05".
func FormatMinor(minor int64) string {
	sign := ""
	u := uint64(minor)
	if minor < 0 {
		// Negating the unsigned value is right for math.MinInt64 too.
		sign, u = "-", -u
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// ParseMinor reads a decimal amount with two places ("1500.50", "1500.5",
// "1500", "-1.00") into minor units, exactly. Digits are required on both
// sides of a point; more than two decimals are refused unless they are
// zeros, because a fraction of a minor unit cannot be kept.
func ParseMinor(s string) (int64, error) {
	whole, frac, hasDot := strings.Cut(strings.TrimPrefix(strings.TrimSpace(s), "-"), ".")
	if !digits(whole) || (hasDot && !digits(frac)) {
		return 0, fmt.Errorf("%q is not an amount of money", s)
	}
	return ParseDecimal(s, 2)
}

// ParseDecimal reads a decimal amount with places decimals into minor
// units, exactly, as loosely as people write it: a sign, no digits before
// the point (".5") or none after it ("5."). More decimals than places are
// refused unless they are zeros; more than 15 whole digits too.
func ParseDecimal(s string, places int) (int64, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("%q is not an amount of money", orig)
	}
	if whole == "" {
		whole = "0"
	}
	if !digits(whole) || (frac != "" && !digits(frac)) {
		return 0, fmt.Errorf("%q is not an amount of money", orig)
	}
	if len(frac) > places {
		if strings.Trim(frac[places:], "0") != "" {
			return 0, fmt.Errorf("%q has more than %d decimals", orig, places)
		}
		frac = frac[:places]
	}
	frac += strings.Repeat("0", places-len(frac))
	if len(whole) > 15 {
		return 0, fmt.Errorf("%q is too large an amount", orig)
	}
	v, err := strconv.ParseInt(whole+frac, 10, 64)
	if err != nil {
		return 0, errors.Join(fmt.Errorf("%q is not an amount of money", orig), err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Snippet is the start of an answer, for an error message.
func Snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// NewUUID returns a random (version 4) UUID.
func NewUUID() string {
	var b [16]byte
	rand.Read(b[:]) // crypto/rand never fails: it crashes the program instead
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// RandomHex returns n random bytes in hex.
func RandomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand never fails: it crashes the program instead
	return hex.EncodeToString(b)
}
