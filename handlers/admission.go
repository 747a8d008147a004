package handlers

import (
	"net/http"
	"runtime"
	"sync"

	"github.com/labstack/echo/v4"

	"orderdesk/providers/egress"
)

// admission lets a few page views compute at once and has the others wait
// their turn, in the order they came. Sixty-four views computing together
// share two cores in no particular order: a few wait on all the others, and
// the slowest hundredth of the order desk took 110 ms where its middle took
// 15 ms. Taking turns, each view runs nearly alone and the slowest take
// about twice the middle, for the same views a second.
//
// A turn covers computing only, never waiting on someone else: it is given
// back when the answer starts to be written (a slow reader or a long export
// holds none), when the view calls a provider (egress.WithLeaving), and at
// the latest when the handler returns. Only GET and HEAD take turns: a form
// or a webhook reads a body its sender may be slow to send.
type admission struct{ turns chan struct{} }

// admittedAtOnce is how many page views compute at once: four per core, so
// that views in a system call or in SQLite leave the core to others. On two
// cores (make bench) two per core gave 5–10 % fewer views a second, eight per
// core a few per cent more than four but a slower slowest hundredth.
func admittedAtOnce() int { return 4 * runtime.GOMAXPROCS(0) }

func newAdmission(n int) admission { return admission{turns: make(chan struct{}, n)} }

// middleware makes a GET or HEAD wait its turn.
func (ad admission) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			return next(c)
		}
		select {
		case ad.turns <- struct{}{}:
		case <-r.Context().Done():
			return nil // the browser left while waiting: nobody to answer
		}
		var once sync.Once
		giveBack := func() { once.Do(func() { <-ad.turns }) }
		defer giveBack()
		c.Response().Before(giveBack)
		c.SetRequest(r.WithContext(egress.WithLeaving(r.Context(), giveBack)))
		return next(c)
	}
}
