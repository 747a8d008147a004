package static

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// luminance is a colour's relative luminance (WCAG 2.x).
func luminance(t *testing.T, hex string) float64 {
	t.Helper()
	h := strings.TrimPrefix(hex, "#")
	if len(h) == 3 {
		h = string([]byte{h[0], h[0], h[1], h[1], h[2], h[2]})
	}
	if len(h) != 6 {
		t.Fatalf("colour %q", hex)
	}
	var c [3]float64
	for i := range c {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			t.Fatalf("colour %q: %v", hex, err)
		}
		s := float64(v) / 255
		if s <= 0.03928 {
			c[i] = s / 12.92
		} else {
			c[i] = math.Pow((s+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}

func contrast(t *testing.T, a, b string) float64 {
	la, lb := luminance(t, a), luminance(t, b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

var (
	varRe   = regexp.MustCompile(`(--[\w-]+):\s*(#[0-9a-fA-F]{3,6})\b`)
	ruleRe  = regexp.MustCompile(`([^{}]+)\{([^{}]*)\}`)
	colorRe = regexp.MustCompile(`(?:^|[;\s])color:\s*(#[0-9a-fA-F]{3,6}|var\(--[\w-]+\))`)
	bgRe    = regexp.MustCompile(`(?:^|[;\s])background:\s*(#[0-9a-fA-F]{3,6}|var\(--[\w-]+\))\s*(?:;|$)`)
)

// TestTextColoursMeetWCAGAA checks that the stylesheet's text is readable:
// every rule that sets both a text colour and a plain background, and the
// pairs the page relies on (text, muted text and links on the page and on
// cards, the top bar's links), contrast at least 4.5:1 (WCAG AA).
func TestTextColoursMeetWCAGAA(t *testing.T) {
	b, err := files.ReadFile("app.css")
	if err != nil {
		t.Fatal(err)
	}
	css := regexp.MustCompile(`(?s)/\*.*?\*/`).ReplaceAllString(string(b), "")
	vars := map[string]string{}
	for _, m := range varRe.FindAllStringSubmatch(css, -1) {
		vars[m[1]] = m[2]
	}
	resolve := func(v string) string {
		if strings.HasPrefix(v, "var(") {
			return vars[strings.TrimSuffix(strings.TrimPrefix(v, "var("), ")")]
		}
		return v
	}
	check := func(what, fg, bg string) {
		fg, bg = resolve(fg), resolve(bg)
		if fg == "" || bg == "" {
			t.Errorf("%s: unknown colour %q on %q", what, fg, bg)
			return
		}
		if r := contrast(t, fg, bg); r < 4.5 {
			t.Errorf("%s: %s on %s contrasts %.2f:1, under WCAG AA's 4.5:1", what, fg, bg, r)
		}
	}
	pairs := 0
	for _, m := range ruleRe.FindAllStringSubmatch(css, -1) {
		fg, bg := colorRe.FindStringSubmatch(m[2]), bgRe.FindStringSubmatch(m[2])
		if fg != nil && bg != nil {
			check(strings.TrimSpace(m[1]), fg[1], bg[1])
			pairs++
		}
	}
	if pairs < 10 {
		t.Fatalf("only %d rules set a colour on a background: the stylesheet was not read", pairs)
	}
	for _, p := range [][3]string{
		{"text on the page", "var(--fg)", "var(--bg)"},
		{"muted text on the page", "var(--muted)", "var(--bg)"},
		{"muted text on a card", "var(--muted)", "var(--card)"},
		{"a link on the page", "var(--accent)", "var(--bg)"},
		{"a link on a card", "var(--accent)", "var(--card)"},
		{"a button's label", "var(--accent-fg)", "var(--accent)"},
		{"an error on a card", "var(--danger)", "var(--card)"},
		{"a confirmation on a card", "var(--ok)", "var(--card)"},
		{"a warning on a card", "var(--warn)", "var(--card)"},
		{"a link in the top bar", "#c9d4e0", "#17202b"},
		{"a link in a notice", "var(--accent)", "#eef4ff"},
		{"an error notice", "var(--danger)", "#fdecec"},
		{"a confirmation notice", "var(--ok)", "#edf7ee"},
		{"a step not done yet", "var(--muted)", "#e8edf3"},
	} {
		check(p[0], p[1], p[2])
	}
}
