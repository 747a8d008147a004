package sandboxkit

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"sync"
	"time"
)

// Stored is a sandbox's switches kept in its settings table (key TEXT
// PRIMARY KEY, value TEXT), so that a CLI run and the server see the same
// switches, and they survive a restart. The sandbox creates the table with
// its others and serialises the calls that read and then write (Take) with
// its own lock, which Put takes for a lone write.
type Stored struct {
	DB    *sql.DB
	Table string
	// Lock, when not nil, is the sandbox's write lock, held by Put and
	// SetLatency.
	Lock sync.Locker
}

// latencyKey is the setting of the latency switch, in whole milliseconds.
const latencyKey = "latency_ms"

// Get returns a setting, "" when it was never set. A setting that cannot be
// read reads as "" too: every switch's "" is off, and a sandbox whose
// database fails says so on its next write.
func (s Stored) Get(key string) string {
	var v string
	if err := s.DB.QueryRow(`SELECT value FROM `+s.Table+` WHERE key = ?`, key).Scan(&v); err != nil {
		return ""
	}
	return v
}

// Set stores a setting.
func (s Stored) Set(key, value string) error {
	_, err := s.DB.Exec(`INSERT INTO `+s.Table+` (key, value) VALUES (?, ?)
		ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Put stores a setting under the sandbox's lock: a switch set from the
// control page or a test.
func (s Stored) Put(key, value string) error {
	if s.Lock != nil {
		s.Lock.Lock()
		defer s.Lock.Unlock()
	}
	return s.Set(key, value)
}

// On reports whether an on/off switch is on ("1").
func (s Stored) On(key string) bool { return s.Get(key) == "1" }

// Int reads a whole-number setting; anything else is 0.
func (s Stored) Int(key string) int {
	n, err := strconv.Atoi(s.Get(key))
	if err != nil {
		return 0
	}
	return n
}

// Arm turns a one-shot switch on for the next call, under the lock.
func (s Stored) Arm(key string) error { return s.Put(key, "1") }

// TakeFlag reports whether a one-shot switch is on and turns it off. A
// switch that cannot be turned off does not act: it must never act twice.
func (s Stored) TakeFlag(key string) bool {
	if !s.On(key) {
		return false
	}
	return s.Set(key, "0") == nil
}

// TakeValue returns a one-shot switch's value (a fail mode) and clears it.
func (s Stored) TakeValue(key string) (string, error) {
	v := s.Get(key)
	if v == "" {
		return "", nil
	}
	if err := s.Set(key, ""); err != nil {
		return "", errors.Join(errors.New("clear the switch "+key), err)
	}
	return v, nil
}

// Latency returns the delay added to every API answer.
func (s Stored) Latency() time.Duration { return time.Duration(s.Int(latencyKey)) * time.Millisecond }

// SetLatency stores the delay added to every API answer (0 turns it off).
func (s Stored) SetLatency(d time.Duration) error {
	return s.Put(latencyKey, strconv.FormatInt(max(d.Milliseconds(), 0), 10))
}

// FailNextKey is the setting of the "fail the next API call" switch.
const FailNextKey = "fail_next"

// Gate plays the switches every API call goes through: it takes the "fail
// the next API call" switch (under the sandbox's lock) and waits out the
// latency. fail says this call is the one to fail; gone that the caller
// went away meanwhile and gets no answer.
func (s Stored) Gate(ctx context.Context) (fail, gone bool) {
	if s.Lock != nil {
		s.Lock.Lock()
	}
	latency := s.Latency()
	fail = s.TakeFlag(FailNextKey)
	if s.Lock != nil {
		s.Lock.Unlock()
	}
	return fail, !Wait(ctx, latency)
}
