// Package httpbody reads the answers the provider clients get and writes the
// answers the sandboxes give, so that what a failed read, close or write means
// is decided once for every provider.
package httpbody

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// ReadAndClose reads at most limit bytes of resp's body and closes it.
//
// When the read fails, its error is returned with the close's. When the read
// succeeded, a failed close is not returned: the whole answer is in hand, and a
// close that fails after it only means the connection is not reused, which is
// no reason to fail the call (or, for a payment, to retry one that went
// through).
func ReadAndClose(resp *http.Response, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	closeErr := resp.Body.Close()
	if err != nil {
		return nil, errors.Join(err, closeErr)
	}
	return b, nil
}

// Write writes b, a sandbox's whole answer, to w; the handler calls it last and
// returns. A failed write means that the client went away or the connection
// broke: there is no one left to answer and the sandboxes keep no log, so the
// request simply ends there, and net/http closes the broken connection. That is
// decided here, once, for every sandbox.
func Write(w http.ResponseWriter, b []byte) {
	if _, err := w.Write(b); err != nil {
		return // the client is gone; see above
	}
}

// WriteJSON answers v as JSON with the status and content type given, through
// Write. The body is encoded before anything is sent, so that a value that
// cannot be encoded (a sandbox's bug) gets a 500 saying why instead of half an
// answer. The trailing newline is json.Encoder's, which the sandboxes always
// sent.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "sandbox: encode the answer: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	Write(w, append(b, '\n'))
}
