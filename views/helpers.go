package views

import (
	"net/http"
	"strconv"
)

func statusText(status int) string {
	return strconv.Itoa(status) + " " + http.StatusText(status)
}

// FormErrors holds the messages of a form, one per field; "" is the form as a whole.
type FormErrors map[string]string

func itoa(n int) string { return strconv.Itoa(n) }

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }
