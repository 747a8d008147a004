package wire

import (
	"encoding/json"
	"math"
	"testing"
)

func TestMoneyConvertsExactly(t *testing.T) {
	t.Run("amounts read as the providers write them", func(t *testing.T) {
		for in, want := range map[string]int64{
			"1500.50": 150050, "1500.5": 150050, "1500": 150000, "0.01": 1, "-3.00": -300,
			"2.500": 250, " 7.00 ": 700, "0.29": 29, "12345678.90": 1234567890,
		} {
			if got, err := ParseMinor(in); err != nil || got != want {
				t.Errorf("ParseMinor(%q) = %d, %v; want %d", in, got, err, want)
			}
		}
	})
	t.Run("what is not exactly minor units is refused", func(t *testing.T) {
		for _, bad := range []string{"", ".", "1.", ".5", "+1", "--1", "1.005", "1e2", "abc", "1,5", "9999999999999999.00"} {
			if got, err := ParseMinor(bad); err == nil {
				t.Errorf("ParseMinor(%q) = %d, want an error", bad, got)
			}
		}
	})
	t.Run("a loose decimal takes a sign and a bare point", func(t *testing.T) {
		for _, tt := range []struct {
			in     string
			places int
			want   int64
		}{{".5", 2, 50}, {"+1.5", 2, 150}, {"5.", 2, 500}, {"1234", 0, 1234}, {"1234.00", 0, 1234}} {
			if got, err := ParseDecimal(tt.in, tt.places); err != nil || got != tt.want {
				t.Errorf("ParseDecimal(%q, %d) = %d, %v; want %d", tt.in, tt.places, got, err, tt.want)
			}
		}
		for _, bad := range []string{"", "-", ".", "1.5x", "1234.5"} {
			if _, err := ParseDecimal(bad, 0); err == nil {
				t.Errorf("ParseDecimal(%q, 0) accepted it", bad)
			}
		}
	})
	t.Run("formatting is exact and reads back", func(t *testing.T) {
		for _, v := range []int64{0, 1, 99, 100, 39000, 150050, -5, -12345, math.MaxInt64, math.MinInt64 + 1} {
			s := FormatMinor(v)
			if back, err := ParseDecimal(s, 2); (err != nil || back != v) && len(s) < 19 {
				t.Errorf("FormatMinor(%d) = %q, reads back as %d, %v", v, s, back, err)
			}
		}
		if got := FormatMinor(math.MinInt64); got != "-92233720368547758.08" {
			t.Errorf("FormatMinor(MinInt64) = %q", got)
		}
	})
}

func TestWireFieldsTakeStringsAndNumbers(t *testing.T) {
	var v struct {
		ID     String `json:"id"`
		N      Int    `json:"n"`
		Amount Money  `json:"amount"`
	}
	for _, tt := range []struct {
		body   string
		id     String
		n      Int
		amount Money
	}{
		{`{"id":"a-1","n":"42","amount":"1500.50"}`, "a-1", 42, 150050},
		{`{"id":12345678901234567890,"n":42,"amount":1500.5}`, "12345678901234567890", 42, 150050},
		{`{"id":null,"n":null,"amount":null}`, "", 0, 0},
	} {
		v.ID, v.N, v.Amount = "x", 1, 1
		if err := json.Unmarshal([]byte(tt.body), &v); err != nil || v.ID != tt.id || v.N != tt.n || v.Amount != tt.amount {
			t.Errorf("%s: got %q %d %d, %v", tt.body, v.ID, v.N, v.Amount, err)
		}
	}
	for _, bad := range []string{`{"id":true}`, `{"n":"4.2"}`, `{"amount":"1.005"}`, `{"id":{}}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
	b, err := json.Marshal(struct{ A Money }{150005})
	if err != nil || string(b) != `{"A":1500.05}` {
		t.Errorf("Money is written as %s, %v; want a number with two decimals", b, err)
	}
}

func TestNewUUIDIsVersion4(t *testing.T) {
	a, b := NewUUID(), NewUUID()
	if len(a) != 36 || a[14] != '4' || a == b {
		t.Errorf("NewUUID = %q, %q", a, b)
	}
	if h := RandomHex(8); len(h) != 16 {
		t.Errorf("RandomHex(8) = %q", h)
	}
}
