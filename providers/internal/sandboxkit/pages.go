package sandboxkit

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"orderdesk/providers/internal/httpbody"
)

// The customer's buttons on a sandbox's payment page, as posted in the
// form's "action" field.
const (
	Pay     = "pay"
	Decline = "decline"
	Abandon = "abandon"
)

// Choice reads which button the customer pressed on the payment page: Pay,
// Decline or Abandon, or "" for anything else. A Pay is a Decline when
// declineNext (the "decline the next payment" switch, taken only on a Pay)
// says so.
func Choice(r *http.Request, declineNext func() bool) string {
	switch a := r.FormValue("action"); a {
	case Pay:
		if declineNext() {
			return Decline
		}
		return Pay
	case Decline, Abandon:
		return a
	}
	return ""
}

// PayButtons are the labels of the payment page's three buttons, in the
// provider's language.
type PayButtons struct{ Pay, Decline, Abandon string }

// shared are the templates every sandbox page may use:
//
//	{{template "pay-buttons" (buttons "Pay" "Decline" "Abandon")}}
//	{{template "latency-form" .Switches.Latency}}
//	{{template "resend-pending" "Retry undelivered notifications"}}
//
// and the functions rubles and buttons.
var shared = template.Must(template.New("sandboxkit").Funcs(funcs).Parse(`
{{- define "pay-buttons" -}}
<button type="submit" name="action" value="pay" data-testid="sandbox-pay">{{.Pay}}</button>
<button type="submit" name="action" value="decline" data-testid="sandbox-decline">{{.Decline}}</button>
<button type="submit" name="action" value="abandon" data-testid="sandbox-abandon">{{.Abandon}}</button>
{{- end}}
{{- define "latency-form" -}}
<form method="post" action="_control"><input type="hidden" name="action" value="latency">
<input name="ms" type="number" min="0" value="{{.Milliseconds}}"> ms <button data-testid="sandbox-latency">Set latency</button></form>
{{- end}}
{{- define "resend-pending" -}}
<form method="post" action="_control"><input type="hidden" name="action" value="resend_pending">
<button data-testid="sandbox-resend-pending">{{.}}</button></form>
{{- end}}`))

var funcs = template.FuncMap{
	"rubles":  Rubles,
	"buttons": func(pay, decline, abandon string) PayButtons { return PayButtons{pay, decline, abandon} },
}

// Page parses a sandbox page that may use the shared templates and
// functions (see shared) besides its own extra ones. It panics on a bad
// template, like template.Must: pages are parsed once, at start.
func Page(name, text string, extra template.FuncMap) *template.Template {
	t := template.Must(shared.Clone())
	return template.Must(t.New(name).Funcs(extra).Parse(text))
}

// Render writes t executed with v as an HTML page with status code. The
// page is rendered into a buffer first, so a template error never leaves
// half a page behind a 200.
func Render(w http.ResponseWriter, code int, t *template.Template, v any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, v); err != nil {
		http.Error(w, "sandbox: the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	httpbody.Write(w, buf.Bytes())
}

// SeeOther sends the browser to target with 303, as a provider's page does
// after a form. The Location is set by hand: http.Redirect would resolve a
// relative one against the request's path, which http.StripPrefix has
// already cut.
func SeeOther(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// BackToControl sends the browser back to the control page, relative to the
// mount prefix the sandbox does not know; a note, when not empty, is shown
// there.
func BackToControl(w http.ResponseWriter, note string) {
	if note == "" {
		SeeOther(w, "./")
		return
	}
	SeeOther(w, "./?msg="+url.QueryEscape(note))
}

// FormError is a control form's bad field (400) or unknown record (404),
// with words for the tester.
type FormError struct {
	Status int
	Msg    string
}

// Error returns the words.
func (e *FormError) Error() string { return e.Msg }

// BadForm is a control form's bad or missing field; msg names it.
func BadForm(msg string) error { return &FormError{http.StatusBadRequest, msg} }

// NoSuch is a control form naming a record the sandbox does not have.
func NoSuch(msg string) error { return &FormError{http.StatusNotFound, msg} }

// ErrUnknownAction is a control form whose action the sandbox does not have.
var ErrUnknownAction = BadForm("unknown action")

// Control runs one control-page action and goes back to the page. A
// FormError is answered with its status and words, any other error with
// 500: the sandbox itself failed.
func Control(w http.ResponseWriter, r *http.Request, act func(*http.Request) error) {
	err := act(r)
	var fe *FormError
	switch {
	case errors.As(err, &fe):
		http.Error(w, fe.Msg, fe.Status)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	default:
		BackToControl(w, "")
	}
}

// SetLatency reads the control page's latency field (see ParseLatency) and
// gives it to set.
func SetLatency(ms string, set func(time.Duration)) error {
	d, err := ParseLatency(ms)
	if err != nil {
		return err
	}
	set(d)
	return nil
}

// ParseLatency reads the control page's latency field: whole milliseconds,
// 0 or more; anything else is a BadForm naming the field.
func ParseLatency(ms string) (time.Duration, error) {
	n, err := strconv.Atoi(strings.TrimSpace(ms))
	if err != nil || n < 0 {
		return 0, BadForm("latency must be a whole number of milliseconds")
	}
	return time.Duration(n) * time.Millisecond, nil
}

// Rubles renders kopecks for a sandbox page as a Russian bank shows them:
// "1 500,50 ₽", with no-break spaces.
func Rubles(k int64) string {
	sign := ""
	u := uint64(k)
	if k < 0 {
		sign, u = "-", -u
	}
	whole := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	b.WriteString(sign)
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteRune('\u00a0')
		}
		b.WriteRune(c)
	}
	frac := strconv.FormatUint(u%100, 10)
	if len(frac) < 2 {
		frac = "0" + frac
	}
	b.WriteString("," + frac + "\u00a0₽")
	return b.String()
}

// ControlHandler is a control page's POST handler: it runs act as Control
// does.
func ControlHandler(act func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { Control(w, r, act) }
}
