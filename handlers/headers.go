package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// The Content-Security-Policy of each kind of page.
const (
	// cspApp is the policy of our own pages: scripts and styles come only from
	// /static/ (no inline code, no style attributes), nothing frames us, no
	// plugins. form-action stays open on purpose: the checkout and the Taobao
	// connect form answer with a redirect to the provider, and Chromium applies
	// form-action to that redirect.
	cspApp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	// cspProviderPage is the policy of a page a provider wrote that we send as is:
	// Kuveyt's 3-D Secure page posts itself to the card issuer with an inline
	// script, and may load the bank's own files.
	cspProviderPage = "default-src 'self' https:; script-src 'self' https: 'unsafe-inline'; style-src 'self' https: 'unsafe-inline'; " +
		"img-src 'self' https: data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	// cspSandbox is the policy of the built-in sandboxes: they play other sites,
	// with those sites' inline styles and auto-submitting forms.
	cspSandbox = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
		"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

// hstsValue asks browsers to come back only over HTTPS, for a year, on the shops'
// subdomains too.
const hstsValue = "max-age=31536000; includeSubDomains"

// securityHeaders sets the Content-Security-Policy of the page's kind and, when
// the site is served over HTTPS (its base URL says so, whatever proxy ends TLS in
// front of us), Strict-Transport-Security.
func (a *App) securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		policy := cspApp
		if p := c.Request().URL.Path; p == "/sandbox" || strings.HasPrefix(p, "/sandbox/") {
			policy = cspSandbox
		}
		h.Set(echo.HeaderContentSecurityPolicy, policy)
		if a.secure {
			h.Set(echo.HeaderStrictTransportSecurity, hstsValue)
		}
		return next(c)
	}
}

// allowProviderPage gives this response the policy of a page a provider wrote
// (see cspProviderPage); call it just before sending such a page.
func allowProviderPage(c echo.Context) {
	c.Response().Header().Set(echo.HeaderContentSecurityPolicy, cspProviderPage)
}
