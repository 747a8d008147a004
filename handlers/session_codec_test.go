package handlers

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
)

func TestSessionsEncodeTheSameValuesAsTheSameBytes(t *testing.T) {
	deadline := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	values := map[string]any{"tenant_id": int64(1), "user_id": int64(7), "user_version": int64(3),
		"flash_kind": "ok", "flash_msg": "Saved.", "placed": []int64{4, 5}, "coupon:ORD-1": "expired", "b": "", "a": int64(0)}
	first, err := sessionCodec.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	// Go's maps iterate in a new order each time: twenty encodings of the
	// same values would almost surely differ if the order leaked through.
	for range 20 {
		again, err := sessionCodec.Encode(deadline, values)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first, again) {
			t.Fatal("the same session encoded as different bytes: a request that changed nothing would write its session")
		}
	}
	gotDeadline, got, err := sessionCodec.Decode(first)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) || !reflect.DeepEqual(got, values) {
		t.Errorf("decoded %v %v, want %v %v", gotDeadline, got, deadline, values)
	}
	// Decoding and encoding again, as a request that reads and saves its
	// session does, gives the stored bytes back.
	again, err := sessionCodec.Encode(gotDeadline, got)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, again) {
		t.Error("a session read and saved unchanged came back as different bytes")
	}
}

// Sessions signed in before the sorted encoding are stored in scs's own
// encoding: their holders stay signed in.
func TestSessionsStoredInScsEncodingStillRead(t *testing.T) {
	deadline := time.Date(2026, 12, 2, 18, 0, 0, 0, time.UTC)
	values := map[string]any{"tenant_id": int64(1), "user_id": int64(7), "user_version": int64(3)}
	old, err := scs.GobCodec{}.Encode(deadline, values)
	if err != nil {
		t.Fatal(err)
	}
	gotDeadline, got, err := sessionCodec.Decode(old)
	if err != nil {
		t.Fatal(err)
	}
	if !gotDeadline.Equal(deadline) || !reflect.DeepEqual(got, values) {
		t.Errorf("decoded %v %v, want %v %v", gotDeadline, got, deadline, values)
	}
}

// A value a session cannot hold is refused when the session is saved, with
// its key and type, rather than stored as something it was not.
func TestASessionRefusesAValueOfAnotherType(t *testing.T) {
	_, err := sessionCodec.Encode(time.Now(), map[string]any{"user_id": int64(7), "when": time.Now()})
	if err == nil || !strings.Contains(err.Error(), `"when"`) || !strings.Contains(err.Error(), "time.Time") {
		t.Errorf("err = %v, want one naming the value \"when\" and its type", err)
	}
}

// A session decoded again (kept as decoded) gives each request its own
// values: a request changing a list in its session changes no other's.
func TestADecodedSessionIsEachRequestsOwn(t *testing.T) {
	b, err := sessionCodec.Encode(time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), map[string]any{"orders": []int64{1, 2, 3}, "user": int64(7)})
	if err != nil {
		t.Fatal(err)
	}
	_, first, err := sessionCodec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	first["orders"].([]int64)[0] = 99
	first["user"] = int64(8)
	_, second, err := sessionCodec.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := second["orders"].([]int64); got[0] != 1 || second["user"] != int64(7) {
		t.Errorf("the second request's session: %v, want the stored one", second)
	}
}
