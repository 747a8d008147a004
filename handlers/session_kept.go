package handlers

import (
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// sessionsKept is how many signed-in sessions are kept in memory: every
// member of staff of a few hundred shops, at a few hundred bytes each.
const sessionsKept = 8192

// sessionKeptFor is how long a kept session answers without reading its row
// again. Every write of a session (sign-in, a change, a touch, sign-out,
// renewal) goes through this process's splitStore, which keeps what it
// writes, so within one server a kept session is the stored one; the bound
// is for a second process on the same file, whose sign-out this one then
// sees within a minute (OrderDesk runs one server; its commands write no
// sessions). Reading a signed-in request's session was a twelfth of a
// desk page's time.
const sessionKeptFor = time.Minute

// keptSessions are the sessions this process read or wrote lately, by hashed
// token: a request reads its session from memory.
type keptSessions struct {
	mu sync.Mutex
	// writes counts the writes: a read begun before one is not kept, since
	// it may hold what the write replaced.
	writes uint64
	kept   *lru.Cache[string, keptSession]
	now    func() time.Time // the clock; tests move it on
}

// keptSession is a session's row as read or written at.
type keptSession struct {
	data   []byte
	expiry time.Time
	at     time.Time
}

func newKeptSessions() *keptSessions {
	c, err := lru.New[string, keptSession](sessionsKept)
	if err != nil {
		panic(err) // only for a size below one
	}
	return &keptSessions{kept: c, now: time.Now}
}

// get gives the kept row of a hashed token, if it is fresh and the session
// has not ended.
func (k *keptSessions) get(hashed string) (keptSession, bool) {
	now := k.now()
	s, ok := k.kept.Get(hashed)
	if !ok || now.Sub(s.at) >= sessionKeptFor || !now.Before(s.expiry) {
		return keptSession{}, false
	}
	return s, true
}

// readBegins notes that a read of a row from the database begins; read keeps
// its answer unless a write came in between.
func (k *keptSessions) readBegins() uint64 {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.writes
}

// read keeps a row read from the database, begun at writes (readBegins).
func (k *keptSessions) read(hashed string, s keptSession, writes uint64) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.writes == writes {
		k.kept.Add(hashed, s)
	}
}

// wrote keeps a row just written, or forgets it when it was deleted
// (deleted true).
func (k *keptSessions) wrote(hashed string, s keptSession, deleted bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writes++
	if deleted {
		k.kept.Remove(hashed)
		return
	}
	k.kept.Add(hashed, s)
}
