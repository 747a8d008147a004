package handlers

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"reflect"
	"time"

	"github.com/alexedwards/scs/v2"

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
// for CommitCtx.
func (s *splitStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	hashed := model.HashToken(token)
	var (
		b      []byte
		julian float64
	)
	err := s.db.QueryRowContext(ctx, `SELECT data, expiry FROM sessions WHERE token = ? AND julianday('now') < expiry`, hashed).Scan(&b, &julian)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if r, ok := ctx.Value(sessionReadKey{}).(*sessionRead); ok {
		*r = sessionRead{token: hashed, data: b, expiry: julianTime(julian)}
	}
	return b, true, nil
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
	return s.write.Commit(hashed, b, expiry)
}

// DeleteCtx removes the session of a token (sign-out, renewal).
func (s *splitStore) DeleteCtx(_ context.Context, token string) error { return s.Delete(token) }

// sameData compares two encoded sessions by their values: gob writes a map
// in Go's random iteration order, so equal sessions need not be equal bytes.
func (s *splitStore) sameData(a, b []byte) bool {
	da, va, err := s.codec.Decode(a)
	if err != nil {
		return false
	}
	db, vb, err := s.codec.Decode(b)
	if err != nil {
		return false
	}
	return da.Equal(db) && reflect.DeepEqual(va, vb)
}

// julianTime turns SQLite's julianday() (what sqlite3store stores as expiry)
// into a time.
func julianTime(j float64) time.Time {
	const unixEpochJulian = 2440587.5
	secs := (j - unixEpochJulian) * 86400
	whole, frac := math.Modf(secs)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC()
}

// sessionCodec is scs's default, named for splitStore's comparison.
var sessionCodec scs.Codec = scs.GobCodec{}
