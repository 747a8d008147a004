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
