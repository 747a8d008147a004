package handlers

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/alexedwards/scs/v2"
	lru "github.com/hashicorp/golang-lru/v2"

	"orderdesk/model"
)

// sessionTouchEvery is how often a signed-in browser's idle deadline is
// written back. scs marks every loaded session modified when an idle timeout
// is set, so without this each signed-in request would write its session
// through the one writer; a deadline a minute short of exact is of no
// consequence next to a two-hour idle timeout.
const sessionTouchEvery = time.Minute

// sessionRead is what the request's Find saw of its session: the Commit at
// the end of the same request compares against it.
type sessionRead struct {
	token  string // hashed, as stored
	data   []byte
	expiry time.Time
}

type sessionReadKey struct{}

// withSessionRead gives the request a place where the session store notes
// what it read.
func withSessionRead(ctx context.Context) context.Context {
	return context.WithValue(ctx, sessionReadKey{}, &sessionRead{})
}

// FindCtx reads the session of a cookie's token, with its stored idle expiry
// for CommitCtx: as kept (session_kept.go), or from the database.
func (s *splitStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	hashed := model.HashToken(token)
	found, ok := s.kept.get(hashed)
	if !ok {
		writes := s.kept.readBegins()
		var julian float64
		err := s.db.QueryRowContext(ctx, `SELECT data, expiry FROM sessions WHERE token = ? AND julianday('now') < expiry`, hashed).Scan(&found.data, &julian)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		found.expiry, found.at = julianTime(julian), s.kept.now()
		s.kept.read(hashed, found, writes)
	}
	if r, ok := ctx.Value(sessionReadKey{}).(*sessionRead); ok {
		*r = sessionRead{token: hashed, data: found.data, expiry: found.expiry}
	}
	return found.data, true, nil
}

// CommitCtx saves the session of a token until expiry, unless the request only
// moved the idle deadline of the session it read, by less than
// sessionTouchEvery: then the stored row is left as it is.
func (s *splitStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	hashed := model.HashToken(token)
	if r, ok := ctx.Value(sessionReadKey{}).(*sessionRead); ok && r.token == hashed &&
		expiry.Sub(r.expiry) < sessionTouchEvery && s.sameData(r.data, b) {
		return nil
	}
	return s.commit(hashed, b, expiry)
}

// DeleteCtx removes the session of a token (sign-out, renewal).
func (s *splitStore) DeleteCtx(_ context.Context, token string) error { return s.Delete(token) }

// sameData reports whether two encoded sessions hold the same: sessionCodec
// writes equal sessions as equal bytes.
func (s *splitStore) sameData(a, b []byte) bool { return bytes.Equal(a, b) }

// julianTime turns SQLite's julianday() (what sqlite3store stores as expiry)
// into a time.
func julianTime(j float64) time.Time {
	const unixEpochJulian = 2440587.5
	secs := (j - unixEpochJulian) * 86400
	whole, frac := math.Modf(secs)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC()
}

// sessionCodec encodes sessions for the store.
var sessionCodec scs.Codec = jsonSessionCodec{}

// jsonSessionCodec writes a session as JSON, its values grouped by type. scs's
// GobCodec writes gob, which sends the types' descriptions with every
// session and compiles a decoder for them on every read: reading and saving
// a session was a sixth of a signed-in page's time. JSON also writes a map's
// keys in order, so a session that did not change is the same bytes and
// sameData needs no decoding at all (gob wrote the values in Go's random
// map order).
//
// A session holds only int64s (ids, versions), strings (notices) and lists
// of int64s (the orders a guest placed); a value of another type is an error
// when the session is saved, which a test meets before a user does. Sessions
// saved by GobCodec, before this codec, are still read; the first save of
// one writes it as JSON.
type jsonSessionCodec struct{}

// sessionJSON is a session as stored.
type sessionJSON struct {
	Deadline time.Time          `json:"deadline"`
	Int64s   map[string]int64   `json:"int64,omitempty"`
	Strings  map[string]string  `json:"string,omitempty"`
	Lists    map[string][]int64 `json:"int64s,omitempty"`
}

func (jsonSessionCodec) Encode(deadline time.Time, values map[string]any) ([]byte, error) {
	d, err := sessionJSONOf(deadline, values)
	if err != nil {
		return nil, err
	}
	return json.Marshal(d)
}

// sessionJSONOf is a session's values grouped by type.
func sessionJSONOf(deadline time.Time, values map[string]any) (sessionJSON, error) {
	d := sessionJSON{Deadline: deadline}
	for k, v := range values {
		switch v := v.(type) {
		case int64:
			if d.Int64s == nil {
				d.Int64s = map[string]int64{}
			}
			d.Int64s[k] = v
		case string:
			if d.Strings == nil {
				d.Strings = map[string]string{}
			}
			d.Strings[k] = v
		case []int64:
			if d.Lists == nil {
				d.Lists = map[string][]int64{}
			}
			d.Lists[k] = v
		default:
			return d, fmt.Errorf("session value %q is a %T: a session holds int64, string or []int64", k, v)
		}
	}
	return d, nil
}

// decodedSessions are sessions as decoded, by their stored bytes: a signed-in
// browser sends the same session request after request (kept in memory by
// session_kept.go), and decoding its JSON was a twenty-fifth of a desk page.
var decodedSessions = func() *lru.Cache[string, sessionJSON] {
	c, err := lru.New[string, sessionJSON](sessionsKept)
	if err != nil {
		panic(err) // only for a size below one
	}
	return c
}()

func (jsonSessionCodec) Decode(b []byte) (time.Time, map[string]any, error) {
	d, ok := decodedSessions.Get(string(b))
	if !ok {
		var err error
		if d, err = decodeSessionJSON(b); err != nil {
			return time.Time{}, nil, err
		}
		decodedSessions.Add(string(b), d)
	}
	// Each request its own values: a list it changes is its own.
	values := make(map[string]any, len(d.Int64s)+len(d.Strings)+len(d.Lists))
	for k, v := range d.Int64s {
		values[k] = v
	}
	for k, v := range d.Strings {
		values[k] = v
	}
	for k, v := range d.Lists {
		values[k] = slices.Clone(v)
	}
	return d.Deadline, values, nil
}

// decodeSessionJSON decodes a stored session: JSON, or gob as scs's GobCodec
// saved sessions before this codec.
func decodeSessionJSON(b []byte) (sessionJSON, error) {
	var d sessionJSON
	if err := json.Unmarshal(b, &d); err != nil {
		// Not JSON: a session GobCodec saved (gob starts with a length, so
		// the first byte alone cannot tell the two apart).
		deadline, values, gerr := (scs.GobCodec{}).Decode(b)
		if gerr != nil {
			return d, err
		}
		return sessionJSONOf(deadline, values)
	}
	return d, nil
}
