package paypal

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Settlement is one row of PayPal's "Activity download" CSV.
type Settlement struct {
	TxnID string
	// Date, Time and TimeZone are as PayPal wrote them; the date's order
	// (MM/DD/YYYY or DD/MM/YYYY) depends on the account's country, so it is
	// not guessed here.
	Date     string
	Time     string
	TimeZone string
	// Type is e.g. "Express Checkout Payment", "Website Payment",
	// "Payment Refund".
	Type string
	// Status is e.g. Completed, Pending, Refunded, Denied.
	Status         string
	GrossMinor     int64
	FeeMinor       int64
	NetMinor       int64
	Currency       string
	Invoice        string
	Custom         string
	FromEmail      string
	ToEmail        string
	ReferenceTxnID string
}

// columns maps the header names PayPal has used over the years (and in
// other exports) to Settlement fields, normalised: lower case, no spaces or
// punctuation.
var columns = map[string]string{
	"transactionid": "txn", "txnid": "txn", "transaction": "txn",
	"date": "date", "time": "time", "timezone": "tz", "tz": "tz",
	"type": "type", "status": "status", "transactionstatus": "status",
	"gross": "gross", "amount": "gross", "grossamount": "gross", "fee": "fee", "net": "net",
	"currency": "currency", "currencycode": "currency",
	"invoicenumber": "invoice", "invoiceid": "invoice", "invoice": "invoice",
	"customnumber": "custom", "customfield": "custom", "custom": "custom",
	"fromemailaddress": "from", "toemailaddress": "to",
	"referencetxnid": "ref", "referencetransactionid": "ref",
}

func normHeader(s string) string {
	s = strings.TrimPrefix(s, "\ufeff")
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ParseSettlementCSV reads PayPal's activity download (or a similar export)
// for the second verification of settled payments (seed 003). It is tolerant:
// a UTF-8 BOM, quoted or unquoted fields, extra or reordered columns,
// thousands separators ("1,234.56", "1.234,56", "1 234,56") and blank lines
// are accepted. The "Transaction ID" and "Gross" columns are required.
func ParseSettlementCSV(r io.Reader) ([]Settlement, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("paypal: settlement CSV is empty")
	}
	if err != nil {
		return nil, fmt.Errorf("paypal: settlement CSV header: %w", err)
	}
	idx := map[string]int{}
	for i, h := range header {
		if f, ok := columns[normHeader(h)]; ok {
			if _, dup := idx[f]; !dup {
				idx[f] = i
			}
		}
	}
	if _, ok := idx["txn"]; !ok {
		return nil, errors.New(`paypal: settlement CSV has no "Transaction ID" column`)
	}
	if _, ok := idx["gross"]; !ok {
		return nil, errors.New(`paypal: settlement CSV has no "Gross" column`)
	}
	var out []Settlement
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("paypal: settlement CSV line %d: %w", line, err)
		}
		get := func(f string) string {
			i, ok := idx[f]
			if !ok || i >= len(rec) {
				return ""
			}
			return strings.TrimSpace(strings.Trim(strings.TrimSpace(rec[i]), `"`))
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		s := Settlement{
			TxnID: get("txn"), Date: get("date"), Time: get("time"), TimeZone: get("tz"),
			Type: get("type"), Status: get("status"), Currency: strings.ToUpper(get("currency")),
			Invoice: get("invoice"), Custom: get("custom"), FromEmail: get("from"), ToEmail: get("to"),
			ReferenceTxnID: get("ref"),
		}
		if s.TxnID == "" {
			continue // summary lines carry no transaction
		}
		dec := decimals(s.Currency)
		for _, f := range []struct {
			col string
			dst *int64
		}{{"gross", &s.GrossMinor}, {"fee", &s.FeeMinor}, {"net", &s.NetMinor}} {
			v := get(f.col)
			if v == "" && f.col != "gross" {
				continue
			}
			n, err := parseLocalized(v, dec)
			if err != nil {
				return nil, fmt.Errorf("paypal: settlement CSV line %d, %s: %w", line, f.col, err)
			}
			*f.dst = n
		}
		out = append(out, s)
	}
	return out, nil
}

// parseLocalized parses an amount with thousands separators in either
// convention. The last '.' or ',' is the decimal separator unless exactly
// three digits follow it ("1,234" is a thousand and more); every other
// separator is a thousands separator.
// Parentheses or a trailing minus mean negative, as spreadsheets write it.
func parseLocalized(s string, dec int) (int64, error) {
	s = strings.NewReplacer(" ", "", "\u00a0", "", "\u202f", "", "'", "").Replace(strings.TrimSpace(s))
	neg := false
	if strings.HasPrefix(s, "(") && strings.HasSuffix(s, ")") {
		neg, s = true, s[1:len(s)-1]
	}
	if strings.HasSuffix(s, "-") {
		neg, s = true, strings.TrimSuffix(s, "-")
	}
	if strings.HasPrefix(s, "-") {
		neg, s = !neg, s[1:]
	}
	if s == "" {
		return 0, errors.New("empty amount")
	}
	intPart, frac := s, ""
	if i := strings.LastIndexAny(s, ".,"); i >= 0 && len(s)-i-1 != 3 {
		intPart, frac = s[:i], s[i+1:]
	}
	intPart = strings.NewReplacer(",", "", ".", "").Replace(intPart)
	v, err := parseDecimal(intPart+"."+frac, dec)
	if err != nil {
		return 0, err
	}
	if neg {
		v = -v
	}
	return v, nil
}
