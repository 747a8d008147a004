// Package setting holds what the provider clients share to check their
// settings before any call: a field error naming the client's Config field
// and saying what is expected, and the checks every provider needs.
package setting

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"
)

// FieldError is a problem with one field of a client's Config (ClientID,
// BaseURL, …): Problem says what is expected, in words for a shop admin,
// e.g. `is missing (the account from the CDEK cabinet)`.
type FieldError struct {
	Field   string
	Problem string
}

// Error names the field and the problem.
func (e *FieldError) Error() string { return e.Field + " " + e.Problem }

// Token checks a key or secret: present, and without spaces or line breaks
// (a key pasted with its label or over two lines). what names it as the
// provider's cabinet does.
func Token(field, value, what string) *FieldError {
	if value == "" {
		return &FieldError{Field: field, Problem: "is missing (" + what + ")"}
	}
	if strings.IndexFunc(value, unicode.IsSpace) >= 0 {
		return &FieldError{Field: field, Problem: "must not contain spaces or line breaks (" + what + ")"}
	}
	return nil
}

// Digits checks a value that the provider issues as a number.
func Digits(field, value, what string) *FieldError {
	if value == "" {
		return &FieldError{Field: field, Problem: "is missing (" + what + ")"}
	}
	if strings.Trim(value, "0123456789") != "" {
		return &FieldError{Field: field, Problem: fmt.Sprintf("must be digits only (%s), not %q", what, value)}
	}
	return nil
}

// HTTPURL checks an API root: an http(s) URL with a host. example is the
// provider's own root, shown as the expected shape.
func HTTPURL(field, raw, example string) *FieldError {
	u, err := url.Parse(strings.TrimSpace(raw))
	if raw == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &FieldError{Field: field, Problem: "must be an http(s) address such as " + example}
	}
	return nil
}

// First returns the first problem of checks, or nil. The result is an
// error only when there is a problem, so that a nil *FieldError never
// becomes a non-nil error.
func First(checks ...*FieldError) error {
	for _, c := range checks {
		if c != nil {
			return c
		}
	}
	return nil
}
