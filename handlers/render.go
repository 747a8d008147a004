package handlers

import (
	"bytes"
	"net/http"
	"strconv"
	"sync"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"orderdesk/views"
)

// isFragment reports whether htmx asked for a fragment: an htmx request that is
// neither boosted (which wants the whole page) nor a history restore (which needs
// the whole page after a cache miss).
func isFragment(c echo.Context) bool {
	h := c.Request().Header
	return h.Get("HX-Request") == "true" && h.Get("HX-Boosted") != "true" && h.Get("HX-History-Restore-Request") != "true"
}

// page builds the layout data of the current request.
func (a *App) page(c echo.Context, title string, section views.Section) views.Page {
	csrf, _ := c.Get("csrf").(string)
	return views.Page{Title: title, Section: section, Tenant: tenant(c), User: currentUser(c), CSRF: csrf}
}

// render writes content alone to htmx and inside the layout to everybody else.
// It renders into a buffer first so that a template error becomes a clean 500
// instead of half a page.
func (a *App) render(c echo.Context, status int, p views.Page, content templ.Component) error {
	return a.renderParts(c, status, p, content, content)
}

// renderParts is render for pages whose htmx fragment is a part of the content
// (the order list's results, say) rather than all of it.
func (a *App) renderParts(c echo.Context, status int, p views.Page, content, fragment templ.Component) error {
	c.Response().Header().Add("Vary", "HX-Request")
	if isFragment(c) {
		return a.renderComponent(c, status, fragment)
	}
	// The notice is taken only by a whole page: a fragment has no place for it,
	// and taking it there would lose it.
	p.Flash = a.popFlash(c)
	return a.renderComponent(c, status, views.Layout(p, content))
}

// renderComponent writes one component as it is (a fragment for htmx, say).
func (a *App) renderComponent(c echo.Context, status int, comp templ.Component) error {
	buf := renderBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		// A rare huge page (a long list) does not stay in memory for good.
		if buf.Cap() <= maxKeptRenderBuffer {
			renderBuffers.Put(buf)
		}
	}()
	// Every component reads the request's language and time zone from the
	// context (views.LocaleOf): words, money and dates all follow it.
	ctx := views.WithLocale(c.Request().Context(), locale(c))
	if err := comp.Render(ctx, buf); err != nil {
		return err
	}
	// The page is whole before it is sent: saying its length spares the
	// chunked encoding net/http uses for a body of over 2 kB otherwise.
	c.Response().Header().Set(echo.HeaderContentLength, strconv.Itoa(buf.Len()))
	return c.HTMLBlob(status, buf.Bytes())
}

// renderBuffers are the buffers pages are rendered into, reused: growing a
// new one to a page's size was a few percent of a page's time.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxKeptRenderBuffer is the largest buffer put back for reuse.
const maxKeptRenderBuffer = 1 << 20

// redirect sends htmx an HX-Redirect and everybody else a 303 See Other.
func (a *App) redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") == "true" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusOK)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
