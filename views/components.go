package views

import (
	"context"
	"time"

	"github.com/a-h/templ"

	"orderdesk/model"
	"orderdesk/views/locales"
)

// Tone is how a status badge reads at a glance; app.css gives each tone its
// colours (all pairs WCAG AA on their background).
type Tone string

// The tones of a badge.
const (
	ToneNeutral Tone = "neutral" // nothing to do, or nothing yet
	ToneInfo    Tone = "info"    // under way
	ToneOK      Tone = "ok"      // done, good
	ToneWarn    Tone = "warn"    // waiting for a person
	ToneDanger  Tone = "danger"  // failed, stopped, fraud
	ToneLive    Tone = "live"    // an integration that moves real money
	ToneTest    Tone = "test"    // an integration in test mode
)

// orderTone is the tone of an order's status.
func orderTone(s model.OrderStatus) Tone {
	switch s {
	case model.OrderPending:
		return ToneWarn
	case model.OrderConfirmed, model.OrderProcessing, model.OrderShipped:
		return ToneInfo
	case model.OrderDelivered, model.OrderCompleted:
		return ToneOK
	case model.OrderHolded, model.OrderCancelled, model.OrderRefunded:
		return ToneDanger
	}
	return ToneNeutral
}

// orderPaymentTone is the tone of an order's payment status.
func orderPaymentTone(s model.OrderPaymentStatus) Tone {
	switch s {
	case model.PayPending:
		return ToneWarn
	case model.PayProcessing:
		return ToneInfo
	case model.PayPaid:
		return ToneOK
	case model.PaySuspectedFraud:
		return ToneDanger
	}
	return ToneNeutral
}

// paymentTone is the tone of one payment's status.
func paymentTone(s model.PaymentStatus) Tone {
	switch s {
	case model.PaymentPending:
		return ToneWarn
	case model.PaymentProcessing:
		return ToneInfo
	case model.PaymentCompleted:
		return ToneOK
	case model.PaymentSuspectedFraud, model.PaymentFailed:
		return ToneDanger
	}
	return ToneNeutral
}

// procurementTone is the tone of an order's purchase at the supplier.
func procurementTone(s model.ProcurementStatus) Tone {
	switch s {
	case model.ProcPending:
		return ToneWarn
	case model.ProcCreated, model.ProcPaid, model.ProcShipped:
		return ToneInfo
	case model.ProcCompleted:
		return ToneOK
	case model.ProcCancelled:
		return ToneDanger
	}
	return ToneNeutral
}

// integrationTone is the tone of an integration's mode: live and test never
// look alike, so nobody mistakes test keys for the real thing.
func integrationTone(s model.IntegrationStatus) Tone {
	switch s {
	case model.IntegrationActive:
		return ToneLive
	case model.IntegrationTest:
		return ToneTest
	}
	return ToneNeutral
}

// badgeClass is the CSS class of a badge of tone t.
func badgeClass(t Tone) string { return "badge tone-" + string(t) }

// FieldProps describes a labelled form field (Field, SelectField,
// TextareaField).
type FieldProps struct {
	// Name is the input's name; the field's id is "f-" + Name unless ID is set.
	Name  string
	ID    string
	Label string
	// Type is the input's type: "text" when empty.
	Type  string
	Value string
	// Error is the field's message from FormErrors; the field is then marked
	// invalid and the message is read out with it (aria-describedby).
	Error string
	// Help is a hint under the field, also tied to it by aria-describedby.
	Help         string
	Required     bool
	Autocomplete string
	// TestID is the input's data-testid.
	TestID string
	// Attrs are any other attributes of the input (min, step, maxlength,
	// autofocus, hx-*).
	Attrs templ.Attributes
}

// Option is one choice of a SelectField.
type Option struct {
	Value, Label string
}

func (f FieldProps) id() string {
	if f.ID != "" {
		return f.ID
	}
	return "f-" + f.Name
}

func (f FieldProps) errorID() string { return f.id() + "-error" }

func (f FieldProps) helpID() string { return f.id() + "-help" }

func (f FieldProps) inputType() string {
	if f.Type == "" {
		return "text"
	}
	return f.Type
}

// describedBy is the ids of the help and error that describe the input.
func (f FieldProps) describedBy() string {
	s := ""
	if f.Help != "" {
		s = f.helpID()
	}
	if f.Error != "" {
		if s != "" {
			s += " "
		}
		s += f.errorID()
	}
	return s
}

// inputAttrs are the input's attributes common to every kind of field.
func (f FieldProps) inputAttrs() templ.Attributes {
	a := templ.Attributes{"id": f.id(), "name": f.Name}
	if d := f.describedBy(); d != "" {
		a["aria-describedby"] = d
	}
	if f.Error != "" {
		a["aria-invalid"] = "true"
	}
	if f.Required {
		a["required"] = true
	}
	if f.Autocomplete != "" {
		a["autocomplete"] = f.Autocomplete
	}
	if f.TestID != "" {
		a["data-testid"] = f.TestID
	}
	for k, v := range f.Attrs {
		a[k] = v
	}
	return a
}

// FormProps describes a form (Form): a plain POST that htmx may enhance.
type FormProps struct {
	// Action is where the form posts without htmx (and the hx-post target
	// with htmx when HxPost is empty and Hx is true).
	Action string
	// Method is "post" when empty; "get" forms carry no CSRF token.
	Method string
	// CSRF is the page's token (Page.CSRF), sent as _csrf.
	CSRF string
	// Hx makes htmx post the form (hx-post = HxPost or Action) and swap the
	// answer into Target with Swap ("outerHTML" when empty).
	Hx     bool
	HxPost string
	Target string
	Swap   string
	// Confirm asks before a destructive change (hx-confirm with htmx, a
	// confirmation step otherwise is the page's business).
	Confirm string
	TestID  string
	Class   string
	Attrs   templ.Attributes
}

func (f FormProps) method() string {
	if f.Method == "" {
		return "post"
	}
	return f.Method
}

// attrs are the form's attributes: while htmx works, the form's buttons are
// disabled (a second click does not post twice) and its spinner is shown.
func (f FormProps) attrs() templ.Attributes {
	a := templ.Attributes{"method": f.method()}
	if f.Action != "" {
		a["action"] = f.Action
	}
	if f.Hx {
		post := f.HxPost
		if post == "" {
			post = f.Action
		}
		if f.method() == "get" {
			a["hx-get"] = post
		} else {
			a["hx-post"] = post
		}
		if f.Target != "" {
			a["hx-target"] = f.Target
		}
		swap := f.Swap
		if swap == "" {
			swap = "outerHTML"
		}
		a["hx-swap"] = swap
		a["hx-disabled-elt"] = "find button"
		a["hx-indicator"] = "find .spinner"
		if f.Confirm != "" {
			a["hx-confirm"] = f.Confirm
		}
	}
	if f.TestID != "" {
		a["data-testid"] = f.TestID
	}
	if f.Class != "" {
		a["class"] = f.Class
	}
	for k, v := range f.Attrs {
		a[k] = v
	}
	return a
}

// ButtonProps describes a button (Button).
type ButtonProps struct {
	Label string
	// Kind is "" (primary), "secondary", "danger" or "link".
	Kind string
	// Type is "submit" when empty.
	Type   string
	TestID string
	// Attrs are any other attributes: name/value, hx-post for a button that
	// posts by itself (it is then disabled while htmx works), hx-confirm.
	Attrs templ.Attributes
}

// attrs are the button's attributes. A button that makes its own htmx
// request disables itself and shows its own spinner while it works; a
// button in a Form is disabled by the form.
func (b ButtonProps) attrs() templ.Attributes {
	typ := b.Type
	if typ == "" {
		typ = "submit"
	}
	a := templ.Attributes{"type": typ}
	if b.Kind != "" {
		a["class"] = b.Kind
	}
	if b.TestID != "" {
		a["data-testid"] = b.TestID
	}
	for _, k := range []string{"hx-post", "hx-get", "hx-put", "hx-patch", "hx-delete"} {
		if _, ok := b.Attrs[k]; ok {
			a["hx-disabled-elt"] = "this"
			a["hx-indicator"] = "find .spinner"
		}
	}
	for k, v := range b.Attrs {
		a[k] = v
	}
	return a
}

// Pager is one page of a long list: which rows it shows of how many, and
// the links to the pages around it.
type Pager struct {
	// Offset is the index of the page's first row (0 on the first page).
	Offset int
	// Limit is the rows per page.
	Limit int
	// Total is the rows in the whole list.
	Total int
	// Link is the address of the page starting at offset.
	Link func(offset int) string
}

// From is the position of the page's first row, counting from 1; 0 when
// the list is empty.
func (p Pager) From() int {
	if p.Total == 0 {
		return 0
	}
	return min(p.Offset+1, p.Total)
}

// To is the position of the page's last row.
func (p Pager) To() int { return min(p.Offset+p.Limit, p.Total) }

// HasPrevious reports whether there are rows before this page.
func (p Pager) HasPrevious() bool { return p.Offset > 0 && p.Limit > 0 }

// HasNext reports whether there are rows after this page.
func (p Pager) HasNext() bool { return p.Limit > 0 && p.Offset+p.Limit < p.Total }

// PreviousHref is the link to the page before.
func (p Pager) PreviousHref() string { return p.Link(max(p.Offset-p.Limit, 0)) }

// NextHref is the link to the page after.
func (p Pager) NextHref() string { return p.Link(p.Offset + p.Limit) }

// rangeText says which rows the page shows: "51–100 of 1,234".
func (p Pager) rangeText(ctx context.Context) string {
	if p.Total == 0 {
		return tr(ctx, "common.pagination.empty")
	}
	l := lang(ctx)
	return tr(ctx, "common.pagination.range", map[string]any{
		"From":  locales.Number(l, int64(p.From())),
		"To":    locales.Number(l, int64(p.To())),
		"Total": locales.Number(l, int64(p.Total)),
	})
}

// number writes n the way the page's language groups digits: "1,234",
// "1 234", "1.234".
func number(ctx context.Context, n int) string { return locales.Number(lang(ctx), int64(n)) }

// isoTime is t for a <time datetime> attribute.
func isoTime(ctx context.Context, t time.Time) string {
	return t.In(LocaleOf(ctx).Loc).Format(time.RFC3339)
}

// testID is the data-testid attribute of a component, none when id is empty.
func testID(id string) templ.Attributes {
	if id == "" {
		return nil
	}
	return templ.Attributes{"data-testid": id}
}

// moneyAttrs are a Money's attributes: the class "money" (which keeps it on
// one line) with the caller's classes and other attributes.
func moneyAttrs(attrs templ.Attributes) templ.Attributes {
	a := templ.Attributes{"class": "money"}
	for k, v := range attrs {
		if c, ok := v.(string); ok && k == "class" {
			a[k] = "money " + c
			continue
		}
		a[k] = v
	}
	return a
}
