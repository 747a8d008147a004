package model

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Sentinel errors returned by model functions. The HTTP layer maps them to status
// codes in one place (handlers/errors.go).
var (
	// ErrNotFound means the record does not exist for this tenant (or this customer).
	ErrNotFound = errors.New("not found")
	// ErrForbidden means the actor may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrConflict means the change collides with the current state of the record.
	ErrConflict = errors.New("conflict")
	// ErrInvalidCredentials means the e-mail or the password is wrong.
	ErrInvalidCredentials = errors.New("the e-mail or password is not correct")
)

// ErrRefundThroughRefunds refuses setting an order to refunded by hand: an order
// becomes refunded when all its payments are refunded.
var ErrRefundThroughRefunds = &ConflictError{Msg: "An order becomes refunded only through refunds: refund its payments (order page → Refund); once all its money is back, the order is refunded."}

// ValidationError carries one message per field of a form or an API request.
type ValidationError struct {
	Fields map[string]string
}

// Error lists the fields with their messages, sorted for stable output.
func (e *ValidationError) Error() string {
	keys := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+": "+e.Fields[k])
	}
	return strings.Join(parts, "; ")
}

// Add records a message for a field (the first message of a field wins).
func (e *ValidationError) Add(field, msg string) {
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	if _, ok := e.Fields[field]; !ok {
		e.Fields[field] = msg
	}
}

// OrNil returns e when it holds at least one message, else nil.
func (e *ValidationError) OrNil() error {
	if e == nil || len(e.Fields) == 0 {
		return nil
	}
	return e
}

// ConflictError is an ErrConflict with a message meant for people.
type ConflictError struct{ Msg string }

func (e *ConflictError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// ThrottledError says that sign-in is paused for a while after repeated failures.
type ThrottledError struct {
	RetryAfterSeconds int
}

func (e *ThrottledError) Error() string {
	return "too many failed sign-in attempts for this account or address; try again in " + e.RetryIn()
}

// RetryIn says in words how long to wait, e.g. "2 minutes".
func (e *ThrottledError) RetryIn() string { return humanSeconds(e.RetryAfterSeconds) }

func humanSeconds(s int) string {
	switch {
	case s <= 1:
		return "a second"
	case s < 60:
		return strconv.Itoa(s) + " seconds"
	case s < 120:
		return "a minute"
	default:
		return strconv.Itoa((s+59)/60) + " minutes"
	}
}

// wrapErr names the operation that failed in an unexpected error (a query, a
// scan, a commit), so that a 500 in the log says what it was doing:
// "find order (tenantID=3 id=42): database is locked". The errors people are
// meant to read — not found, forbidden, a conflict, a validation or a
// throttle — pass unchanged: their words are shown as they are. Store methods
// call it first thing with defer, as pkgsite's derrors.Wrap does.
func wrapErr(err *error, format string, args ...any) {
	if *err == nil || expected(*err) {
		return
	}
	*err = fmt.Errorf(format+": %w", append(args, *err)...)
}

// expected reports whether err is one of the model's answers to a request,
// rather than a failure of the store.
func expected(err error) bool {
	var ve *ValidationError
	var te *ThrottledError
	var mi *MissingItemError
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrForbidden) || errors.Is(err, ErrConflict) ||
		errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrInvalidState) ||
		errors.As(err, &ve) || errors.As(err, &te) || errors.As(err, &mi)
}
