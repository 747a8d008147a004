package handlers_test

import (
	"context"
	_ "embed"
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// axeSource is axe-core 4.14.1 (Deque Systems, MPL-2.0; testdata/axe/LICENSE),
// the accessibility checker browsers' own tools are built on, vendored so the
// tests run without a network.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeViolation is one rule a page breaks, as axe reports it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"`
	Help   string `json:"help"`
	Nodes  []struct {
		Target  []any  `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 3 {
			fmt.Fprintf(&b, "\n    … and %d more", len(v.Nodes)-3)
			break
		}
		fmt.Fprintf(&b, "\n    %v %s\n      %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// axeSerious runs axe-core on the page the browser shows and returns the
// serious and critical violations of WCAG 2.1 A and AA, which are what keeps
// a person from using the page. DevTools' evaluation is not bound by the
// page's Content-Security-Policy, so the checker runs on the page as served.
func axeSerious(ctx context.Context) ([]axeViolation, error) {
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		return nil, fmt.Errorf("load axe: %w", err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]axeViolation](
		`axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}, resultTypes: ["violations"]})
			.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical"))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, fmt.Errorf("run axe: %w", err)
	}
	return found, nil
}

// checkAxe fails the test with every serious or critical violation of the
// page the browser shows, named after what the page is.
func checkAxe(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	found, err := axeSerious(ctx)
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	for _, v := range found {
		t.Errorf("%s: %s", page, v)
	}
}

// widths are the screens every page must work on: a laptop and a phone.
var widths = []struct {
	name          string
	width, height int64
}{
	{"1366", 1366, 900},
	{"390", 390, 844},
}

// fitsTheScreen fails the test when the page is wider than the screen, which
// on a phone means scrolling sideways to read it.
func fitsTheScreen(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	over, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
	if err != nil {
		t.Fatalf("%s: %v", page, err)
	}
	if over > 0 {
		t.Errorf("%s: %d px wider than the screen", page, over)
	}
}

// hostBase is the app's address under another shop's host name, which
// Chromium, like our test client, resolves to loopback.
func (e *env) hostBase(host string) string {
	return strings.Replace(e.base, "localhost", host, 1)
}
