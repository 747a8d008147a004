package messaging

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"text/template"

	"orderdesk/model"
)

// The messages' texts are files in the repository, one per kind and
// language: templates/{lang}/{kind}.txt, Go text/template with Data. The
// first line is the e-mail's subject; the lines after it are the text, sent
// as the WhatsApp message and as the e-mail's body.
//
//go:embed templates
var templateFiles embed.FS

// Languages are the languages messages are written in; a shop in another
// language gets English.
var Languages = []string{"en", "ru", "tr"}

// templates are the parsed files, by "lang/kind".
var templates = mustParse(templateFiles)

func mustParse(files fs.FS) map[string]*template.Template {
	out := map[string]*template.Template{}
	for _, lang := range Languages {
		for _, kind := range model.MessageKinds {
			name := lang + "/" + kind + ".txt"
			b, err := fs.ReadFile(files, "templates/"+name)
			if err != nil {
				panic(fmt.Sprintf("messaging: template %s: %v", name, err))
			}
			// missingkey is moot for a struct; Option keeps a typo in a
			// template a failure at start instead of an empty word.
			out[lang+"/"+kind] = template.Must(template.New(name).Option("missingkey=error").Parse(string(b)))
		}
	}
	return out
}

// Data is what a message may say: the shop, the order and the links, and
// what the change that queued it brought (the message's payload).
type Data struct {
	Shop   string // the shop's name
	Number string // the order number
	Amount string // the order's total, formatted with its currency
	Name   string // the customer's first name, "" when not known
	// TrackURL is the order's public tracking page at the shop's address.
	TrackURL string
	// PayURL is where the customer pays again (payment failed).
	PayURL        string
	PaymentNumber string // payment failed: the payment that failed
	Carrier       string // shipped: the carrier's name
	Track         string // shipped: the carrier's track number
	// CarrierURL is the carrier's tracking page (shipped, courier assigned).
	CarrierURL   string
	CourierName  string // courier assigned
	CourierPhone string // courier assigned
}

// Rendered is a message as it is sent.
type Rendered struct {
	Subject string // the e-mail's subject
	Body    string // the text
}

// errNoTemplate says a kind has no text (an old kind, say): it can never be
// sent, so the message is a dead letter at once.
var errNoTemplate = errors.New("there is no text for this kind of message")

// Render writes a message of kind in lang (English when the shop's language
// has no texts) with d. A kind without texts, or a shipped or courier
// message without its track or courier, is an error: such a message is never
// sent half-written.
func Render(lang, kind string, d Data) (Rendered, error) {
	tmpl, ok := templates[lang+"/"+kind]
	if !ok {
		tmpl, ok = templates["en/"+kind]
	}
	if !ok {
		return Rendered{}, fmt.Errorf("%w (%s)", errNoTemplate, kind)
	}
	switch {
	case kind == model.MsgShipped && d.Track == "":
		return Rendered{}, errors.New("the shipped message has no track number")
	case kind == model.MsgCourierAssigned && d.CourierName == "":
		return Rendered{}, errors.New("the courier message has no courier")
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, d); err != nil {
		return Rendered{}, err
	}
	subject, body, _ := strings.Cut(buf.String(), "\n")
	return Rendered{Subject: strings.TrimSpace(subject), Body: strings.TrimSpace(body)}, nil
}
