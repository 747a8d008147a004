package handlers

import (
	"github.com/labstack/echo/v4"

	"orderdesk/views/locales"
)

// pageT is the message id in the request's language (the signed-in user's in
// the back office), for page titles and notices a handler writes.
func pageT(c echo.Context, id string, data ...map[string]any) string {
	return locales.T(requestLang(c), id, data...)
}
